/**
 * Colour demo datasets cut from real photographs: Debian's mate-backgrounds nature photos
 * (12 JPEGs, 1280-2560 px, GPL-2+; /usr/share/backgrounds/mate/nature). Nothing is copied
 * into the repository: the builder reads the installed package and says what to install when
 * it is absent.
 *
 *   demo-nature-colorize  paired, 128x128x3: A = the crop in grey (sharp's b-w, the conversion
 *                         translate applies to a 1-channel model's input, stored as R=G=B),
 *                         B = the crop in colour. 240 crops per training photo, 64 per
 *                         held-out photo.
 *   demo-green2autumn     unpaired, 128x128x3: A = green foliage crops, B = autumn (red, orange,
 *                         yellow) crops, chosen by analysis/colour.ts foliageDomain from 600
 *                         candidate crops per photo; at most 250 per photo and domain (train),
 *                         64 (test).
 *
 * Crops are multi-scale: the side on the photo is log-uniform between 128 px and min(768,
 * the photo's short side), resized (lanczos3) to 128 px, so a patch shows the photo at 1x to 6x
 * reduction. Positions and sides come from DataRng(mixSeed(seed, salt, photo index)) over the
 * photos sorted by name: the same photos and seed give the same bytes.
 * Whole photos are held out for the test split (HELD_OUT); no crop of them is in any train split.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetManifest, DatasetSourceFile, PackedSplit } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import { foliageDomain, hueShares, type FoliageDomain } from '../analysis/colour';
import { makeTempDirBeside, publishDir, writeJsonAtomic } from '../core/fsutil';
import type { Workspace } from '../core/workspace';
import { encodeIdx } from './idx';
import { gzipStable } from './import';
import { DataRng, mixSeed } from './rng';
import { contentHashOf, datasetDir, MANIFEST, readManifest, SCHEMA_VERSION, sha256 } from './store';

export const NATURE_DIR = '/usr/share/backgrounds/mate/nature';
export const NATURE_PACKAGE = 'mate-backgrounds';
export const NATURE_COPYRIGHT = '/usr/share/doc/mate-backgrounds/copyright';
export const PHOTO_DEMO_VERSION = 1;
export const PHOTO_DEMO_IDS = ['demo-nature-colorize', 'demo-green2autumn'] as const;
/** Whole photos kept for evaluation: a green meadow and an orange close-up. */
export const HELD_OUT = ['GreenMeadow.jpg', 'TwoWings.jpg'];
const PHOTO_EXT = /\.(jpe?g|png|webp)$/i;

export interface PhotoDemoOptions {
  /** Photo folder; default $ATELIER_NATURE_DIR or NATURE_DIR. */
  dir?: string;
  /** Debian copyright file to read licences from; default NATURE_COPYRIGHT. */
  copyright?: string;
  seed?: number;
  /** Patch side. */
  size?: number;
  minCrop?: number;
  maxCrop?: number;
  heldOut?: string[];
  colorizeTrain?: number;
  colorizeTest?: number;
  foliageCandidates?: number;
  foliageTrain?: number;
  foliageTest?: number;
}

const DEFAULTS = { seed: 0, size: 128, minCrop: 128, maxCrop: 768, colorizeTrain: 240, colorizeTest: 64, foliageCandidates: 600, foliageTrain: 250, foliageTest: 64 };

export function natureDir(): string {
  return process.env.ATELIER_NATURE_DIR ?? NATURE_DIR;
}

export function listPhotos(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => PHOTO_EXT.test(n))
      .sort();
  } catch {
    return [];
  }
}

/** Why the photo demos cannot be built here, and what to install; null when they can. */
export function photoSourceMissing(dir = natureDir()): { message: string; hint: string } | null {
  if (listPhotos(dir).length >= 2) return null;
  return {
    message: `No nature photos in ${dir}: the colour demo datasets (nature-colorize, green2autumn) are built from Debian's ${NATURE_PACKAGE}.`,
    hint: `Install it (sudo apt-get install ${NATURE_PACKAGE}) or set ATELIER_NATURE_DIR to a folder of at least two photos, then run: atelier dataset demo`,
  };
}

