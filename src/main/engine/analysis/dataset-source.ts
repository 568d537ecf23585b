/**
 * Rows for the analyses from an imported dataset: each image flattened (HWC) with pixels in
 * [0, 1]. Packed datasets (idx) are read in one go; file datasets are decoded with sharp.
 * When the split holds more images than `limit`, a seeded random subset is taken (sorted by
 * index), so the same request always analyses the same images.
 *
 * Packed files are decoded once and kept (idxCached): the Explore page asks for PCA, then
 * k-means, then k-means again at every k, each on the same rows, and unzipping 60,000
 * Fashion-MNIST images (47 MB) took 0.5-2 s of each request on this machine.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import sharp from 'sharp';
import type { DatasetManifest } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import { type IdxArray, parseIdx } from '../data/idx';
import { datasetDir, readManifest } from '../data/store';
import type { Workspace } from '../core/workspace';
import type { Matrix } from './matrix';
import { Rng } from './rng';

export interface DatasetMatrix {
  matrix: Matrix;
  /** Split index of each row. */
  indices: number[];
  labels?: number[];
  classes?: string[];
  image: { width: number; height: number; channels: number };
  total: number;
  description: string;
}

export interface DatasetMatrixOptions {
  split?: 'train' | 'test' | 'val';
  role?: 'a' | 'b' | 'x';
  seed?: number;
}

