/**
 * Colour demo datasets cut from real photographs: Debian's mate-backgrounds nature photos
 * (12 JPEGs, 1280-2560 px, GPL-2+; /usr/share/backgrounds/mate/nature), and for the colouriser
 * also the photographs (not the illustrations) of lomiri-wallpapers-16.04 / -20.04 (CC-BY-4.0,
 * CC-BY-SA-3.0/4.0, CC0; EXTRA_COLORIZE_SOURCES). Nothing is copied into the repository: the
 * builder reads the installed packages and says what to install when one is absent (mate is
 * required; an absent extra package only shrinks the colouriser's training set, and says so).
 *
 *   demo-nature-colorize  paired, 128x128x3: A = the crop in grey (sharp's b-w, the conversion
 *                         translate applies to a 1-channel model's input, stored as R=G=B),
 *                         B = the crop in colour. 320 crops per training photo, 64 per
 *                         held-out test photo, 48 per validation photo (VALIDATION: whole
 *                         photos for choosing a checkpoint, never the test ones).
 *   demo-green2autumn     unpaired, 128x128x3: A = green foliage crops, B = autumn (red, orange,
 *                         yellow) crops, chosen by analysis/colour.ts foliageDomain from 600
 *                         candidate crops per photo; at most 250 per photo and domain (train),
 *                         64 (test). From mate-backgrounds only (its dataset stays as it was).
 *
 * Crops are multi-scale: the side on the photo is log-uniform between 128 px and min(768,
 * the photo's short side), resized (lanczos3) to 128 px, so a patch shows the photo at 1x to 6x
 * reduction. Positions and sides come from DataRng(mixSeed(seed, salt, photo index)) over the
 * photos sorted by name (mate's photos keep indices 0..11, so its crops do not move when other
 * packages are added; extra photos count from 1000 x (source + 1)): the same photos and seed give
 * the same bytes. Photos above MAX_SIDE on the long side are first reduced to it (the largest mate
 * photo), so a crop of any source shows the same range of scales.
 * Whole photos are held out for the test split (HELD_OUT) and the validation split (VALIDATION);
 * no crop of them is in any train split.
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
/** Per demo: bumped when its bytes change (nature-colorize 2: extra packages, validation split, 320 crops). */
export const PHOTO_DEMO_VERSIONS = { 'demo-nature-colorize': 2, 'demo-green2autumn': 1 } as const;
export const PHOTO_DEMO_IDS = ['demo-nature-colorize', 'demo-green2autumn'] as const;
/** Whole photos kept for evaluation: a green meadow and an orange close-up. */
export const HELD_OUT = ['GreenMeadow.jpg', 'TwoWings.jpg'];
/** Whole photos kept for choosing a checkpoint (grass with autumn trees; leaves against the sky). */
export const VALIDATION = ['aitzgorri_by_Aitzol_Berasategi.jpg', 'Dragonfly_by_Bolly.jpg'];
/** Long side photos are reduced to before cropping (the largest mate-backgrounds photo). */
export const MAX_SIDE = 2560;

/** A Debian package of photos: where they are installed, and how its copyright file names them. */
export interface PhotoSource {
  package: string;
  dir: string;
  copyright: string;
  /** Path of the files in the copyright file's `Files:` patterns ("nature/" for mate). */
  prefix: string;
  /** Only these files (paths under dir): the packages also hold illustrations, which teach no photo's colours. Default: every photo in dir. */
  files?: readonly string[];
  /** KDE wallpaper packages: each photo's folder has a metadata.json naming its author and licence. */
  kdeMetadata?: boolean;
}

/**
 * Photographs of other packages, for the colouriser only. Chosen by looking at every file of
 * lomiri-wallpapers(-16.04, -20.04), ukui-wallpapers, gnome-backgrounds, sway-backgrounds and
 * plasma-workspace-wallpapers: ukui, gnome, sway and lomiri's own default are rendered
 * illustrations; of lomiri's contest photos the fig plate, paint brushes, wine room and three
 * abstract ones were left out (indoor close-ups of arbitrary colour); of plasma's 30 wallpapers
 * 9 are photographs, of which a monochrome pier, a blue-toned fog and a colour-graded jetty were
 * left out (their colours are the grading's, not the scene's).
 */
