/**
 * Finding models and keeping them warm.
 *
 * A model reference is one of:
 *   - a bundle id: a folder in <workspace>/bundles/ or in the shipped models/ folder,
 *   - a path to a bundle folder,
 *   - a path to an exported .onnx file (its sidecar .json beside it).
 * A bundle folder (train/bundle.ts: bundle.json + networks/<name>/ in the tfjs layers format)
 * holds, once exported, also <id>.onnx + <id>.json (+ .encoder/.decoder.onnx for autoencoders). Inference prefers the ONNX file
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
import { safeId, type Workspace } from '../core/workspace';
import { exists } from '../core/fsutil';
import type { ExportSource, OnnxSidecar } from '../export/onnx-export';
import { readWeightsAhead } from '../export/tfjs-to-onnx';
import { syncReads } from '../models/base';
import { bundleCapabilities, disposeBundle, loadBundle, translatorNetwork, type BundleMeta } from '../train/bundle';
import { InferenceModel, capabilitiesOf, type Runtime } from './model';

export type { BundleLocation, BundleSummary };

const MANIFEST = 'bundle.json';

async function readJsonMaybe<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/**
 * The main exported .onnx in a folder (not the .encoder/.decoder parts); `BtoA` finds the
 * cyclegan reverse generator's file (<id>.BtoA.onnx).
 */
export async function findOnnx(dir: string, direction: 'AtoB' | 'BtoA' = 'AtoB'): Promise<string | null> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return null;
  }
  const onnx = names.filter((n) => n.endsWith('.onnx') && !n.startsWith('.')).sort();
  if (direction === 'BtoA') {
    const b = onnx.find((n) => n.endsWith('.BtoA.onnx'));
    return b ? path.join(dir, b) : null;
  }
  const main = onnx.filter((n) => !n.endsWith('.encoder.onnx') && !n.endsWith('.decoder.onnx') && !n.endsWith('.BtoA.onnx'));
  return main.length ? path.join(dir, main.includes('model.onnx') ? 'model.onnx' : main[0]!) : null;
}

/** Exports of read-only shipped bundles go to <workspace>/exports/<id>/. */
export function exportsDirFor(ws: Workspace, id: string): string {
  return path.join(ws.root, 'exports', safeId(id));
}

/** Where a bundle's exports may be: its folder, and for a read-only shipped bundle exports/<id>/ too. */
function exportDirsOf(ws: Workspace, dir: string, location: BundleLocation, id: string): string[] {
  return location === 'shipped' ? [dir, exportsDirFor(ws, id)] : [dir];
}

async function findOnnxIn(dirs: string[], direction: 'AtoB' | 'BtoA' = 'AtoB'): Promise<string | null> {
  for (const d of dirs) {
    const f = await findOnnx(d, direction);
    if (f) return f;
  }
  return null;
}

function classNamesOf(meta: BundleMeta): string[] | undefined {
  const c = meta.classes;
  if (!c) return undefined;
  return c.names?.length ? c.names : Array.from({ length: c.count }, (_, i) => String(i));
}

