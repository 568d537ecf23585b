/**
 * What the channels and the CLI do with a loaded model: translate an image or a folder, generate
 * from seeds, render a latent point, interpolate, find directions.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { StudioError } from '../../../shared/errors';
import { writeFileAtomic } from '../core/fsutil';
import { imageToModel, modelToPng, restoreGeometry, type Fit, type PngOut } from './image';
import { gramOrt } from './gram';
import { applySliders, arithmetic, centeredRows, classBlend, directionsFromFeatures, interpolate, sampleZ, type Directions, type InterpMode } from './latent';
import { isTranslator, type InferenceModel } from './model';
import { takesImages } from '../../../shared/capabilities';
import type { DirectionsRequest } from '../../../shared/channels/latent';
import { decodeAt, defaultMemoryBudget, probeImage, scaleWarning, tileForBudget, workingSize, type Scale } from './resolution';
import { planTiles, runTiled, type RawPixels } from './tiles';
import { readProvenanceFile } from './png-provenance';
import { stampTranslate } from './provenance';

export const IMAGE_EXTS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface TranslateOptions {
  /** native (default): the image's own size; model: the training size; N: long side N. See infer/resolution. */
  scale?: Scale;
  /** Tile side in pixels (rounded up to the network stride); default: from the memory budget. */
  tile?: number;
  /** Tile overlap in pixels (default a quarter of the tile). */
  overlap?: number;
  /** Activation memory allowed for one pass, bytes (default: defaultMemoryBudget()). */
  memoryBudget?: number;
  /** scale 'model' only: map the output back onto the input's size and aspect (see restoreGeometry). Default true. */
  keepSize?: boolean;
  fit?: Fit;
  /** Called after each tile. */
  onTile?: (done: number, total: number) => void;
  /** Awaited before each tile (cancel, pause). */
  checkpoint?: () => Promise<void>;
}

export interface TranslateOutcome extends PngOut {
  inputWidth: number;
  inputHeight: number;
  /** The size the network ran at (before scaling back to the input's size). */
  workWidth: number;
  workHeight: number;
  scale: Scale;
  /** 1 when untiled. */
  tiles: number;
  tileSize?: number;
  overlap?: number;
  /** The training size (the scale warning names it). */
  trainSize: number;
  /** Far from the training scale (> 2x either way), for people. */
  warning?: string;
  /** Conversions the user should know about (grey, alpha, a fixed-size model). */
  notes: string[];
  ms: number;
}

function imageCount(m: InferenceModel): number {
  return m.info.channels * m.info.imageSize * m.info.imageSize;
}

function assertTranslates(m: InferenceModel): void {
  if (!takesImages(m.info.capabilities)) {
    throw new StudioError('BAD_INPUT', `Model "${m.info.name}" (${m.info.kind}) generates from noise and does not translate images.`, { hint: 'Use generate or the Latent page.' });
  }
}

/** The old rule: the image squeezed to the training size, the output scaled back. */
async function translateAtModelSize(m: InferenceModel, src: string | Uint8Array, opts: TranslateOptions, notes: string[], t0: number): Promise<TranslateOutcome> {
  const S = m.info.imageSize;
  const img = await imageToModel(src, S, m.info.inChannels, opts.fit ?? 'fill');
  const y = await m.translate(img.data, 1);
  const out = await modelToPng(y, m.info.channels, S, opts.keepSize === false ? {} : restoreGeometry(opts.fit ?? 'fill', S, img.width, img.height));
  const warning = scaleWarning(S, { width: S, height: S });
  return { ...out, inputWidth: img.width, inputHeight: img.height, workWidth: S, workHeight: S, scale: 'model', tiles: 1, trainSize: S, notes, ...(warning ? { warning } : {}), ms: performance.now() - t0 };
}

/**
 * Translate one image (path or bytes) -> PNG with the input's width and height. Fully
 * convolutional translators run at `scale` (default native), in tiles above the memory budget;
 * a model that cannot run at other sizes (autoencoders) runs at its own size when no scale was
 * asked for, and says why otherwise.
 */
