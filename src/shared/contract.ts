/**
 * THE CONTRACT. Every channel the UI can call, in one table built from the per-domain files in
 * ./channels. The Electron registrar, the preload, `atelier serve` and its browser client all
 * loop over this table: adding a channel here (plus its handler in the engine) is all it takes.
 * This folder imports zod only.
 */
import type { z } from 'zod';
import type { ChannelDef } from './define';
import { appChannels } from './channels/app';
import { jobChannels } from './channels/job';
import { datasetChannels } from './channels/dataset';
import { bundleChannels } from './channels/bundle';
import { inferChannels } from './channels/infer';
import { latentChannels } from './channels/latent';
import { exportChannels } from './channels/export';
import { trainChannels } from './channels/train';
import { analysisChannels } from './channels/analysis';
import { evalChannels } from './channels/eval';
import { scoreboardChannels } from './channels/scoreboard';
import { interopChannels } from './channels/interop';
import { provenanceChannels } from './channels/provenance';
import { galleryChannels } from './channels/gallery';

export const contract = {
  ...appChannels,
  ...jobChannels,
  ...datasetChannels,
  ...bundleChannels,
  ...inferChannels,
  ...latentChannels,
  ...exportChannels,
  ...trainChannels,
  ...analysisChannels,
  ...evalChannels,
  ...scoreboardChannels,
  ...interopChannels,
  ...provenanceChannels,
  ...galleryChannels,
} as const;

export type Contract = typeof contract;
export type ChannelName = keyof Contract;
export type RequestOf<C extends ChannelName> = z.input<Contract[C]['request']>;
export type ParsedRequestOf<C extends ChannelName> = z.output<Contract[C]['request']>;
export type ResponseOf<C extends ChannelName> = Contract[C]['response'];

export const CHANNEL_NAMES = Object.keys(contract) as ChannelName[];

export function isChannelName(name: unknown): name is ChannelName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(contract, name);
}

export function channelDef(name: ChannelName): ChannelDef {
  return contract[name] as unknown as ChannelDef;
}
