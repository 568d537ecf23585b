/**
 * Finding models and keeping them warm.
 *
 * A model reference is one of:
 *   - a bundle id: a folder in <workspace>/bundles/ or in the shipped models/ folder,
 *   - a path to a bundle folder,
 *   - a path to an exported .onnx file (its sidecar .json beside it).
 * A bundle folder holds the tfjs networks (bundle.json + one folder per network in the tfjs
 * layers format) and, once exported, <name>.onnx + <name>.json. Inference prefers the ONNX file
 * (onnxruntime-node); without one it converts the tfjs networks in memory (runtime 'onnx') or
 * runs them with tfjs (runtime 'tfjs').
 *
 * Loaded models are cached (a few at a time, least recently used evicted) so latent rendering
 * never reloads a session.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { StudioError } from '../../../shared/errors';
import type { BundleLocation, BundleSummary } from '../../../shared/channels/bundle';
import type { Workspace } from '../workspace';
import { exists } from '../fsutil';
import type { ExportSource, ModelKind, OnnxSidecar } from '../export/onnx-export';
import { InferenceModel, type Runtime } from './model';

export type { BundleLocation, BundleSummary };

export interface BundleManifest {
  kind?: string;
  name?: string;
  size?: number;
  imageSize?: number;
  channels?: number;
  nz?: number;
  latent?: number;
  latentSize?: number;
  classNames?: string[];
  classes?: string[];
  dropout?: 'identity' | 'keep' | boolean;
  networks?: Record<string, string> | string[];
  training?: Record<string, unknown>;
  summary?: Record<string, unknown>;
  [k: string]: unknown;
}

const MANIFEST = 'bundle.json';

async function readJsonMaybe<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The main exported .onnx in a folder (not the .encoder/.decoder parts). */
export async function findOnnx(dir: string): Promise<string | null> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return null;
  }
  const main = names.filter((n) => n.endsWith('.onnx') && !n.endsWith('.encoder.onnx') && !n.endsWith('.decoder.onnx') && !n.startsWith('.')).sort();
  return main.length ? path.join(dir, main.includes('model.onnx') ? 'model.onnx' : main[0]!) : null;
}

/** Network folders of a bundle (each holding a tfjs model.json). */
async function networkDirs(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'model.json'))) out[e.name] = path.join(dir, e.name);
  }
  return out;
}

export async function summarizeBundle(dir: string, location: BundleLocation, id = path.basename(dir)): Promise<BundleSummary | null> {
  const manifest = await readJsonMaybe<BundleManifest>(path.join(dir, MANIFEST));
  const onnx = await findOnnx(dir);
  const nets = await networkDirs(dir);
  const side = onnx ? await readJsonMaybe<OnnxSidecar>(onnx.slice(0, -5) + '.json') : null;
  if (!manifest && !side) return null;
  const m = manifest ?? {};
  const classNames = m.classNames ?? m.classes ?? side?.classNames;
  const latent = m.latentSize ?? m.nz ?? m.latent ?? side?.latentSize;
  return {
    id,
    name: m.name ?? side?.name ?? id,
    kind: (m.kind ?? side?.kind ?? 'pix2pix') as ModelKind,
    imageSize: Number(m.imageSize ?? m.size ?? side?.imageSize ?? 0),
    channels: Number(m.channels ?? side?.channels ?? 3),
    ...(latent !== undefined ? { latentSize: Number(latent) } : {}),
    ...(classNames ? { classNames } : {}),
    location,
    dir,
    onnx,
    hasTfjs: Object.keys(nets).length > 0,
    ...(side?.parity ? { parity: { maxAbsDiff: side.parity.maxAbsDiff, pass: side.parity.pass } } : {}),
  };
}