/** Indices 0..total-1, or a seeded random subset of `limit` of them, ascending. */
export function subsetIndices(total: number, limit: number | undefined, seed: number): number[] {
  if (limit === undefined || limit >= total) return Array.from({ length: total }, (_, i) => i);
  const rng = new Rng(seed);
  const idx = new Int32Array(total);
  for (let i = 0; i < total; i++) idx[i] = i;
  for (let i = 0; i < limit; i++) {
    const j = i + rng.int(total - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return Array.from(idx.subarray(0, limit)).sort((a, b) => a - b);
}

const gunzip = promisify(zlib.gunzip);

/** Decoded idx files by path, size and mtime (a re-import changes them), most recent last. */
const idxCache = new Map<string, { key: string; arr: Promise<IdxArray>; bytes: number }>();
/** Decoded bytes kept at most (Fashion-MNIST's training images are 47 MB). */
export const IDX_CACHE_BYTES = 192 << 20;

/**
 * An idx file (gzipped or not) decoded, from the cache when the file is unchanged. Unzipping
 * runs off the engine's thread (zlib's pool), so other requests are answered meanwhile.
 */
export async function idxCached(file: string): Promise<IdxArray> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    throw new StudioError('NOT_FOUND', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  const key = `${st.size}|${st.mtimeMs}`;
  const hit = idxCache.get(file);
  if (hit && hit.key === key) {
    // most recently used last
    idxCache.delete(file);
    idxCache.set(file, hit);
    return hit.arr;
  }
  const arr = (async () => {
    let buf: Uint8Array = await fsp.readFile(file);
    if (buf.byteLength >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
      try {
        buf = await gunzip(buf);
      } catch (e) {
        throw new StudioError('BAD_INPUT', `${file} is a damaged gzip file: ${(e as Error).message}.`, { hint: 'Re-import the dataset.' });
      }
    }
    return parseIdx(buf, file);
  })();
  const entry = { key, arr, bytes: 0 };
  idxCache.delete(file);
  idxCache.set(file, entry);
  try {
    entry.bytes = (await arr).data.byteLength;
  } catch (e) {
    if (idxCache.get(file) === entry) idxCache.delete(file);
    throw e;
  }
  let total = 0;
  for (const v of idxCache.values()) total += v.bytes;
  for (const [f, v] of idxCache) {
    if (total <= IDX_CACHE_BYTES || v === entry) break;
    idxCache.delete(f);
    total -= v.bytes;
  }
  return arr;
}

/** Forget the decoded files (tests; memory). */
export function clearIdxCache(): void {
  idxCache.clear();
}

export async function loadDatasetMatrix(
  ctx: { workspace: Workspace },
  id: string,
  limit?: number,
  opts: DatasetMatrixOptions = {},
): Promise<DatasetMatrix> {
  const dir = datasetDir(ctx.workspace, id);
  const m: DatasetManifest = await readManifest(dir);
  const split = opts.split ?? 'train';
  const role = opts.role ?? (m.kind === 'labeled' || m.kind === 'fashion-mnist' ? 'x' : 'a');
  const { width: w, height: h, channels: c } = m.image;
  const per = w * h * c;
  let total: number;
  let indices: number[];
  let labels: number[] | undefined;
  const data = { buf: new Float32Array(0) };
  if (m.storage === 'packed') {
    const rel = m.packed?.[split]?.images[role];
    if (!rel) throw new StudioError('NOT_FOUND', `Dataset "${id}" has no ${role === 'x' ? '' : `${role} `}images in its ${split} split.`, { hint: roleHint(m) });
    const arr = await idxCached(path.join(dir, rel));
    total = arr.dims[0];
    const perStored = arr.dims.slice(1).reduce((a, b) => a * b, 1);
    if (perStored !== per) throw new StudioError('BAD_INPUT', `Dataset "${id}" stores ${perStored} values per image but its manifest says ${w}x${h}x${c}.`, { hint: 'Re-import the dataset.' });
    indices = subsetIndices(total, limit, opts.seed ?? 0);
    data.buf = new Float32Array(indices.length * per);
    const buf = data.buf;
    const bytes = arr.data;
    for (let r = 0; r < indices.length; r++) {
      const o = indices[r]! * per;
      const to = r * per;
      for (let j = 0; j < per; j++) buf[to + j] = bytes[o + j]! / 255;
    }
    const lrel = m.packed?.[split]?.labels;
    if (lrel) {
      const la = await idxCached(path.join(dir, lrel));
      labels = indices.map((i) => la.data[i]);
    }
  } else {
    const items = (m.items ?? []).filter((it) => it.split === split && it.files[role]);
    total = items.length;
    if (total === 0) throw new StudioError('NOT_FOUND', `Dataset "${id}" has no ${role} images in its ${split} split.`, { hint: roleHint(m) });
    indices = subsetIndices(total, limit, opts.seed ?? 0);
    data.buf = new Float32Array(indices.length * per);
    const BATCH = 8;
    for (let s = 0; s < indices.length; s += BATCH) {
      await Promise.all(
        indices.slice(s, s + BATCH).map(async (src, t) => {
          const file = path.join(dir, items[src].files[role]!);
          const raw = await sharp(file)
            .toColourspace(c === 1 ? 'b-w' : 'srgb')
            .removeAlpha()
            .resize(w, h, { fit: 'fill' })
            .raw({ depth: 'uchar' })
            .toBuffer({ resolveWithObject: true })
            .catch((e: Error) => {
              throw new StudioError('BAD_INPUT', `Cannot decode ${file}: ${e.message.split('\n')[0]}`, { hint: 'Re-import the dataset.' });
            });
          if (raw.info.channels !== c) throw new StudioError('BAD_INPUT', `${file} has ${raw.info.channels} channels; the dataset says ${c}.`);
          const r = s + t;
          for (let j = 0; j < per; j++) data.buf[r * per + j] = raw.data[j] / 255;
        }),
      );
    }
    if (m.kind === 'labeled') labels = indices.map((i) => items[i].label ?? 0);
  }
  return {
    matrix: { rows: indices.length, cols: per, data: data.buf },
    indices,
    ...(labels ? { labels } : {}),
    ...(m.classes ? { classes: m.classes } : {}),
    image: { width: w, height: h, channels: c },
    total,
    description: `${m.name} (${split}${role === 'x' ? '' : ` ${role}`}, ${indices.length === total ? `all ${total}` : `${indices.length} of ${total}`} images, ${w}x${h}x${c})`,
  };
}

function roleHint(m: DatasetManifest): string {
  return m.kind === 'paired' || m.kind === 'unpaired' ? 'Pick role a or b for a paired/unpaired dataset.' : 'Labeled datasets use role x.';
}