export async function translateImage(m: InferenceModel, src: string | Uint8Array, opts: TranslateOptions = {}): Promise<TranslateOutcome> {
  assertTranslates(m);
  const t0 = performance.now();
  const S = m.info.imageSize;
  const geo = m.info.geometry;
  const fixed = !geo ? 'its size is not known to be free' : geo.fixedReason;
  const notes: string[] = [];
  if (opts.scale === 'model') return translateAtModelSize(m, src, opts, notes, t0);
  if (fixed) {
    if (opts.scale === undefined) {
      notes.push(`This model runs only at ${S}x${S} (${fixed}): the image was translated at that size and scaled back.`);
      return translateAtModelSize(m, src, opts, notes, t0);
    }
    throw new StudioError('BAD_INPUT', `Model "${m.info.name}" cannot run at another size than ${S}x${S}: ${fixed}.`, { hint: 'Use scale "model" (it runs at the training size and scales the result back).' });
  }
  const scale = opts.scale ?? 'native';
  const probe = await probeImage(src);
  const work = workingSize(scale, probe.width, probe.height);
  const img = await decodeAt(src, m.info.inChannels, work);
  notes.push(...img.notes);
  const stride = geo!.stride;
  const tile = opts.tile ?? tileForBudget(work.width, work.height, stride, geo!.bytesPerPixel, opts.memoryBudget ?? defaultMemoryBudget());
  const plan = planTiles(work.width, work.height, stride, tile, opts.overlap ?? (tile ? Math.round(tile / 4) : 0));
  const outC = m.info.channels;
  let out: RawPixels;
  try {
    out = await runTiled(img, m.info.inChannels, outC, plan, (x, h, w) => m.translate(x, 1, h, w), { onTile: opts.onTile, checkpoint: opts.checkpoint });
  } catch (e) {
    if (e instanceof StudioError && e.code === 'CANCELLED') throw e;
    throw new StudioError('BAD_INPUT', `Model "${m.info.name}" failed at ${plan.tileW}x${plan.tileH}: ${(e as Error).message.split('\n')[0]}`, {
      hint: `Try scale "model" (${S}x${S}) or a smaller tile.`,
    });
  }
  // Back to the input's own size when the network ran at another scale.
  let p = sharp(out.data, { raw: { width: out.width, height: out.height, channels: outC as 1 | 3 } });
  if (work.width !== probe.width || work.height !== probe.height) p = p.resize(probe.width, probe.height, { fit: 'fill', kernel: 'lanczos3' });
  if (outC === 1) p = p.toColourspace('b-w');
  const buf = await p.png({ compressionLevel: 6 }).toBuffer();
  const warning = scaleWarning(S, work);
  return {
    png: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
    width: probe.width,
    height: probe.height,
    inputWidth: probe.width,
    inputHeight: probe.height,
    workWidth: work.width,
    workHeight: work.height,
    scale,
    tiles: plan.xs.length * plan.ys.length,
    ...(plan.tiled ? { tileSize: Math.max(plan.tileW, plan.tileH), overlap: plan.overlap } : {}),
    trainSize: S,
    ...(warning ? { warning } : {}),
    notes,
    ms: performance.now() - t0,
  };
}

export interface FolderProgress {
  (done: number, total: number, file: string): void;
}

/** Images of a folder (not recursive), sorted by name. */
export async function listImages(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    throw new StudioError('NOT_FOUND', `Cannot read folder ${dir}.`);
  }
  return names
    .filter((n) => !n.startsWith('.') && IMAGE_EXTS.includes(path.extname(n).toLowerCase()))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Output name for an input file: same stem + suffix, .png (collisions like a.jpg + a.png get a number). */
function outName(file: string, used: Set<string>, suffix = ''): string {
  const stem = path.basename(file, path.extname(file)) + suffix;
  let name = `${stem}.png`;
  for (let i = 2; used.has(name); i++) name = `${stem}-${i}.png`;
  used.add(name);
  return name;
}

