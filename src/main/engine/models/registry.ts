/**
 * The model registry: gan | cgan | pix2pix | cyclegan | autoencoder -> class, one-line meaning,
 * option table (defaults + descriptions) and the zod schema built from it.
 */
import type { z } from 'zod';
import { StudioError } from '../../../shared/errors';
import { AUTOENCODER_OPTIONS, AutoencoderModel, type AutoencoderModelOptions } from './autoencoder';
import type { BaseModel, ModelKind } from './base';
import { CYCLEGAN_OPTIONS, CycleGanModel, type CycleGanOptions } from './cyclegan';
import { CGAN_OPTIONS, GAN_OPTIONS, GanModel, type GanOptions } from './gan';
import { COMMON_OPTIONS, schemaFor, type OptionSpec } from './options';
import { PIX2PIX_OPTIONS, Pix2PixModel, type Pix2PixOptions } from './pix2pix';

export interface ModelEntry {
  kind: ModelKind;
  title: string;
  description: string;
  /** What the dataset must provide. */
  data: 'images' | 'labelled' | 'paired' | 'unpaired';
  options: readonly OptionSpec[];
  schema: z.ZodObject;
  create(options: Record<string, unknown>): BaseModel;
}

function entry(e: Omit<ModelEntry, 'schema' | 'options'> & { own: readonly OptionSpec[]; overrides?: Record<string, unknown> }): ModelEntry {
  const common = COMMON_OPTIONS.map((s) => (e.overrides && s.key in e.overrides ? { ...s, default: e.overrides[s.key] as OptionSpec['default'] } : s));
  const options = [...common, ...e.own];
  return { kind: e.kind, title: e.title, description: e.description, data: e.data, create: e.create, options, schema: schemaFor(options) };
}

export const MODELS: Record<ModelKind, ModelEntry> = {
  gan: entry({
    kind: 'gan',
    title: 'GAN (DCGAN)',
    description: 'Learns to generate new images like the dataset from random noise.',
    data: 'images',
    own: GAN_OPTIONS,
    create: (o) => new GanModel(o as unknown as GanOptions, false),
  }),
  cgan: entry({
    kind: 'cgan',
    title: 'Conditional GAN',
    description: 'Generates images of a chosen class from noise + a class label.',
    data: 'labelled',
    own: CGAN_OPTIONS,
    create: (o) => new GanModel(o as unknown as GanOptions, true),
  }),
  pix2pix: entry({
    kind: 'pix2pix',
    title: 'pix2pix',
    description: 'Translates paired images A -> B (U-Net + PatchGAN, GAN + L1 loss).',
    data: 'paired',
    own: PIX2PIX_OPTIONS,
    create: (o) => new Pix2PixModel(o as unknown as Pix2PixOptions),
  }),
  cyclegan: entry({
    kind: 'cyclegan',
    title: 'CycleGAN',
    description: 'Translates between two unpaired image domains both ways (cycle consistency).',
    data: 'unpaired',
    own: CYCLEGAN_OPTIONS,
    overrides: { lrPolicy: 'linear' },
    create: (o) => new CycleGanModel(o as unknown as CycleGanOptions),
  }),
  autoencoder: entry({
    kind: 'autoencoder',
    title: 'Autoencoder',
    description: 'Compresses images to a small latent vector and back (for latent exploration).',
    data: 'images',
    own: AUTOENCODER_OPTIONS,
    create: (o) => new AutoencoderModel(o as unknown as AutoencoderModelOptions),
  }),
};

export const MODEL_KINDS = Object.keys(MODELS) as ModelKind[];

export function modelEntry(kind: string): ModelEntry {
  const e = (MODELS as Record<string, ModelEntry>)[kind];
  if (!e) throw new StudioError('BAD_INPUT', `Unknown model "${kind}".`, { hint: `Use one of: ${MODEL_KINDS.join(', ')}.` });
  return e;
}

/** Validate options against the model's schema and fill the defaults. */
export function resolveOptions(kind: string, options: Record<string, unknown>): Record<string, unknown> {
  const e = modelEntry(kind);
  const r = e.schema.safeParse(options);
  if (!r.success) {
    const text = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
    throw new StudioError('VALIDATION', `Invalid ${kind} options: ${text}`, { hint: `See train.options for the options of ${kind}.` });
  }
  return r.data as Record<string, unknown>;
}

export function createModel(kind: string, options: Record<string, unknown>): BaseModel {
  return modelEntry(kind).create(resolveOptions(kind, options));
}