/** Licence of each file from a Debian machine-readable copyright file (DEP-5). */
export function parseDebianCopyright(text: string): { files: string[]; copyright: string; license: string }[] {
  const out: { files: string[]; copyright: string; license: string }[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const fields: Record<string, string[]> = {};
    let cur: string | null = null;
    for (const line of para.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m && !/^\s/.test(line)) {
        cur = m[1]!.toLowerCase();
        fields[cur] = m[2] ? [m[2].trim()] : [];
      } else if (cur && /^\s/.test(line) && line.trim() !== '.') fields[cur]!.push(line.trim());
    }
    if (fields.files && fields.license) {
      out.push({ files: fields.files.join(' ').split(/\s+/).filter(Boolean), copyright: (fields.copyright ?? []).join('; '), license: fields.license[0] ?? '' });
    }
  }
  return out;
}

function globMatch(pattern: string, file: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(file);
}

function licenceOf(paras: ReturnType<typeof parseDebianCopyright>, rel: string): { copyright: string; license: string } {
  // DEP-5: the last matching paragraph wins.
  let hit: { copyright: string; license: string } | null = null;
  for (const p of paras) if (p.files.some((f) => globMatch(f, rel))) hit = p;
  return hit ?? { copyright: 'unknown (no entry in the copyright file)', license: 'unknown' };
}

interface Photo {
  name: string;
  index: number;
  split: 'train' | 'test';
  raw: Buffer;
  width: number;
  height: number;
  sha256: string;
}

async function loadPhoto(dir: string, name: string, index: number, split: 'train' | 'test'): Promise<Photo> {
  const file = path.join(dir, name);
  const bytes = await fsp.readFile(file);
  const { data, info } = await sharp(bytes).rotate().flatten({ background: '#000000' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { name, index, split, raw: data, width: info.width, height: info.height, sha256: sha256(new Uint8Array(bytes)) };
}

/** One multi-scale square crop, resized to size x size RGB. */
async function cropAt(p: Photo, left: number, top: number, side: number, size: number): Promise<Uint8Array> {
  const out = await sharp(p.raw, { raw: { width: p.width, height: p.height, channels: 3 } })
    .extract({ left, top, width: side, height: side })
    .resize(size, size, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function* cropBoxes(p: Photo, n: number, seed: number, salt: number, o: typeof DEFAULTS): Generator<{ left: number; top: number; side: number }> {
  const rng = new DataRng(mixSeed(seed, salt, p.index));
  const hi = Math.min(o.maxCrop, p.width, p.height);
  const lo = Math.min(o.minCrop, hi);
  for (let i = 0; i < n; i++) {
    const side = Math.round(Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo))));
    yield { side, left: rng.int(p.width - side + 1), top: rng.int(p.height - side + 1) };
  }
}

/** Grey as translate makes it for a 1-channel model (sharp b-w), repeated to R=G=B. */
async function greyRgb(rgb: Uint8Array, size: number): Promise<Uint8Array> {
  const g = await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).toColourspace('b-w').raw().toBuffer();
  const c = g.length / (size * size);
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = g[i * c]!;
  return out;
}

type Roles = Record<'a' | 'b', Uint8Array[]>;
interface Built {
  train: Roles;
  test: Roles;
  perPhoto: Map<string, number>;
}

async function buildColorize(photos: Photo[], o: typeof DEFAULTS): Promise<Built> {
  const out: Built = { train: { a: [], b: [] }, test: { a: [], b: [] }, perPhoto: new Map() };
  for (const p of photos) {
    const n = p.split === 'train' ? o.colorizeTrain : o.colorizeTest;
    for (const box of cropBoxes(p, n, o.seed, 1, o)) {
      const rgb = await cropAt(p, box.left, box.top, box.side, o.size);
      out[p.split].a.push(await greyRgb(rgb, o.size));
      out[p.split].b.push(rgb);
    }
    out.perPhoto.set(p.name, n);
  }
  return out;
}

