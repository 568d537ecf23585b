/**
 * The gallery's store: <workspace>/gallery/ holds saved PNGs (each with its atelier chunk) and
 * index.jsonl, one line per item (id, file, op, model, size, time, origin). Listing reads the
 * index only (a few hundred bytes per item, kept in memory until the file changes), never the
 * images, so thousands of items list in one read; thumbnails are made one item at a time.
 *
 * Every item carries provenance: a PNG without it is refused at the door, and the record is
 * written from the chunk the engine read and validated itself.
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { StudioError } from '../../../shared/errors';
import type { GalleryItem, GalleryPage } from '../../../shared/channels/gallery';
import type { Provenance, ProvenanceOp } from '../../../shared/provenance';
import type { Workspace } from '../core/workspace';
import { exists, writeFileAtomic } from '../core/fsutil';
import { readProvenance, readProvenanceFile } from '../infer/png-provenance';

export const galleryDir = (ws: Workspace) => path.join(ws.root, 'gallery');
const indexFile = (ws: Workspace) => path.join(galleryDir(ws), 'index.jsonl');

let cache: { file: string; mtimeMs: number; size: number; items: GalleryItem[] } | null = null;
/** Appends and rewrites of the index, one at a time (two saves at once must not lose a line). */
let chain: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const p = chain.then(fn, fn);
  chain = p.catch(() => undefined);
  return p;
}

async function readIndex(ws: Workspace): Promise<GalleryItem[]> {
  const file = indexFile(ws);
  const st = await fsp.stat(file).catch(() => null);
  if (!st) return [];
  if (cache && cache.file === file && cache.mtimeMs === st.mtimeMs && cache.size === st.size) return cache.items;
  const items: GalleryItem[] = [];
  for (const line of (await fsp.readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    try {
      items.push(JSON.parse(line) as GalleryItem);
    } catch {
      // A torn last line (a kill during an append) is skipped, not fatal.
    }
  }
  cache = { file, mtimeMs: st.mtimeMs, size: st.size, items };
  return items;
}

function itemOf(p: Provenance, file: string, origin: GalleryItem['origin'], name: string): GalleryItem {
  return {
    id: `${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`,
    file,
    name: name.slice(0, 255),
    op: p.op,
    model: { id: p.model.id, kind: p.model.kind },
    createdAt: p.createdAt,
    width: p.width,
    height: p.height,
    origin,
  };
}

async function append(ws: Workspace, items: GalleryItem[]): Promise<void> {
  if (!items.length) return;
  await serial(async () => {
    await fsp.mkdir(galleryDir(ws), { recursive: true });
    await fsp.appendFile(indexFile(ws), items.map((i) => JSON.stringify(i)).join('\n') + '\n');
  });
}

/** A file name from the user's name or the record: base name only, safe characters, .png. */
function fileName(p: Provenance, name: string | undefined): string {
  const stem = (name ? path.basename(name).replace(/\.[^.]*$/, '') : `${p.op}-${p.model.id}${p.seed !== undefined ? `-seed${p.seed}` : ''}`).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 80) || 'image';
  return `${stem}-${crypto.randomBytes(3).toString('hex')}.png`;
}

/** Save a stamped PNG into the gallery. */
export async function addToGallery(ws: Workspace, png: Uint8Array, name?: string): Promise<GalleryItem> {
  const p = await readProvenance(png);
  if (!p) throw new StudioError('BAD_INPUT', 'This PNG carries no Atelier provenance: the gallery keeps outputs Atelier made (and earlier outputs imported back).');
  const file = path.join(galleryDir(ws), fileName(p, name));
  await fsp.mkdir(galleryDir(ws), { recursive: true });
  await writeFileAtomic(file, png);
  const item = itemOf(p, file, 'saved', name ?? path.basename(file));
  await append(ws, [item]);
  return item;
}

/** Record files a job wrote (a folder translation): listed where they are, read back for their chunk. */
export async function recordFiles(ws: Workspace, files: string[]): Promise<number> {
  const items: GalleryItem[] = [];
  for (const f of files) {
    const p = await readProvenanceFile(f).catch(() => null);
    if (p) items.push(itemOf(p, f, 'folder', path.basename(f)));
  }
  await append(ws, items);
  return items.length;
}

export async function listGallery(ws: Workspace, q: { offset: number; limit: number; model?: string; kind?: string; op?: ProvenanceOp }): Promise<GalleryPage> {
  const all = await readIndex(ws);
  const uniq = <T>(xs: T[]) => [...new Set(xs)].sort();
  const hit = all.filter((i) => (!q.model || i.model.id === q.model) && (!q.kind || i.model.kind === q.kind) && (!q.op || i.op === q.op));
  // Newest first: the index is in insertion order, so walk it from the end.
  const items: GalleryItem[] = [];
  for (let k = hit.length - 1 - q.offset; k >= 0 && items.length < q.limit; k--) items.push(hit[k]!);
  return { items, total: hit.length, models: uniq(all.map((i) => i.model.id)), kinds: uniq(all.map((i) => i.model.kind)), ops: uniq(all.map((i) => i.op)) };
}

export async function galleryItem(ws: Workspace, id: string): Promise<GalleryItem> {
  const item = (await readIndex(ws)).find((i) => i.id === id);
  if (!item) throw new StudioError('NOT_FOUND', `No gallery item ${id}.`, { hint: 'It may have been deleted; refresh the gallery.' });
  return item;
}

async function readItemFile(item: GalleryItem): Promise<Buffer> {
  try {
    return await fsp.readFile(item.file);
  } catch {
    throw new StudioError('NOT_FOUND', `The file of "${item.name}" is gone (${item.file}).`, { hint: 'Delete the item to forget it.' });
  }
}

export async function galleryThumb(ws: Workspace, id: string, size: number): Promise<{ png: Uint8Array; width: number; height: number }> {
  const item = await galleryItem(ws, id);
  const buf = await readItemFile(item);
  // Small outputs (32 px) are upscaled pixel-exact; larger ones shrink smoothly.
  const up = Math.max(item.width, item.height) < size;
  const out = await sharp(buf).resize(size, size, { fit: 'inside', kernel: up ? 'nearest' : 'lanczos3' }).png({ compressionLevel: 3 }).toBuffer({ resolveWithObject: true });
  return { png: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength), width: out.info.width, height: out.info.height };
}

export async function galleryGet(ws: Workspace, id: string): Promise<{ item: GalleryItem; png: Uint8Array; provenance: Provenance | null }> {
  const item = await galleryItem(ws, id);
  const buf = await readItemFile(item);
  const png = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return { item, png, provenance: await readProvenance(png) };
}

export async function galleryDelete(ws: Workspace, id: string): Promise<{ deleted: boolean; fileRemoved: boolean }> {
  return serial(async () => {
    const all = await readIndex(ws);
    const item = all.find((i) => i.id === id);
    if (!item) throw new StudioError('NOT_FOUND', `No gallery item ${id}.`);
    let fileRemoved = false;
    // Only a copy the gallery owns is deleted; a folder translation's file is the user's.
    const rel = path.relative(galleryDir(ws), item.file);
    if (item.origin === 'saved' && !rel.startsWith('..') && !path.isAbsolute(rel) && (await exists(item.file))) {
      await fsp.rm(item.file);
      fileRemoved = true;
    }
    const rest = all.filter((i) => i.id !== id);
    await writeFileAtomic(indexFile(ws), rest.map((i) => JSON.stringify(i)).join('\n') + (rest.length ? '\n' : ''));
    return { deleted: true, fileRemoved };
  });
}
