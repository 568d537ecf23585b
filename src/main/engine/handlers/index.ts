/** The engine's handler table: one entry per contract channel (the type checker enforces it). */
import type { HandlerTable } from '../host/context';
import { appHandlers } from './app';
import { jobHandlers } from './job';
import { datasetHandlers } from './dataset';
import { bundleHandlers, exportHandlers } from './export';
import { inferHandlers } from './infer';
import { latentHandlers } from './latent';
import { trainHandlers } from './train';
import { analysisHandlers } from './analysis';
import { evalHandlers } from './eval';
import { scoreboardHandlers } from './scoreboard';
import { interopHandlers } from './interop';
import { provenanceHandlers } from './provenance';
import { galleryHandlers } from './gallery';

export const handlerTable: HandlerTable = {
  ...appHandlers,
  ...jobHandlers,
  ...datasetHandlers,
  ...bundleHandlers,
  ...inferHandlers,
  ...latentHandlers,
  ...exportHandlers,
  ...trainHandlers,
  ...analysisHandlers,
  ...evalHandlers,
  ...scoreboardHandlers,
  ...interopHandlers,
  ...provenanceHandlers,
  ...galleryHandlers,
};