async function buildFoliage(photos: Photo[], o: typeof DEFAULTS): Promise<Built> {
  const out: Built = { train: { a: [], b: [] }, test: { a: [], b: [] }, perPhoto: new Map() };
  const role: Record<FoliageDomain, 'a' | 'b'> = { green: 'a', autumn: 'b' };
  for (const p of photos) {
    const cap = p.split === 'train' ? o.foliageTrain : o.foliageTest;
    const got = { a: 0, b: 0 };
    for (const box of cropBoxes(p, o.foliageCandidates, o.seed, 2, o)) {
      if (got.a >= cap && got.b >= cap) break;
      const rgb = await cropAt(p, box.left, box.top, box.side, o.size);
      const d = foliageDomain(hueShares({ data: rgb, channels: 3, scale: 255 }));
      if (!d || got[role[d]] >= cap) continue;
      got[role[d]]++;
      out[p.split][role[d]].push(rgb);
    }
    out.perPhoto.set(p.name, got.a + got.b);
  }
  return out;
}

async function writeDataset(ws: Workspace, id: string, name: string, kind: 'paired' | 'unpaired', data: Built, photos: Photo[], dir: string, licences: ReturnType<typeof parseDebianCopyright>, o: typeof DEFAULTS): Promise<DatasetManifest> {
  const final = datasetDir(ws, id);
  const tmp = await makeTempDirBeside(final);
  try {
    const fileHashes: Record<string, string> = {};
    const packed: { train: PackedSplit; test: PackedSplit } = { train: { images: {}, count: {} }, test: { images: {}, count: {} } };
    const per = o.size * o.size * 3;
    for (const split of ['train', 'test'] as const) {
      await fsp.mkdir(path.join(tmp, split), { recursive: true });
      for (const r of ['a', 'b'] as const) {
        const imgs = data[split][r];
        const buf = new Uint8Array(imgs.length * per);
        imgs.forEach((im, k) => buf.set(im, k * per));
        const rel = `${split}/${r}-images-idx3-ubyte.gz`;
        const gz = gzipStable(encodeIdx({ dims: [imgs.length, o.size, o.size, 3], data: buf }, false));
        await fsp.writeFile(path.join(tmp, rel), gz);
        fileHashes[rel] = sha256(gz);
        packed[split].images[r] = rel;
        packed[split].count[r] = imgs.length;
      }
    }
    const sources: DatasetSourceFile[] = photos.map((p) => ({
      file: p.name,
      sha256: p.sha256,
      width: p.width,
      height: p.height,
      split: p.split,
      items: data.perPhoto.get(p.name) ?? 0,
      package: dir === NATURE_DIR ? NATURE_PACKAGE : null,
      ...licenceOf(licences, `nature/${p.name}`),
    }));
    const n = (s: PackedSplit) => Math.max(s.count.a ?? 0, s.count.b ?? 0);
    const counts: DatasetManifest['counts'] = { train: n(packed.train), test: n(packed.test), warnings: 0, skipped: 0 };
    if (kind === 'unpaired') {
      counts.a = (packed.train.count.a ?? 0) + (packed.test.count.a ?? 0);
      counts.b = (packed.train.count.b ?? 0) + (packed.test.count.b ?? 0);
    }
    const manifest: DatasetManifest = {
      schemaVersion: SCHEMA_VERSION,
      id,
      name,
      kind,
      createdAt: new Date().toISOString(),
      source: { layout: 'idx', path: dir, demo: `${name}@${PHOTO_DEMO_VERSION}`, from: dir === NATURE_DIR ? NATURE_PACKAGE : 'folder' },
      image: { width: o.size, height: o.size, channels: 3 },
      counts,
      storage: 'packed',
      packed,
      sources,
      fileHashes,
      contentHash: contentHashOf(fileHashes),
      options: { size: o.size, fit: 'cover', background: '#000000', seed: o.seed, testFraction: photos.filter((p) => p.split === 'test').length / photos.length },
    };
    await writeJsonAtomic(path.join(tmp, MANIFEST), manifest);
    await publishDir(tmp, final);
    return manifest;
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function upToDate(ws: Workspace, id: string): Promise<boolean> {
  try {
    return (await readManifest(datasetDir(ws, id))).source.demo?.endsWith(`@${PHOTO_DEMO_VERSION}`) ?? false;
  } catch {
    return false;
  }
}

/**
 * Build the colour photo demos that are missing (all with force). Throws UNAVAILABLE with what
 * to install when the photos are absent. `progress` gets one line per step.
 */
export async function buildPhotoDemos(ws: Workspace, opts: PhotoDemoOptions & { force?: boolean; progress?: (message: string) => void; checkpoint?: () => Promise<void> } = {}): Promise<string[]> {
  const dir = opts.dir ?? natureDir();
  const missing = photoSourceMissing(dir);
  if (missing) throw new StudioError('UNAVAILABLE', missing.message, { hint: missing.hint });
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in DEFAULTS && v !== undefined)) } as typeof DEFAULTS;
  const todo: (typeof PHOTO_DEMO_IDS)[number][] = [];
  for (const id of PHOTO_DEMO_IDS) if (opts.force || !(await upToDate(ws, id))) todo.push(id);
  if (!todo.length) return [];
  const names = listPhotos(dir);
  let held = (opts.heldOut ?? HELD_OUT).filter((h) => names.includes(h));
  if (!held.length) held = [names[names.length - 1]!]; // another folder: hold out its last photo
  const photos: Photo[] = [];
  for (const [i, nm] of names.entries()) {
    opts.progress?.(`reading ${nm}`);
    await opts.checkpoint?.();
    photos.push(await loadPhoto(dir, nm, i, held.includes(nm) ? 'test' : 'train'));
  }
  let licences: ReturnType<typeof parseDebianCopyright> = [];
  try {
    licences = parseDebianCopyright(await fsp.readFile(opts.copyright ?? NATURE_COPYRIGHT, 'utf8'));
  } catch {
    // another folder or no doc: the manifest says "unknown"
  }
  const built: string[] = [];
  for (const id of todo) {
    opts.progress?.(`cutting ${id}`);
    await opts.checkpoint?.();
    if (id === 'demo-nature-colorize') await writeDataset(ws, id, 'nature-colorize', 'paired', await buildColorize(photos, o), photos, dir, licences, o);
    else await writeDataset(ws, id, 'green2autumn', 'unpaired', await buildFoliage(photos, o), photos, dir, licences, o);
    built.push(id);
  }
  return built;
}

/**
 * The test splits of both photo demos, cut from the held-out photos only (the same crops
 * `buildPhotoDemos` stores, without decoding the training photos): shipped-model checks
 * re-measure their cards with it.
 */
export async function heldOutSets(opts: PhotoDemoOptions = {}): Promise<{ colorize: { grey: Uint8Array[]; colour: Uint8Array[] }; foliage: { a: Uint8Array[]; b: Uint8Array[] }; size: number }> {
  const dir = opts.dir ?? natureDir();
  const missing = photoSourceMissing(dir);
  if (missing) throw new StudioError('UNAVAILABLE', missing.message, { hint: missing.hint });
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in DEFAULTS && v !== undefined)) } as typeof DEFAULTS;
  const names = listPhotos(dir);
  let held = (opts.heldOut ?? HELD_OUT).filter((h) => names.includes(h));
  if (!held.length) held = [names[names.length - 1]!];
  const photos: Photo[] = [];
  for (const [i, nm] of names.entries()) if (held.includes(nm)) photos.push(await loadPhoto(dir, nm, i, 'test'));
  const c = await buildColorize(photos, o);
  const f = await buildFoliage(photos, o);
  return { colorize: { grey: c.test.a, colour: c.test.b }, foliage: f.test, size: o.size };
}