export interface FolderResult {
  outDir: string;
  written: string[];
  failed: { file: string; error: string }[];
  total: number;
}

/**
 * An output folder may hold the user's own PNGs with our output names: only a file that carries
 * an atelier chunk (an earlier output) is replaced, anything else is left alone and reported.
 */
async function refuseForeign(target: string): Promise<void> {
  let ours = false;
  try {
    ours = (await readProvenanceFile(target)) !== null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
  }
  if (!ours) throw new StudioError('CONFLICT', `${path.basename(target)} already exists and was not written by Atelier; it was not replaced.`, { hint: 'Choose an empty output folder or a suffix.' });
}

export async function translateFolder(
  m: InferenceModel,
  inDir: string,
  outDir: string,
  opts: TranslateOptions & { onProgress?: FolderProgress; checkpoint?: () => Promise<void>; suffix?: string; stamp?: Parameters<typeof stampTranslate>[3] } = {},
): Promise<FolderResult> {
  const suffix = opts.suffix ?? '';
  const beside = path.resolve(inDir) === path.resolve(outDir);
  if (beside && !suffix) throw new StudioError('BAD_INPUT', 'The output folder must differ from the input folder, or give a suffix to save next to the originals.');
  // Next to the originals, earlier outputs (stem ending in the suffix) are not inputs.
  const files = (await listImages(inDir)).filter((f) => !beside || !path.basename(f, path.extname(f)).endsWith(suffix));
  if (!files.length) throw new StudioError('BAD_INPUT', `No images in ${inDir}.`, { hint: `Supported: ${IMAGE_EXTS.join(' ')}` });
  await fsp.mkdir(outDir, { recursive: true });
  const used = new Set<string>();
  const res: FolderResult = { outDir, written: [], failed: [], total: files.length };
  for (let i = 0; i < files.length; i++) {
    await opts.checkpoint?.();
    const f = files[i]!;
    try {
      const { onProgress: _p, checkpoint, stamp, ...one } = opts;
      const target = path.join(outDir, outName(f, used, suffix));
      await refuseForeign(target);
      const r = await translateImage(m, f, { ...one, checkpoint });
      await writeFileAtomic(target, await stampTranslate(m, f, r, stamp));
      res.written.push(target);
    } catch (e) {
      if (e instanceof StudioError && e.code === 'CANCELLED') throw e;
      res.failed.push({ file: f, error: (e as Error).message });
    }
    opts.onProgress?.(i + 1, files.length, path.basename(f));
  }
  return res;
}

function latentSize(m: InferenceModel): number {
  const l = m.info.latentSize;
  if (!l) throw new StudioError('BAD_INPUT', `Model "${m.info.name}" (${m.info.kind}) has no latent space.`, { hint: 'Latent tools work with models that generate from a latent vector (generators, autoencoders).' });
  return l;
}

export interface GenerateOptions {
  seed: number;
  count: number;
  label?: number;
}

/** Images from seeds: sample i uses z = sampleZ(seed + i) so each image is reproducible alone. */
export async function generateImages(m: InferenceModel, o: GenerateOptions): Promise<(PngOut & { seed: number })[]> {
  if (isTranslator(m.info.capabilities)) throw new StudioError('BAD_INPUT', `Model "${m.info.name}" translates images; give it an input image instead of a seed.`);
  const L = latentSize(m);
  const z = new Float32Array(o.count * L);
  for (let i = 0; i < o.count; i++) z.set(sampleZ(o.seed + i, 1, L), i * L);
  const y = await m.generate({ z, n: o.count, ...(o.label !== undefined ? { labels: new Array(o.count).fill(o.label) } : {}) });
  const out: (PngOut & { seed: number })[] = [];
  for (let i = 0; i < o.count; i++) out.push({ ...(await modelToPng(y, m.info.channels, m.info.imageSize, { index: i })), seed: o.seed + i });
  return out;
}

export type ZRef = { seed: number } | { z: number[] };

