/**
 * Model bundles: everything needed to use a trained model, loadable with no flags.
 *
 *   bundles/<id>/bundle.json
 *     { format: 'atelier-bundle', version: 1, id, name, createdAt,
 *       model: <registry kind>,
 *       capabilities: { data, translate?: {AtoB?, BtoA?: network}, generate?: {latent, network,
 *                       classes?}, encode?: {latent, encoder, decoder}, metrics }  (older
 *                       bundles: derived from model + config on load),
 *       networks: { <name>: { path: 'networks/<name>', role, inputs, output } },
 *       config: <resolved model options>,
 *       preprocessing: { size, channels, inChannels, layout: 'NHWC', dtype: 'float32',
 *                        valueRange: [-1, 1], direction, norm, inference: {...} },
 *       classes?: { count, names? },  latent?: { size } | nz,
 *       training: { runId, datasetId, steps, epochs, durationSec, stepsPerSec, backend,
 *                   finalLosses, meanLosses (last 10% of steps) } }
 *   bundles/<id>/networks/<name>/model.json + weights.bin   (tfjs layers format)
 * The inference networks only (generators; encoder + decoder), all in inference mode:
 * batch norm uses its moving statistics, dropout is off.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend';
import { loadModelFromDir, saveModelToDir } from '../networks/io';
import { makeTempDirBeside, publishDir, exists, readJson } from '../core/fsutil';
import type { BaseModel, ModelKind } from '../models/base';
import { deriveCapabilities, modelEntry } from '../models/registry';
import { sampleZ } from '../infer/latent';
import { StudioError } from '../../../shared/errors';
import type { Direction, ModelCapabilities } from '../../../shared/capabilities';

export interface BundleNetworkMeta {
  path: string;
  role: 'generator' | 'generator_AtoB' | 'generator_BtoA' | 'encoder' | 'decoder';
  inputs: { name: string; shape: (number | null)[]; dtype: string }[];
  output: { shape: (number | null)[] };
}

export interface BundleMeta {
  format: 'atelier-bundle';
  version: 1;
  id: string;
  name: string;
  createdAt: string;
  model: ModelKind;
  /** Always set once loaded (loadBundle derives it for bundles written before it existed). */
  capabilities: ModelCapabilities;
  networks: Record<string, BundleNetworkMeta>;
  config: Record<string, unknown>;
  preprocessing: {
    size: number;
    channels: number;
    inChannels: number;
    layout: 'NHWC';
    dtype: 'float32';
    valueRange: [number, number];
    direction: 'AtoB' | 'BtoA' | null;
    norm: string | null;
    /** 'per-image-statistics' and dropout 'keep': a PyTorch import asked for the reference's train-mode test behaviour. */
    inference: { batchNorm: 'moving-statistics' | 'per-image-statistics' | 'none'; dropout: 'off' | 'keep'; training: false };
  };
  /** Where the weights came from when they were not trained here (a PyTorch import). */
  source?: BundleSource;
  classes?: { count: number; names?: string[] };
  latent?: { size: number };
  training: {
    runId: string;
    datasetId: string;
    steps: number;
    epochs: number;
    durationSec: number;
    stepsPerSec: number;
    backend: string;
    finalLosses: Record<string, number>;
    meanLosses: Record<string, number>;
  };
}

export interface BundleSource {
  format: 'pytorch';
  /** The network variant the tfjs layers follow (interop/reference-networks.ts). */
  variant: string;
  files: { network: string; file: string; sha256: string; bytes: number; format: 'zip' | 'legacy' }[];
  architecture: Record<string, unknown>;
  mode: 'eval' | 'train';
}

export interface LoadedBundle {
  dir: string;
  meta: BundleMeta;
  networks: Record<string, tf.LayersModel>;
}

const ROLE: Record<string, BundleNetworkMeta['role']> = { G: 'generator', G_A: 'generator_AtoB', G_B: 'generator_BtoA', encoder: 'encoder', decoder: 'decoder' };

export async function writeBundle(
  bundlesRoot: string,
  id: string,
  model: Pick<BaseModel, 'kind' | 'networks' | 'inferenceNetworks' | 'inferenceNetwork' | 'options'>,
  info: Pick<BundleMeta, 'training'> & {
    direction?: 'AtoB' | 'BtoA' | null;
    name?: string;
    source?: BundleSource;
    inference?: Partial<BundleMeta['preprocessing']['inference']>;
    /** Class names of the dataset (conditional generators; the count comes from the options). */
    classNames?: string[];
    /** Older callers' form of the same: names are taken from it. */
    classes?: { count: number; names?: string[] };
  },
): Promise<{ dir: string; meta: BundleMeta }> {
  const finalDir = path.join(bundlesRoot, id);
  const tmp = await makeTempDirBeside(finalDir);
  const networks: Record<string, BundleNetworkMeta> = {};
  let hasBN = false;
  for (const name of model.inferenceNetworks) {
    const net = model.inferenceNetwork(name);
    hasBN ||= net.layers.some((l) => l.getClassName() === 'BatchNormalization');
    await saveModelToDir(net, path.join(tmp, 'networks', name));
    networks[name] = {
      path: `networks/${name}`,
      role: ROLE[name] ?? 'generator',
      inputs: net.inputs.map((i) => ({ name: i.name.replace(/:.*$/, ''), shape: i.shape, dtype: i.dtype })),
      output: { shape: net.outputs[0]!.shape },
    };
  }
  const o = model.options as unknown as Record<string, unknown>;
  const entry = modelEntry(model.kind);
  const classNames = info.classNames ?? info.classes?.names;
  const caps = entry.capabilities(o, classNames ? { classNames } : {});
  const latent = caps.generate?.latent ?? caps.encode?.latent;
  const meta: BundleMeta = {
    format: 'atelier-bundle',
    version: 1,
    id,
    name: info.name ?? id,
    createdAt: new Date().toISOString(),
    model: model.kind,
    capabilities: caps,
    networks,
    config: { ...o },
    preprocessing: {
      size: o.size as number,
      channels: o.channels as number,
      inChannels: (o.inChannels as number | null | undefined) ?? (o.channels as number),
      layout: 'NHWC',
      dtype: 'float32',
      valueRange: [-1, 1],
      // A one-way translator learned the direction picked at training; a two-way one holds both.
      direction: caps.translate ? (caps.translate.BtoA ? 'AtoB' : (info.direction ?? 'AtoB')) : null,
      norm: (o.norm as string | undefined) ?? entry.norm ?? null,
      inference: { batchNorm: hasBN ? 'moving-statistics' : 'none', dropout: 'off', training: false, ...info.inference },
    },
    ...(caps.generate?.classes ? { classes: caps.generate.classes } : {}),
    ...(latent !== undefined ? { latent: { size: latent } } : {}),
    training: info.training,
    ...(info.source ? { source: info.source } : {}),
  };
  await fsp.writeFile(path.join(tmp, 'bundle.json'), JSON.stringify(meta, null, 2) + '\n');
  await publishDir(tmp, finalDir);
  return { dir: finalDir, meta };
}