export const EXTRA_COLORIZE_SOURCES: readonly PhotoSource[] = [
  {
    package: 'lomiri-wallpapers-16.04',
    dir: '/usr/share/backgrounds',
    copyright: '/usr/share/doc/lomiri-wallpapers-16.04/copyright',
    prefix: '16.04/',
    files: [
      'Bridge_by_Sander_Klootwijk.jpg',
      'Dragonfly_by_Bolly.jpg',
      'aitzgorri_by_Aitzol_Berasategi.jpg',
      'friends_by_Aitzol_Berasategi.jpg',
      'life_by_Aitzol_Berasategi.jpg',
      'picosdeeuropa_by_Aitzol_Berasategi.jpg',
      'seeding_by_Clements_Engelhardt.jpg',
      'sunset_by_Aitzol_Berasategi.jpg',
    ],
  },
  { package: 'lomiri-wallpapers-20.04', dir: '/usr/share/backgrounds', copyright: '/usr/share/doc/lomiri-wallpapers-20.04/copyright', prefix: '20.04/', files: ['Kleiber_by_Lukas_Baubkus.jpg'] },
  {
    package: 'plasma-workspace-wallpapers',
    dir: '/usr/share/wallpapers',
    copyright: '/usr/share/doc/plasma-workspace-wallpapers/copyright',
    prefix: '',
    files: ['EveningGlow', 'FallenLeaf', 'Kite', 'OneStandsOut', 'Path', 'summer_1am'].map((n) => `${n}/contents/images/2560x1600.jpg`),
    kdeMetadata: true,
  },
];
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
  /** Whole photos for the colouriser's validation split; default VALIDATION. */
  validation?: string[];
  /** Photo packages added to the colouriser's photos; default EXTRA_COLORIZE_SOURCES when dir is NATURE_DIR, none with another folder. */
  extraSources?: readonly PhotoSource[];
  colorizeTrain?: number;
  colorizeTest?: number;
  colorizeVal?: number;
  foliageCandidates?: number;
  foliageTrain?: number;
  foliageTest?: number;
}

const DEFAULTS = { seed: 0, size: 128, minCrop: 128, maxCrop: 768, colorizeTrain: 320, colorizeTest: 64, colorizeVal: 48, foliageCandidates: 600, foliageTrain: 250, foliageTest: 64 };

export function natureDir(): string {
  return process.env.ATELIER_NATURE_DIR ?? NATURE_DIR;
}

export function listPhotos(dir: string, only?: readonly string[]): string[] {
  if (only) return only.filter((n) => PHOTO_EXT.test(n) && fs.existsSync(path.join(dir, n))).sort();
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => PHOTO_EXT.test(n))
      .sort();
  } catch {
    return [];
  }
}

/** A KDE wallpaper's author and licence from its metadata.json (<name>/metadata.json), or null. */
function kdeMetadata(dir: string, file: string): string | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, file.split('/')[0]!, 'metadata.json'), 'utf8')) as { KPlugin?: { Authors?: { Name?: string }[]; License?: string } };
    const authors = (m.KPlugin?.Authors ?? []).map((a) => a.Name).filter(Boolean);
    return authors.length || m.KPlugin?.License ? `${authors.join(', ') || 'unknown author'} (metadata.json: ${m.KPlugin?.License ?? 'no licence'})` : null;
  } catch {
    return null;
  }
}