export function zOf(ref: ZRef, L: number): Float32Array {
  if ('z' in ref) {
    if (ref.z.length !== L) throw new StudioError('BAD_INPUT', `The latent vector has ${ref.z.length} values; this model needs ${L}.`);
    return Float32Array.from(ref.z);
  }
  return sampleZ(ref.seed, 1, L);
}

export interface RenderRequest {
  z: ZRef;
  /** Arithmetic: z - minus + plus. */
  minus?: ZRef;
  plus?: ZRef;
  dims?: { index: number; value: number }[];
  moves?: { direction: number[]; amount: number; sigma?: number }[];
  label?: number;
  blend?: { a: number; b: number; t: number };
  labelWeights?: number[];
}

export function resolveZ(m: InferenceModel, r: RenderRequest): Float32Array {
  const L = latentSize(m);
  let z = zOf(r.z, L);
  if (r.minus || r.plus) z = arithmetic(z, r.minus ? zOf(r.minus, L) : new Float32Array(L), r.plus ? zOf(r.plus, L) : new Float32Array(L));
  if (r.dims?.length || r.moves?.length) z = applySliders(z, { dims: r.dims, moves: r.moves });
  return z;
}

/** One latent point -> PNG (fast path: cached session, light PNG compression). */
export async function renderLatent(m: InferenceModel, r: RenderRequest): Promise<PngOut & { z: number[]; ms: number }> {
  const t0 = performance.now();
  const z = resolveZ(m, r);
  let y: Float32Array;
  if (r.blend || r.labelWeights) {
    const classes = m.info.numClasses;
    if (!classes) throw new StudioError('BAD_INPUT', `Model "${m.info.name}" is not conditional: there are no classes to blend.`);
    let w: Float32Array;
    if (r.labelWeights) {
      if (r.labelWeights.length !== classes) throw new StudioError('BAD_INPUT', `Class weights need ${classes} values (got ${r.labelWeights.length}).`);
      w = Float32Array.from(r.labelWeights);
    } else w = classBlend(classes, r.blend!.a, r.blend!.b, r.blend!.t);
    y = await m.generate({ z, n: 1, labelWeights: w });
  } else {
    y = await m.generate({ z, n: 1, ...(r.label !== undefined ? { labels: [r.label] } : {}) });
  }
  const png = await modelToPng(y, m.info.channels, m.info.imageSize, { fast: true });
  return { ...png, z: Array.from(z), ms: performance.now() - t0 };
}

export interface InterpolateRequest {
  from?: ZRef;
  to?: ZRef;
  /** Autoencoder: two images (path or bytes), encoded to the endpoints. */
  fromImage?: string | Uint8Array;
  toImage?: string | Uint8Array;
  steps: number;
  mode: InterpMode;
  label?: number;
  blend?: { a: number; b: number };
}

