/** One page of a dataset's images as PNG thumbnails (bytes, never JSON arrays). */
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetManifest, DatasetThumb } from '../../../shared/channels/dataset';
import { idxImage, readIdx, type IdxArray } from './idx';
import { thumbnailPng } from './normalize';

/** Parsed idx files of recently paged datasets (Fashion-MNIST is 26 MB gzipped: parse it once). */
const idxCache = new Map<string, { mtimeMs: number; arr: IdxArray }>();
const IDX_CACHE_MAX = 6;

async function cachedIdx(file: string): Promise<IdxArray> {
  const st = await fsp.stat(file);
  const hit = idxCache.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit.arr;
  const arr = await readIdx(file);
  idxCache.set(file, { mtimeMs: st.mtimeMs, arr });
  while (idxCache.size > IDX_CACHE_MAX) idxCache.delete(idxCache.keys().next().value!);
  return arr;
}

export async function datasetPage(
  dir: string,
  m: DatasetManifest,
  opts: { split: 'train' | 'test'; offset: number; limit: number; thumbSize: number },
): Promise<{ items: DatasetThumb[]; total: number }> {
  const out: DatasetThumb[] = [];
  if (m.storage === 'files') {
    const items = (m.items ?? []).filter((it) => it.split === opts.split);
    const page = items.slice(opts.offset, opts.offset + opts.limit);
    for (let k = 0; k < page.length; k++) {
      const it = page[k]!;
      for (const role of ['a', 'b', 'x'] as const) {
        const rel = it.files[role];
        if (!rel) continue;
        const { data, info } = await sharp(path.join(dir, rel)).raw().toBuffer({ resolveWithObject: true });
        const t = await thumbnailPng({ data, width: info.width, height: info.height, channels: info.channels }, opts.thumbSize);
        out.push({ index: opts.offset + k, name: it.name, split: it.split, role, ...(it.label !== undefined ? { label: it.label } : {}), ...t });
      }
    }
    return { items: out, total: items.length };
  }
  const split = m.packed![opts.split];
  const arrays: Partial<Record<'a' | 'b' | 'x', IdxArray>> = {};
  for (const role of ['a', 'b', 'x'] as const) if (split.images[role]) arrays[role] = await cachedIdx(path.join(dir, split.images[role]!));
  const labels = split.labels ? (await cachedIdx(path.join(dir, split.labels))).data : null;
  const total = Math.max(0, ...Object.values(split.count).map((n) => n ?? 0));
  const end = Math.min(total, opts.offset + opts.limit);
  for (let i = opts.offset; i < end; i++) {
    for (const role of ['a', 'b', 'x'] as const) {
      const arr = arrays[role];
      if (!arr || i >= arr.dims[0]!) continue;
      const t = await thumbnailPng(idxImage(arr, i), opts.thumbSize);
      out.push({ index: i, name: String(i), split: opts.split, role, ...(labels ? { label: labels[i]! } : {}), ...t });
    }
  }
  return { items: out, total };
}
