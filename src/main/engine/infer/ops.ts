/**
 * What the channels and the CLI do with a loaded model: translate an image or a folder, generate
 * from seeds, render a latent point, interpolate, find directions.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../../shared/errors';
import { writeFileAtomic } from '../core/fsutil';
import { imageToModel, modelToPng, restoreGeometry, type Fit, type PngOut } from './image';
import { gramOrt } from './gram';
import { applySliders, arithmetic, centeredRows, classBlend, directionsFromFeatures, interpolate, sampleZ, type Directions, type InterpMode } from './latent';
import { isTranslator, type InferenceModel } from './model';

export const IMAGE_EXTS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface TranslateOptions {
  /** Map the output back onto the input's size and aspect (see restoreGeometry). Default true. */
  keepSize?: boolean;
  fit?: Fit;
}

function imageCount(m: InferenceModel): number {
  return m.info.channels * m.info.imageSize * m.info.imageSize;
}

/** Translate one image (path or bytes) -> PNG. Autoencoders reconstruct. */
export async function translateImage(m: InferenceModel, src: string | Uint8Array, opts: TranslateOptions = {}): Promise<PngOut & { inputWidth: number; inputHeight: number; ms: number }> {
  if (!isTranslator(m.info.kind) && m.info.kind !== 'autoencoder') {
    throw new StudioError('BAD_INPUT', `Model "${m.info.name}" is a ${m.info.kind}: it generates from noise and does not translate images.`, { hint: 'Use generate or the Latent page.' });
  }
  const t0 = performance.now();
  const img = await imageToModel(src, m.info.imageSize, m.info.inChannels, opts.fit ?? 'fill');
  const y = await m.translate(img.data, 1);
  const out = await modelToPng(y, m.info.channels, m.info.imageSize, opts.keepSize === false ? {} : restoreGeometry(opts.fit ?? 'fill', m.info.imageSize, img.width, img.height));
  return { ...out, inputWidth: img.width, inputHeight: img.height, ms: performance.now() - t0 };
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

/** Output name for an input file: same stem, .png (collisions like a.jpg + a.png get a suffix). */
function outName(file: string, used: Set<string>): string {
  const stem = path.basename(file, path.extname(file));
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

export async function translateFolder(
  m: InferenceModel,
  inDir: string,
  outDir: string,
  opts: TranslateOptions & { onProgress?: FolderProgress; checkpoint?: () => Promise<void> } = {},
): Promise<FolderResult> {
  const files = await listImages(inDir);
  if (!files.length) throw new StudioError('BAD_INPUT', `No images in ${inDir}.`, { hint: `Supported: ${IMAGE_EXTS.join(' ')}` });
  if (path.resolve(inDir) === path.resolve(outDir)) throw new StudioError('BAD_INPUT', 'The output folder must differ from the input folder (names are kept).');
  await fsp.mkdir(outDir, { recursive: true });
  const used = new Set<string>();
  const res: FolderResult = { outDir, written: [], failed: [], total: files.length };
  for (let i = 0; i < files.length; i++) {
    await opts.checkpoint?.();
    const f = files[i]!;
    try {
      const r = await translateImage(m, f, opts);
      const target = path.join(outDir, outName(f, used));
      await writeFileAtomic(target, r.png);
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
  if (!l) throw new StudioError('BAD_INPUT', `Model "${m.info.name}" (${m.info.kind}) has no latent space.`, { hint: 'Latent tools work with gan, cgan and autoencoder models.' });
  return l;
}

export interface GenerateOptions {
  seed: number;
  count: number;
  label?: number;
}

/** Images from seeds: sample i uses z = sampleZ(seed + i) so each image is reproducible alone. */
export async function generateImages(m: InferenceModel, o: GenerateOptions): Promise<(PngOut & { seed: number })[]> {
  if (isTranslator(m.info.kind)) throw new StudioError('BAD_INPUT', `Model "${m.info.name}" translates images; give it an input image instead of a seed.`);
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
    if (m.info.kind !== 'autoencoder') throw new StudioError('BAD_INPUT', 'Interpolating between images needs an autoencoder model.');
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
  } else if (m.info.kind === 'autoencoder') {
    y = await m.decode(Z, n);
  } else {
    y = await m.generate({ z: Z, n, ...(r.label !== undefined ? { labels: new Array(n).fill(r.label) } : {}) });
  }
  const frames: PngOut[] = [];
  for (let i = 0; i < n; i++) frames.push(await modelToPng(y, m.info.channels, m.info.imageSize, { index: i, fast: true }));
  return { frames, z: path_.map((v) => Array.from(v)) };
}

export interface DirectionsRequest {
  count: number;
  samples: number;
  seed: number;
  /** 'features': an early activation (GANSpace); 'output': the generated pixels. */
  space: 'features' | 'output';
  label?: number;
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