export async function summarizeBundle(dir: string, location: BundleLocation, id = path.basename(dir), exportDirs: string[] = []): Promise<BundleSummary | null> {
  const raw = await readJsonMaybe<BundleMeta>(path.join(dir, MANIFEST));
  const meta = raw && raw.format === 'atelier-bundle' ? raw : null;
  const onnx = await findOnnxIn([dir, ...exportDirs]);
  const side = onnx ? await readJsonMaybe<OnnxSidecar>(onnx.slice(0, -5) + '.json') : null;
  if (!meta && !side) return null;
  const classNames = (meta ? classNamesOf(meta) : undefined) ?? side?.classNames;
  const latent = meta?.latent?.size ?? side?.latentSize;
  let capabilities: BundleSummary['capabilities'];
  try {
    capabilities = meta ? bundleCapabilities(meta) : capabilitiesOf(side!.capabilities, side!.kind, { inputs: side!.inputs ?? [], ...(latent !== undefined ? { latentSize: Number(latent) } : {}), ...(classNames ? { classNames } : {}), encoder: !!side!.encoderFile });
  } catch {
    return null; // a kind this build does not know, with no capabilities to go by
  }
  return {
    id,
    name: meta?.name ?? side?.name ?? id,
    kind: meta?.model ?? side?.kind ?? 'onnx',
    capabilities,
    imageSize: Number(meta?.preprocessing.size ?? side?.imageSize ?? 0),
    channels: Number(meta?.preprocessing.channels ?? side?.channels ?? 3),
    ...(latent !== undefined ? { latentSize: Number(latent) } : {}),
    ...(classNames ? { classNames } : {}),
    location,
    dir,
    onnx,
    hasTfjs: !!meta && Object.keys(meta.networks ?? {}).length > 0,
    ...(side?.parity ? { parity: { maxAbsDiff: side.parity.maxAbsDiff, pass: side.parity.pass } } : {}),
    ...(meta?.training?.datasetId ? { datasetId: String(meta.training.datasetId) } : {}),
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
      const s = await summarizeBundle(path.join(root, e.name), location, e.name, location === 'shipped' ? [exportsDirFor(ws, e.name)] : []);
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
      if (await exists(dir)) return { dir, onnx: await findOnnxIn(exportDirsOf(ws, dir, location, ref)), location, id: ref };
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

export type Direction = 'AtoB' | 'BtoA';

/**
 * A bundle's tfjs networks (loadBundle) as an ExportSource, for export and the tfjs runtime.
 * A two-way translator: the network of `direction` (AtoB by default). Networks the source does not use are disposed.
 */
export async function loadBundleSource(dir: string, opts: { direction?: Direction } = {}): Promise<ExportSource> {
  const b = await loadBundle(dir);
  const m = b.meta;
  const p = m.preprocessing;
  const classNames = classNamesOf(m);
  const caps = m.capabilities;
  const base: ExportSource = {
    kind: m.model,
    capabilities: caps,
    name: m.name,
    imageSize: p.size,
    channels: p.channels,
    ...(p.inChannels && p.inChannels !== p.channels ? { inChannels: p.inChannels } : {}),
    ...(m.latent?.size ? { latentSize: m.latent.size } : {}),
    ...(classNames ? { classNames } : {}),
    dropout: (p.inference?.dropout as string) === 'keep' ? 'keep' : 'identity',
    ...(m.training ? { training: { ...m.training, bundleId: m.id, createdAt: m.createdAt } } : {}),
  };
  const nets = b.networks;
  const take = (name: string): tfTypes.LayersModel => {
    const n = nets[name];
    if (!n) throw new StudioError('BAD_INPUT', `Bundle ${m.id} has no ${name} network (found: ${Object.keys(nets).join(', ') || 'none'}).`);
    delete nets[name];
    return n;
  };
  let src: ExportSource;
  try {
    if (caps.encode) src = { ...base, encoder: take(caps.encode.encoder), decoder: take(caps.encode.decoder) };
    else if (caps.translate?.AtoB && caps.translate.BtoA) {
      // Two-way translator: one source (and one ONNX file) per direction; BtoA maps B's channels to A's.
      const dirn = opts.direction ?? 'AtoB';
      src = { ...base, name: dirn === 'AtoB' ? base.name : `${base.name} (BtoA)`, generator: take(translatorNetwork(caps, dirn)!) };
      if (dirn === 'BtoA' && p.inChannels !== p.channels) src = { ...src, channels: p.inChannels, inChannels: p.channels };
    } else src = { ...base, generator: take(translatorNetwork(caps) ?? caps.generate?.network ?? Object.keys(nets)[0]!) };
  } finally {
    disposeBundle(b); // whatever was not taken
  }
  // The ONNX writer reads weights synchronously; a GPU backend reads only asynchronously.
  if (!syncReads()) await readWeightsAhead([src.generator, src.encoder, src.decoder]);
  return src;
}

// ---------------------------------------------------------------------------------------------
// Cache of loaded models

const MAX_CACHED = 4;
/** A cached model is checked against its files at most this often (a re-promoted or re-exported bundle reloads). */
const RECHECK_MS = 1000;
interface Entry {
  p: Promise<InferenceModel>;
  stamp: string;
  checkedAt: number;
}
const cache = new Map<string, Entry>();

async function mtime(file: string | null): Promise<string> {
  if (!file) return '-';
  try {
    return String((await fsp.stat(file)).mtimeMs);
  } catch {
    return 'missing';
  }
}

type ModelRef = Awaited<ReturnType<typeof resolveModelRef>>;

/** A reference resolved once, with the ONNX file a model of this direction would load. */
async function locate(ws: Workspace, ref: string, direction: Direction): Promise<{ r: ModelRef; file: string | null }> {
  const r = await resolveModelRef(ws, ref);
  const file = direction === 'BtoA' ? (r.dir ? await findOnnxIn(exportDirsOf(ws, r.dir, r.location, r.id), 'BtoA') : null) : r.onnx;
  return { r, file };
}

/** What the loaded model depends on: bundle.json and the ONNX file used (path + mtime); 'missing' when the reference no longer resolves. */
async function stampOf(where: Promise<{ r: ModelRef; file: string | null }>): Promise<string> {
  try {
    const { r, file } = await where;
    return [r.dir ? await mtime(path.join(r.dir, MANIFEST)) : '-', file ?? '-', await mtime(file)].join('|');
  } catch {
    return 'missing';
  }
}

async function load(where: Promise<{ r: ModelRef; file: string | null }>, ref: string, runtime: Runtime, direction: Direction): Promise<InferenceModel> {
  const { r, file } = await where;
  if (runtime === 'onnx' && file) return InferenceModel.fromOnnxFile(file);
  if (!r.dir) throw new StudioError('BAD_INPUT', `The tfjs runtime needs a bundle folder; "${ref}" is only an ONNX file.`);
  const src = await loadBundleSource(r.dir, { direction });
  return InferenceModel.fromSource(src, runtime, r.dir, true);
}

function drop(key: string): void {
  const e = cache.get(key);
  if (!e) return;
  cache.delete(key);
  void e.p.then((m) => m.dispose()).catch(() => undefined);
}

/** Get a model ready for inference (cached per reference, runtime and cyclegan direction). */
export async function getModel(ws: Workspace, ref: string, runtime: Runtime = 'onnx', direction: Direction = 'AtoB'): Promise<InferenceModel> {
  const key = `${ws.root}|${ref}|${runtime}|${direction}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit); // most recently used last
    if (Date.now() - hit.checkedAt < RECHECK_MS) return hit.p;
    const stamp = await stampOf(locate(ws, ref, direction));
    if (stamp === hit.stamp) {
      hit.checkedAt = Date.now();
      return hit.p;
    }
    drop(key);
  }
  // Resolved once for both the stamp and the load.
  const where = locate(ws, ref, direction);
  const stamp = await stampOf(where);
  const p = load(where, ref, runtime, direction);
  cache.set(key, { p, stamp, checkedAt: Date.now() });
  p.catch(() => {
    if (cache.get(key)?.p === p) cache.delete(key);
  });
  while (cache.size > MAX_CACHED) drop(cache.keys().next().value as string);
  return p;
}

/** Forget cached models (after an export rewrote a file, or on shutdown). */
export async function evictModels(match?: (key: string) => boolean): Promise<void> {
  for (const [k, e] of [...cache.entries()]) {
    if (match && !match(k)) continue;
    cache.delete(k);
    await e.p.then((m) => m.dispose()).catch(() => undefined);
  }
}
