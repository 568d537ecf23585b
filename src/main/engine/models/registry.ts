/**
 * The model registry: gan | cgan | pix2pix | cyclegan | autoencoder -> class, one-line meaning,
 * option table (defaults + descriptions), the zod schema built from it, and the capabilities of
 * the bundles it trains (translate directions -> networks, generate, encode/decode, metrics, data
 * needs). Everything past training reads the capabilities, never the kind name, so a new model is
 * its file plus one line here.
 */
import type { z } from 'zod';
import type { DataNeed, ModelCapabilities } from '../../../shared/capabilities';
import { StudioError } from '../../../shared/errors';
import { AUTOENCODER_OPTIONS, AutoencoderModel, type AutoencoderModelOptions } from './autoencoder';
import type { BaseModel, ModelKind } from './base';
import { CYCLEGAN_OPTIONS, CycleGanModel, type CycleGanOptions } from './cyclegan';
import { CGAN_OPTIONS, GAN_OPTIONS, GanModel, type GanOptions } from './gan';
import { COMMON_OPTIONS, schemaFor, type OptionSpec } from './options';
import { PIX2PIX_OPTIONS, Pix2PixModel, type Pix2PixOptions } from './pix2pix';

/**
 * A model's counterpart in the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix):
 * what interop/ maps checkpoints, the dataset layout and the trainer's flags onto, so the
 * import and export code never names a kind.
 */
export interface ReferenceCounterpart {
  /** The reference's `--model` (it loads models/<model>_model.py). */
  model: string;
  /** Generators in direction order (AtoB first), named as its checkpoint files are: latest_net_<name>.pth. */
  generators: readonly string[];
  /** Discriminators and what each judges: the A (input) channels, the B (output) channels, or both concatenated. */
  discriminators: readonly { name: string; judges: 'A' | 'B' | 'AB' }[];
  /** Its dataset layout: 'aligned' (A|B side by side, with --direction) or 'unaligned' (trainA / trainB). */
  dataset: 'aligned' | 'unaligned';
  /** Its model forces --no_dropout (a bundle with dropout needs that line edited there). */
  forcesNoDropout?: boolean;
}

export interface ModelEntry {
  kind: ModelKind;
  title: string;
  description: string;
  /** What the dataset must provide. */
  data: DataNeed;
  options: readonly OptionSpec[];
  schema: z.ZodObject;
  create(options: Record<string, unknown>): BaseModel;
  /** What a bundle trained with these (resolved) options can do; `classNames` from the dataset. */
  capabilities(options: Record<string, unknown>, extra?: { classNames?: string[] }): ModelCapabilities;
  /** The normalisation its networks use when the options name none (bundle preprocessing). */
  norm?: string;
  /** Its counterpart in the reference implementation, when there is one (PyTorch import/export). */
  reference?: ReferenceCounterpart;
}

/** What a model file declares to join the registry (see models/template.ts). */
export interface ModelDefinition {
  kind: ModelKind;
  title: string;
  description: string;
  data: DataNeed;
  /** Its own options (the common ones, size, lr, seed ..., are added). */
  own: readonly OptionSpec[];
  /** Different defaults for common options (e.g. a linear LR decay). */
  overrides?: Record<string, unknown>;
  norm?: string;
  /** Its counterpart in the reference implementation, when there is one (PyTorch import/export). */
  reference?: ReferenceCounterpart;
  create(options: Record<string, unknown>): BaseModel;
  /** What its bundles can do, from the resolved options (`data` is added from above). */
  capabilities(options: Record<string, unknown>, extra: { classNames?: string[] }): Omit<ModelCapabilities, 'data'>;
}

function entry(e: ModelDefinition): ModelEntry {
  const common = COMMON_OPTIONS.map((s) => (e.overrides && s.key in e.overrides ? { ...s, default: e.overrides[s.key] as OptionSpec['default'] } : s));
  const options = [...common, ...e.own];
  return {
    kind: e.kind,
    title: e.title,
    description: e.description,
    data: e.data,
    create: e.create,
    options,
    schema: schemaFor(options),
    capabilities: (o, extra = {}) => ({ data: e.data, ...e.capabilities(o, extra) }),
    ...(e.norm ? { norm: e.norm } : {}),
    ...(e.reference ? { reference: e.reference } : {}),
  };
}

const classesOf = (o: Record<string, unknown>, names?: string[]) => ({ count: o.numClasses as number, ...(names?.length ? { names } : {}) });