/** Load a bundle folder: metadata + its networks, ready for inference. */
export async function loadBundle(dir: string): Promise<LoadedBundle> {
  const file = path.join(dir, 'bundle.json');
  if (!(await exists(file))) throw new StudioError('NOT_FOUND', `No model bundle at ${dir} (bundle.json missing).`);
  const meta = await readJson<BundleMeta>(file);
  if (meta.format !== 'atelier-bundle') throw new StudioError('BAD_INPUT', `${file} is not an Atelier bundle.`);
  meta.capabilities ??= bundleCapabilities(meta);
  const networks: Record<string, tf.LayersModel> = {};
  for (const [name, n] of Object.entries(meta.networks)) networks[name] = await loadModelFromDir(path.join(dir, n.path));
  return { dir, meta, networks };
}

export function disposeBundle(b: LoadedBundle): void {
  for (const n of Object.values(b.networks)) n.dispose();
}

/**
 * Capabilities of a bundle.json: stored since bundles have them; for an older bundle derived from
 * its kind and config (so shipped models keep working).
 */
export function bundleCapabilities(meta: Omit<BundleMeta, 'capabilities'> & { capabilities?: ModelCapabilities }): ModelCapabilities {
  if (meta.capabilities) return meta.capabilities;
  const derived = deriveCapabilities(meta.model, meta.config ?? {}, meta.classes);
  if (!derived) throw new StudioError('BAD_INPUT', `Bundle ${meta.id} is a "${meta.model}" model this version does not know, and its bundle.json declares no capabilities.`);
  return derived;
}

/** The network that translates `direction` (a bundle's default: its first direction). */
export function translatorNetwork(caps: ModelCapabilities, direction?: Direction): string | null {
  const t = caps.translate;
  if (!t) return null;
  return (direction ? t[direction] : undefined) ?? t.AtoB ?? t.BtoA ?? null;
}

/**
 * Translate images with a bundle that maps images to images: a translator (in the direction
 * asked, when it has it), or an encoder-decoder (reconstruction).
 * input [B, S, S, inChannels] in [-1, 1] -> [B, S, S, channels].
 */
export function translate(b: LoadedBundle, input: tf.Tensor4D, opts: { direction?: Direction } = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const caps = b.meta.capabilities;
    const net = translatorNetwork(caps, opts.direction);
    if (net) return b.networks[net]!.apply(input, { training: false }) as tf.Tensor4D;
    if (caps.encode) return b.networks[caps.encode.decoder]!.apply(b.networks[caps.encode.encoder]!.apply(input, { training: false }), { training: false }) as tf.Tensor4D;
    throw new StudioError('BAD_INPUT', `A ${b.meta.model} bundle generates from noise; use generate().`);
  });
}

/**
 * Generate images from noise z [N, latent] (drawn from `seed` when not given); a conditional
 * generator takes labels [N] (default 0..N-1 cycling over the classes); an encoder-decoder
 * decodes the latents.
 */
export function generate(b: LoadedBundle, opts: { n?: number; seed?: number; z?: tf.Tensor2D; labels?: number[] } = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const m = b.meta;
    const g = m.capabilities.generate;
    if (!g) throw new StudioError('BAD_INPUT', `A ${m.model} bundle translates images; use translate().`);
    const n = opts.z?.shape[0] ?? opts.n ?? 8;
    const z = opts.z ?? tf.tensor2d(sampleZ(opts.seed ?? 0, n, g.latent), [n, g.latent]);
    const net = b.networks[g.network]!;
    if (g.classes) {
      const k = g.classes.count;
      const labels = opts.labels ?? Array.from({ length: n }, (_, i) => i % k);
      return net.apply([z, tf.tensor2d(Int32Array.from(labels), [n, 1], 'int32')], { training: false }) as tf.Tensor4D;
    }
    return net.apply(z, { training: false }) as tf.Tensor4D;
  });
}

/** Encoder-decoder bundles: images -> latent vectors. */
export function encode(b: LoadedBundle, input: tf.Tensor4D): tf.Tensor2D {
  const e = b.meta.capabilities.encode;
  if (!e) throw new StudioError('BAD_INPUT', `A ${b.meta.model} bundle has no encoder.`);
  return tf.tidy(() => b.networks[e.encoder]!.apply(input, { training: false }) as tf.Tensor2D);
}