export async function listBundles(ws: Workspace): Promise<BundleSummary[]> {
  const out: BundleSummary[] = [];
  for (const [root, location] of [
    [ws.bundles, 'workspace'],
    [ws.shippedModels, 'shipped'],
  ] as const) {
    let entries: fs.Dirent[] = [];
    try {
      entries = await fsp.readdir(root, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const s = await summarizeBundle(path.join(root, e.name), location, e.name);
      if (s && !out.some((o) => o.id === s.id)) out.push(s);
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Resolve a reference to a bundle folder or an .onnx file. */
export async function resolveModelRef(ws: Workspace, ref: string): Promise<{ dir: string | null; onnx: string | null; location: BundleLocation; id: string }> {
  if (/^[A-Za-z0-9_-]+$/.test(ref)) {
    for (const [root, location] of [
      [ws.bundles, 'workspace'],
      [ws.shippedModels, 'shipped'],
    ] as const) {
      const dir = path.join(root, ref);
      if (await exists(dir)) return { dir, onnx: await findOnnx(dir), location, id: ref };
    }
  }
  const abs = path.resolve(ref);
  if (await exists(abs)) {
    const st = await fsp.stat(abs);
    if (st.isDirectory()) return { dir: abs, onnx: await findOnnx(abs), location: 'path', id: path.basename(abs) };
    if (abs.toLowerCase().endsWith('.onnx')) return { dir: null, onnx: abs, location: 'path', id: path.basename(abs, '.onnx') };
  }
  throw new StudioError('NOT_FOUND', `No model "${ref}".`, {
    hint: 'Give a bundle id (see `bundle.list` / the Models page), a bundle folder, or an exported .onnx file.',
  });
}

/**
 * tfjs networks of a bundle as an ExportSource (for export and the tfjs runtime).
 * Networks: generator (or G / G_A / netG), or encoder + decoder.
 */
export async function loadBundleSource(dir: string): Promise<ExportSource> {
  const manifest = (await readJsonMaybe<BundleManifest>(path.join(dir, MANIFEST))) ?? {};
  const nets = await networkDirs(dir);
  const { loadModelFromDir } = await import('../networks/io');
  const load = (name: string) => loadModelFromDir(nets[name]!);
  const kind = String(manifest.kind ?? (nets.encoder && nets.decoder ? 'autoencoder' : 'pix2pix')) as ModelKind;
  const size = Number(manifest.imageSize ?? manifest.size ?? 0);
  const channels = Number(manifest.channels ?? 3);
  const classNames = manifest.classNames ?? manifest.classes;
  const latent = manifest.latentSize ?? manifest.nz ?? manifest.latent;
  const dropout = manifest.dropout === 'keep' || manifest.dropout === true ? 'keep' : 'identity';
  const base: ExportSource = {
    kind,
    name: String(manifest.name ?? path.basename(dir)),
    imageSize: size,
    channels,
    ...(latent !== undefined ? { latentSize: Number(latent) } : {}),
    ...(classNames ? { classNames } : {}),
    dropout,
    ...(manifest.training || manifest.summary ? { training: (manifest.training ?? manifest.summary) as Record<string, unknown> } : {}),
  };
  if (nets.encoder && nets.decoder) return { ...base, encoder: await load('encoder'), decoder: await load('decoder') };
  const genName = ['generator', 'G', 'G_A', 'netG', 'netG_A', 'gen'].find((n) => nets[n]) ?? (Object.keys(nets).length === 1 ? Object.keys(nets)[0] : undefined);
  if (!genName) {
    throw new StudioError('BAD_INPUT', `Bundle ${path.basename(dir)} has no generator network (found: ${Object.keys(nets).join(', ') || 'none'}).`);
  }
  const generator: tfTypes.LayersModel = await load(genName);
  if (!base.imageSize) base.imageSize = (generator.outputs[0]!.shape[1] as number) ?? 0;
  return { ...base, generator };
}

// ---------------------------------------------------------------------------------------------
// Cache of loaded models

const MAX_CACHED = 4;
const cache = new Map<string, Promise<InferenceModel>>();

/** Get a model ready for inference (cached per reference and runtime). */
export async function getModel(ws: Workspace, ref: string, runtime: Runtime = 'onnx'): Promise<InferenceModel> {
  const key = `${ws.root}|${ref}|${runtime}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const p = (async () => {
    const r = await resolveModelRef(ws, ref);
    if (runtime === 'onnx' && r.onnx) return InferenceModel.fromOnnxFile(r.onnx);
    if (!r.dir) throw new StudioError('BAD_INPUT', `The tfjs runtime needs a bundle folder; "${ref}" is only an ONNX file.`);
    const src = await loadBundleSource(r.dir);
    return InferenceModel.fromSource(src, runtime, r.dir);
  })();
  cache.set(key, p);
  p.catch(() => cache.delete(key));
  while (cache.size > MAX_CACHED) {
    const [oldKey, old] = cache.entries().next().value as [string, Promise<InferenceModel>];
    cache.delete(oldKey);
    void old.then((m) => m.dispose()).catch(() => undefined);
  }
  return p;
}

/** Forget cached models (after an export rewrote a file, or on shutdown). */
export async function evictModels(match?: (key: string) => boolean): Promise<void> {
  for (const [k, p] of [...cache.entries()]) {
    if (match && !match(k)) continue;
    cache.delete(k);
    await p.then((m) => m.dispose()).catch(() => undefined);
  }
}