/** Frames from A to B (inclusive). cgan `blend` moves the class from a to b along the path too. */
export async function interpolateLatent(m: InferenceModel, r: InterpolateRequest): Promise<{ frames: PngOut[]; z: number[][] }> {
  const L = latentSize(m);
  let a: Float32Array;
  let b: Float32Array;
  if (r.fromImage !== undefined || r.toImage !== undefined) {
    if (!m.info.capabilities.encode) throw new StudioError('BAD_INPUT', 'Interpolating between images needs a model with an encoder (an autoencoder).');
    if (r.fromImage === undefined || r.toImage === undefined) throw new StudioError('BAD_INPUT', 'Give both images (from and to).');
    const ia = await imageToModel(r.fromImage, m.info.imageSize, m.info.channels);
    const ib = await imageToModel(r.toImage, m.info.imageSize, m.info.channels);
    const both = new Float32Array(imageCount(m) * 2);
    both.set(ia.data, 0);
    both.set(ib.data, imageCount(m));
    const zs = await m.encode(both, 2);
    a = zs.slice(0, L);
    b = zs.slice(L, 2 * L);
  } else {
    if (!r.from || !r.to) throw new StudioError('BAD_INPUT', 'Give the two endpoints (from and to): seeds or vectors.');
    a = zOf(r.from, L);
    b = zOf(r.to, L);
  }
  const path_ = interpolate(a, b, r.steps, r.mode);
  const n = path_.length;
  const Z = new Float32Array(n * L);
  path_.forEach((z, i) => Z.set(z, i * L));
  let y: Float32Array;
  if (r.blend && m.info.numClasses) {
    const classes = m.info.numClasses;
    const w = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) w.set(classBlend(classes, r.blend.a, r.blend.b, i / (n - 1)), i * classes);
    y = await m.generate({ z: Z, n, labelWeights: w });
  } else if (m.info.capabilities.encode) {
    y = await m.decode(Z, n);
  } else {
    y = await m.generate({ z: Z, n, ...(r.label !== undefined ? { labels: new Array(n).fill(r.label) } : {}) });
  }
  const frames: PngOut[] = [];
  for (let i = 0; i < n; i++) frames.push(await modelToPng(y, m.info.channels, m.info.imageSize, { index: i, fast: true }));
  return { frames, z: path_.map((v) => Array.from(v)) };
}


type DirectionsResult = Directions & { space: 'features' | 'output'; layer?: string; samples: number };
const directionsCache = new WeakMap<InferenceModel, Map<string, Promise<DirectionsResult>>>();

/** Directions are deterministic for a model and request: computed once, then served from memory. */
export function latentDirections(m: InferenceModel, r: DirectionsRequest): Promise<DirectionsResult> {
  let per = directionsCache.get(m);
  if (!per) directionsCache.set(m, (per = new Map()));
  const key = JSON.stringify([r.count, r.samples, r.seed, r.space, r.label ?? null]);
  let p = per.get(key);
  if (!p) {
    p = computeDirections(m, r);
    per.set(key, p);
    p.catch(() => per!.delete(key));
  }
  return p;
}

async function computeDirections(m: InferenceModel, r: DirectionsRequest): Promise<DirectionsResult> {
  const L = latentSize(m);
  if (r.samples < r.count + 1) throw new StudioError('BAD_INPUT', `Use more samples (${r.samples}) than directions (${r.count}).`);
  const Z = sampleZ(r.seed, r.samples, L);
  const labels = m.hasLabels ? new Array(r.samples).fill(r.label ?? 0) : undefined;
  let space = r.space;
  let F: Float32Array | null = null;
  let d = 0;
  const chunk = 64;
  const collect = async (fn: (z: Float32Array, n: number, lab?: number[]) => Promise<{ data: Float32Array; per: number } | null>) => {
    const parts: Float32Array[] = [];
    for (let s = 0; s < r.samples; s += chunk) {
      const n = Math.min(chunk, r.samples - s);
      const res = await fn(Z.subarray(s * L, (s + n) * L), n, labels?.slice(s, s + n));
      if (!res) return null;
      d = res.per;
      parts.push(res.data);
    }
    const all = new Float32Array(r.samples * d);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return all;
  };
  if (space === 'features' && m.runtime === 'onnx') {
    F = await collect(async (z, n, lab) => {
      const f = await m.features({ z: Float32Array.from(z), n, ...(lab ? { labels: lab } : {}) });
      return f ? { data: f.features, per: f.perSample } : null;
    });
  }
  if (!F) {
    space = 'output';
    F = await collect(async (z, n, lab) => {
      const y = await m.generate({ z: Float32Array.from(z), n, ...(lab ? { labels: lab } : {}) });
      return { data: y, per: y.length / n };
    });
  }
  const gram = d > r.samples ? await gramOrt(centeredRows(F!, r.samples, d), r.samples, d) : undefined;
  const dirs = directionsFromFeatures(Z, F!, r.samples, L, d, r.count, r.seed, gram);
  return { ...dirs, space, ...(space === 'features' && m.featureNode ? { layer: m.featureNode } : {}), samples: r.samples };
}
