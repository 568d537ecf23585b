/**
 * Rows for the analyses from an imported dataset: each image flattened (HWC) with pixels in
 * [0, 1]. Packed datasets (idx) are read in one go; file datasets are decoded with sharp.
 * When the split holds more images than `limit`, a seeded random subset is taken (sorted by
 * index), so the same request always analyses the same images.
 */
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetManifest } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import { readIdx } from '../data/idx';
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
  split?: 'train' | 'test';
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
    const arr = await readIdx(path.join(dir, rel));
    total = arr.dims[0];
    const perStored = arr.dims.slice(1).reduce((a, b) => a * b, 1);
    if (perStored !== per) throw new StudioError('BAD_INPUT', `Dataset "${id}" stores ${perStored} values per image but its manifest says ${w}x${h}x${c}.`, { hint: 'Re-import the dataset.' });
    indices = subsetIndices(total, limit, opts.seed ?? 0);
    data.buf = new Float32Array(indices.length * per);
    indices.forEach((src, r) => {
      const o = src * per;
      for (let j = 0; j < per; j++) data.buf[r * per + j] = arr.data[o + j] / 255;
    });
    const lrel = m.packed?.[split]?.labels;
    if (lrel) {
      const la = await readIdx(path.join(dir, lrel));
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