/** The extra sources that are not installed, each with what to install. */
export function extraSourcesMissing(sources: readonly PhotoSource[] = EXTRA_COLORIZE_SOURCES): { package: string; message: string; hint: string }[] {
  return sources
    .filter((s) => listPhotos(s.dir, s.files).length < (s.files?.length ?? 1))
    .map((s) => ({
      package: s.package,
      message: `${s.package} is not installed: nature-colorize is built without its ${s.files?.length ?? 'photos'} photo(s).`,
      hint: `sudo apt-get install ${s.package}, then: atelier dataset demo --force`,
    }));
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

type DebianCopyright = ReturnType<typeof parseDebianCopyright>;

function withNote(l: { copyright: string; license: string }, note: string | null | undefined): { copyright: string; license: string } {
  return note ? { ...l, copyright: `${note}; ${l.copyright}` } : l;
}

function licenceOf(paras: DebianCopyright, rel: string): { copyright: string; license: string } {
  // DEP-5: the last matching paragraph wins.
  let hit: { copyright: string; license: string } | null = null;
  for (const p of paras) if (p.files.some((f) => globMatch(f, rel))) hit = p;
  return hit ?? { copyright: 'unknown (no entry in the copyright file)', license: 'unknown' };
}

type PhotoSplit = 'train' | 'test' | 'val';
interface Photo {
  name: string;
  index: number;
  split: PhotoSplit;
  raw: Buffer;
  /** Size used for cropping (after the MAX_SIDE reduction). */
  width: number;
  height: number;
  /** The file's own size. */
  fileWidth: number;
  fileHeight: number;
  sha256: string;
  /** Package (null for another folder), and the path its copyright file names it by. */
  package: string | null;
  licencePath: string;
  licences: DebianCopyright;
  /** Author and licence the package's own metadata names, beside the Debian copyright file's. */
  note?: string | null;
}

async function loadPhoto(dir: string, name: string, index: number, split: PhotoSplit, src: { package: string | null; licencePath: string; licences: DebianCopyright; note?: string | null }): Promise<Photo> {
  const file = path.join(dir, name);
  const bytes = await fsp.readFile(file);
  const meta = await sharp(bytes).rotate().metadata();
  const { data, info } = await sharp(bytes)
    .rotate()
    .resize(MAX_SIDE, MAX_SIDE, { fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' })
    .flatten({ background: '#000000' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const swap = (meta.orientation ?? 1) >= 5;
  const fw = (swap ? meta.height : meta.width) ?? info.width;
  const fh = (swap ? meta.width : meta.height) ?? info.height;
  return { name, index, split, raw: data, width: info.width, height: info.height, fileWidth: fw, fileHeight: fh, sha256: sha256(new Uint8Array(bytes)), ...src };
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
  val?: Roles;
  perPhoto: Map<string, number>;
}

async function buildColorize(photos: Photo[], o: typeof DEFAULTS): Promise<Built> {
  const out: Built = { train: { a: [], b: [] }, test: { a: [], b: [] }, perPhoto: new Map() };
  if (photos.some((p) => p.split === 'val')) out.val = { a: [], b: [] };
  for (const p of photos) {
    const n = p.split === 'train' ? o.colorizeTrain : p.split === 'val' ? o.colorizeVal : o.colorizeTest;
    for (const box of cropBoxes(p, n, o.seed, 1, o)) {
      const rgb = await cropAt(p, box.left, box.top, box.side, o.size);
      const roles = out[p.split]!;
      roles.a.push(await greyRgb(rgb, o.size));
      roles.b.push(rgb);
    }
    out.perPhoto.set(p.name, n);
  }
  return out;
}

async function buildFoliage(photos: Photo[], o: typeof DEFAULTS): Promise<Built> {
  const out: Built = { train: { a: [], b: [] }, test: { a: [], b: [] }, perPhoto: new Map() };
  const role: Record<FoliageDomain, 'a' | 'b'> = { green: 'a', autumn: 'b' };
  for (const p of photos) {
    if (p.split === 'val') continue;
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

async function writeDataset(ws: Workspace, id: (typeof PHOTO_DEMO_IDS)[number], name: string, kind: 'paired' | 'unpaired', data: Built, photos: Photo[], dir: string, o: typeof DEFAULTS): Promise<DatasetManifest> {
  const final = datasetDir(ws, id);
  const tmp = await makeTempDirBeside(final);
  try {
    const fileHashes: Record<string, string> = {};
    const packed: { train: PackedSplit; test: PackedSplit; val?: PackedSplit } = { train: { images: {}, count: {} }, test: { images: {}, count: {} } };
    if (data.val) packed.val = { images: {}, count: {} };
    const per = o.size * o.size * 3;
    for (const split of ['train', 'test', 'val'] as const) {
      const roles = data[split];
      const ps = packed[split];
      if (!roles || !ps) continue;
      await fsp.mkdir(path.join(tmp, split), { recursive: true });
      for (const r of ['a', 'b'] as const) {
        const imgs = roles[r];
        const buf = new Uint8Array(imgs.length * per);
        imgs.forEach((im, k) => buf.set(im, k * per));
        const rel = `${split}/${r}-images-idx3-ubyte.gz`;
        const gz = gzipStable(encodeIdx({ dims: [imgs.length, o.size, o.size, 3], data: buf }, false));
        await fsp.writeFile(path.join(tmp, rel), gz);
        fileHashes[rel] = sha256(gz);
        ps.images[r] = rel;
        ps.count[r] = imgs.length;
      }
    }
    const sources: DatasetSourceFile[] = photos.map((p) => ({
      file: p.name,
      sha256: p.sha256,
      width: p.fileWidth,
      height: p.fileHeight,
      split: p.split,
      items: data.perPhoto.get(p.name) ?? 0,
      package: p.package,
      ...withNote(licenceOf(p.licences, p.licencePath), p.note),
    }));
    const n = (s: PackedSplit) => Math.max(s.count.a ?? 0, s.count.b ?? 0);
    const counts: DatasetManifest['counts'] = { train: n(packed.train), test: n(packed.test), ...(packed.val ? { val: n(packed.val) } : {}), warnings: 0, skipped: 0 };
    if (kind === 'unpaired') {
      counts.a = (packed.train.count.a ?? 0) + (packed.test.count.a ?? 0);
      counts.b = (packed.train.count.b ?? 0) + (packed.test.count.b ?? 0);
    }
    const packages = [...new Set(photos.map((p) => p.package).filter((x): x is string => !!x))];
    const manifest: DatasetManifest = {
      schemaVersion: SCHEMA_VERSION,
      id,
      name,
      kind,
      createdAt: new Date().toISOString(),
      source: { layout: 'idx', path: dir, demo: `${name}@${PHOTO_DEMO_VERSIONS[id]}`, from: packages.length ? packages.join(', ') : 'folder' },
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

async function upToDate(ws: Workspace, id: (typeof PHOTO_DEMO_IDS)[number]): Promise<boolean> {
  try {
    return (await readManifest(datasetDir(ws, id))).source.demo?.endsWith(`@${PHOTO_DEMO_VERSIONS[id]}`) ?? false;
  } catch {
    return false;
  }
}

async function readCopyright(file: string): Promise<DebianCopyright> {
  try {
    return parseDebianCopyright(await fsp.readFile(file, 'utf8'));
  } catch {
    return []; // another folder or no doc: the manifest says "unknown"
  }
}

function resolveOptions(opts: PhotoDemoOptions): typeof DEFAULTS {
  return { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in DEFAULTS && v !== undefined)) } as typeof DEFAULTS;
}

/**
 * The photos in order: the main folder's (mate) first with indices 0.., then each installed
 * extra source's with indices from 1000 x (source + 1). `want` filters before decoding.
 */
async function loadPhotos(opts: PhotoDemoOptions, want: (split: PhotoSplit) => boolean, progress?: (m: string) => void, checkpoint?: () => Promise<void>): Promise<Photo[]> {
  const dir = opts.dir ?? natureDir();
  const names = listPhotos(dir);
  let held = (opts.heldOut ?? HELD_OUT).filter((h) => names.includes(h));
  if (!held.length) held = [names[names.length - 1]!]; // another folder: hold out its last photo
  const val = opts.validation ?? VALIDATION;
  const splitOf = (nm: string): PhotoSplit => (held.includes(nm) ? 'test' : val.includes(nm) ? 'val' : 'train');
  const main = { package: dir === NATURE_DIR ? NATURE_PACKAGE : null, licences: await readCopyright(opts.copyright ?? NATURE_COPYRIGHT) };
  const photos: Photo[] = [];
  for (const [i, nm] of names.entries()) {
    if (!want(splitOf(nm))) continue;
    progress?.(`reading ${nm}`);
    await checkpoint?.();
    photos.push(await loadPhoto(dir, nm, i, splitOf(nm), { ...main, licencePath: `nature/${nm}` }));
  }
  const extras = opts.extraSources ?? (dir === NATURE_DIR ? EXTRA_COLORIZE_SOURCES : []);
  for (const [si, src] of extras.entries()) {
    const files = listPhotos(src.dir, src.files);
    const licences = await readCopyright(src.copyright);
    for (const [i, nm] of files.entries()) {
      if (!want(splitOf(nm))) continue;
      progress?.(`reading ${src.package}: ${nm}`);
      await checkpoint?.();
      photos.push(await loadPhoto(src.dir, nm, 1000 * (si + 1) + i, splitOf(nm), { package: src.package, licences, licencePath: `${src.prefix}${nm}`, note: src.kdeMetadata ? kdeMetadata(src.dir, nm) : null }));
    }
  }
  return photos;
}

/**
 * Build the colour photo demos that are missing (all with force). Throws UNAVAILABLE with what
 * to install when the photos are absent. `progress` gets one line per step (and one per extra
 * package that is not installed, with what to install).
 */
export async function buildPhotoDemos(ws: Workspace, opts: PhotoDemoOptions & { ids?: readonly (typeof PHOTO_DEMO_IDS)[number][]; force?: boolean; progress?: (message: string) => void; checkpoint?: () => Promise<void> } = {}): Promise<string[]> {
  const dir = opts.dir ?? natureDir();
  const missing = photoSourceMissing(dir);
  if (missing) throw new StudioError('UNAVAILABLE', missing.message, { hint: missing.hint });
  const o = resolveOptions(opts);
  const todo: (typeof PHOTO_DEMO_IDS)[number][] = [];
  for (const id of opts.ids ?? PHOTO_DEMO_IDS) if (opts.force || !(await upToDate(ws, id))) todo.push(id);
  if (!todo.length) return [];
  const extras = opts.extraSources ?? (dir === NATURE_DIR ? EXTRA_COLORIZE_SOURCES : []);
  for (const m of extraSourcesMissing(extras)) opts.progress?.(`${m.message} Install: ${m.hint}`);
  const photos = await loadPhotos({ ...opts, extraSources: extras }, () => true, opts.progress, opts.checkpoint);
  // green2autumn stays on the main folder's photos (its train and test splits as shipped).
  const mainPhotos = photos.filter((p) => p.index < 1000 && p.split !== 'val');
  const built: string[] = [];
  for (const id of todo) {
    opts.progress?.(`cutting ${id}`);
    await opts.checkpoint?.();
    if (id === 'demo-nature-colorize') await writeDataset(ws, id, 'nature-colorize', 'paired', await buildColorize(photos, o), photos, dir, o);
    else await writeDataset(ws, id, 'green2autumn', 'unpaired', await buildFoliage(mainPhotos, o), mainPhotos, dir, o);
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
  const o = resolveOptions(opts);
  const photos = (await loadPhotos({ ...opts, extraSources: [] }, (s) => s === 'test')).filter((p) => p.split === 'test');
  const c = await buildColorize(photos, o);
  const f = await buildFoliage(photos, o);
  return { colorize: { grey: c.test.a, colour: c.test.b }, foliage: f.test, size: o.size };
}

/**
 * The colouriser's validation crops (the same crops `buildPhotoDemos` stores under val/), cut
 * from the validation photos only: checkpoints are chosen on these, never on the test photos.
 */
export async function validationSet(opts: PhotoDemoOptions = {}): Promise<{ grey: Uint8Array[]; colour: Uint8Array[]; size: number; photos: string[] }> {
  const o = resolveOptions(opts);
  const photos = (await loadPhotos(opts, (s) => s === 'val')).filter((p) => p.split === 'val');
  const c = await buildColorize(photos, o);
  return { grey: c.val?.a ?? [], colour: c.val?.b ?? [], size: o.size, photos: photos.map((p) => p.name) };
}