export const MODELS: Record<ModelKind, ModelEntry> = {
  gan: entry({
    kind: 'gan',
    title: 'GAN (DCGAN)',
    description: 'Learns to generate new images like the dataset from random noise.',
    data: 'images',
    own: GAN_OPTIONS,
    norm: 'batch',
    create: (o) => new GanModel(o as unknown as GanOptions, false),
    capabilities: (o) => ({
      generate: { latent: o.nz as number, network: 'G' },
      metrics: { suite: 'generated', key: { name: 'fdFashionCnn', higherIsBetter: false } },
    }),
  }),
  cgan: entry({
    kind: 'cgan',
    title: 'Conditional GAN',
    description: 'Generates images of a chosen class from noise + a class label.',
    data: 'labelled',
    own: CGAN_OPTIONS,
    norm: 'batch',
    create: (o) => new GanModel(o as unknown as GanOptions, true),
    capabilities: (o, x) => ({
      generate: { latent: o.nz as number, network: 'G', classes: classesOf(o, x.classNames) },
      metrics: { suite: 'generated', key: { name: 'conditionalAccuracy', higherIsBetter: true } },
    }),
  }),
  pix2pix: entry({
    kind: 'pix2pix',
    title: 'pix2pix',
    description: 'Translates paired images A -> B (U-Net + PatchGAN, GAN + L1 loss).',
    data: 'paired',
    own: PIX2PIX_OPTIONS,
    reference: { model: 'pix2pix', generators: ['G'], discriminators: [{ name: 'D', judges: 'AB' }], dataset: 'aligned' },
    create: (o) => new Pix2PixModel(o as unknown as Pix2PixOptions),
    capabilities: () => ({ translate: { AtoB: 'G' }, metrics: { suite: 'paired', key: { name: 'l1', higherIsBetter: false } } }),
  }),
  cyclegan: entry({
    kind: 'cyclegan',
    title: 'CycleGAN',
    description: 'Translates between two unpaired image domains both ways (cycle consistency).',
    data: 'unpaired',
    own: CYCLEGAN_OPTIONS,
    overrides: { lrPolicy: 'linear' },
    // D_A judges G_A's outputs (B images), D_B judges A images.
    reference: {
      model: 'cycle_gan',
      generators: ['G_A', 'G_B'],
      discriminators: [{ name: 'D_A', judges: 'B' }, { name: 'D_B', judges: 'A' }],
      dataset: 'unaligned',
      forcesNoDropout: true,
    },
    create: (o) => new CycleGanModel(o as unknown as CycleGanOptions),
    capabilities: () => ({
      translate: { AtoB: 'G_A', BtoA: 'G_B' },
      metrics: {
        suite: 'unpaired',
        key: { name: 'transferRate.mean', of: ['transferRate.AtoB', 'transferRate.BtoA'], higherIsBetter: true },
        alarm: 'transfer-collapse',
      },
    }),
  }),
  autoencoder: entry({
    kind: 'autoencoder',
    title: 'Autoencoder',
    description: 'Compresses images to a small latent vector and back (for latent exploration).',
    data: 'images',
    own: AUTOENCODER_OPTIONS,
    create: (o) => new AutoencoderModel(o as unknown as AutoencoderModelOptions),
    capabilities: (o) => ({
      encode: { latent: o.latent as number, encoder: 'encoder', decoder: 'decoder' },
      generate: { latent: o.latent as number, network: 'decoder' },
      metrics: { suite: 'reconstruction', key: { name: 'reconMse', higherIsBetter: false } },
    }),
  }),
};

/** The registered kinds, in registration order (the contract's model field takes any of them). */
export function modelKinds(): ModelKind[] {
  return Object.keys(MODELS);
}

export function hasModel(kind: string): boolean {
  return Object.hasOwn(MODELS, kind);
}

/**
 * Add a model kind: its file calls this once (see models/template.ts). Training, bundles, export,
 * inference, evaluation and the pages follow from the entry's options and capabilities.
 */
export function registerModel(e: ModelDefinition): ModelEntry {
  if (hasModel(e.kind)) throw new StudioError('CONFLICT', `Model kind "${e.kind}" is already registered.`);
  const made = entry(e);
  MODELS[e.kind] = made;
  return made;
}

export function modelEntry(kind: string): ModelEntry {
  const e = hasModel(kind) ? MODELS[kind] : undefined;
  if (!e) throw new StudioError('BAD_INPUT', `Unknown model "${kind}".`, { hint: `Use one of: ${modelKinds().join(', ')}.` });
  return e;
}

/** The entry whose reference counterpart has exactly these generators (a set of checkpoint files being imported), or null. */
export function modelForReference(generators: readonly string[]): ModelEntry | null {
  const want = [...generators].sort().join(',');
  return Object.values(MODELS).find((e) => e.reference && [...e.reference.generators].sort().join(',') === want) ?? null;
}

/** The reference counterpart of a kind; BAD_INPUT when it has none. */
export function referenceOf(kind: string): ReferenceCounterpart {
  const ref = hasModel(kind) ? MODELS[kind]!.reference : undefined;
  if (!ref) {
    const have = Object.values(MODELS).filter((e) => e.reference).map((e) => e.kind);
    throw new StudioError('BAD_INPUT', `A ${kind} bundle has no counterpart in the reference implementation (${have.join(' and ')} only).`);
  }
  return ref;
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

/** Capabilities of a kind with these options (resolved first, so defaults fill what is missing). */
export function capabilitiesFor(kind: string, options: Record<string, unknown>, extra: { classNames?: string[] } = {}): ModelCapabilities {
  return modelEntry(kind).capabilities(resolveOptions(kind, options), extra);
}

/**
 * Capabilities of a bundle written before bundles stored them: derived from its kind and
 * config, or null for a kind this build does not know.
 */
export function deriveCapabilities(kind: string, config: Record<string, unknown>, classes?: { count: number; names?: string[] }): ModelCapabilities | null {
  if (!hasModel(kind)) return null;
  const e = MODELS[kind]!;
  const caps = e.capabilities({ ...config, ...(classes ? { numClasses: classes.count } : {}) }, classes?.names ? { classNames: classes.names } : {});
  return caps;
}
