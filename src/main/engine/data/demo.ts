/**
 * Demo datasets built by code from Fashion-MNIST, deterministically (same source, same bytes):
 *   demo-fashion        labeled, 10 classes, the first 200 training images of each class (28x28)
 *   demo-edges2fashion  paired, 500: Sobel edge map of an item -> the item, both padded to 32x32
 *   demo-sneaker2boot   unpaired: the first 500 sneakers (class 7) vs 500 ankle boots (class 9), 32x32
 * The images come from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) when
 * it is installed, else from the subset shipped in resources/demo/fashion-mnist-subset, which
 * holds exactly the training images these selections use, in their original order: both give
 * the same datasets.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DatasetDemoResult, DatasetManifest, DatasetSummary, PackedSplit } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import { makeTempDirBeside, publishDir, writeFileAtomic, writeJsonAtomic } from '../core/fsutil';
import type { Workspace } from '../core/workspace';
import { buildPhotoDemos, natureDir, photoSourceMissing, PHOTO_DEMO_IDS } from './demo-photos';
import { encodeIdx, FASHION_CLASSES, FASHION_FILES, readIdx, type IdxArray } from './idx';
import { gzipStable, type ImportJob } from './import';
import { contentHashOf, datasetDir, MANIFEST, readManifest, SCHEMA_VERSION, sha256, summaryOf } from './store';

export const DEBIAN_FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const DEMO_VERSION = 1;
export const DEMO_IDS = ['demo-fashion', 'demo-edges2fashion', 'demo-sneaker2boot'] as const;
/** Per-class quota of the shipped subset: 200 of each class, 500 of sneakers and ankle boots. */
export const SUBSET_QUOTA = [200, 200, 200, 200, 200, 200, 200, 500, 200, 500];
export const FASHION_PER_CLASS = 200;
export const EDGES_COUNT = 500;
export const UNPAIRED_COUNT = 500;

export interface FashionTrain {
  images: IdxArray;
  labels: IdxArray;
  from: 'debian' | 'resources';
  dir: string;
}

export function subsetDir(ws: Pick<Workspace, 'resources'>): string {
  return path.join(ws.resources, 'demo', 'fashion-mnist-subset');
}

const hasTrain = (dir: string) =>
  fs.existsSync(path.join(dir, `${FASHION_FILES.trainImages}.gz`)) && fs.existsSync(path.join(dir, `${FASHION_FILES.trainLabels}.gz`));

/** Where the demo images come from: the Debian package when present, else the shipped subset. */
export function demoSource(ws: Pick<Workspace, 'resources'>): { dir: string; from: 'debian' | 'resources' } {
  const deb = process.env.ATELIER_FASHION_MNIST_DIR ?? DEBIAN_FASHION_DIR;
  if (process.env.ATELIER_DEMO_FROM !== 'resources' && hasTrain(deb)) return { dir: deb, from: 'debian' };
  const sub = subsetDir(ws);
  if (hasTrain(sub)) return { dir: sub, from: 'resources' };
  throw new StudioError('UNAVAILABLE', 'No Fashion-MNIST images: neither the Debian package nor the shipped subset was found.', {
    hint: `Install dataset-fashion-mnist (apt) or restore ${sub}.`,
  });
}

export async function loadFashionTrain(dir: string, from: 'debian' | 'resources'): Promise<FashionTrain> {
  const images = await readIdx(path.join(dir, `${FASHION_FILES.trainImages}.gz`));
  const labels = await readIdx(path.join(dir, `${FASHION_FILES.trainLabels}.gz`));
  if (images.dims[0] !== labels.dims[0] || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new StudioError('BAD_INPUT', `Fashion-MNIST files in ${dir} do not match (images ${images.dims.join('x')}, labels ${labels.dims.join('x')}).`);
  }
  return { images, labels, from, dir };
}

/** Indices (in order) of the first `quota[c]` images of each class c. */
export function selectFirstPerClass(labels: Uint8Array, quota: readonly number[]): number[] {
  const seen = new Array(quota.length).fill(0) as number[];
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i]!;
    if (seen[c]! < quota[c]!) {
      seen[c]!++;
      out.push(i);
    }
  }
  return out;
}

/** Write the shipped subset (maintainers: `atelier dataset demo --write-subset <dir>`). */
export async function writeDemoSubset(srcDir: string, outDir: string): Promise<{ count: number; bytes: number }> {
  const t = await loadFashionTrain(srcDir, 'debian');
  const idx = selectFirstPerClass(t.labels.data, SUBSET_QUOTA);
  const img = new Uint8Array(idx.length * 784);
  const lab = new Uint8Array(idx.length);
  idx.forEach((src, k) => {
    img.set(t.images.data.subarray(src * 784, src * 784 + 784), k * 784);
    lab[k] = t.labels.data[src]!;
  });
  const a = gzipStable(encodeIdx({ dims: [idx.length, 28, 28], data: img }, false));
  const b = gzipStable(encodeIdx({ dims: [idx.length], data: lab }, false));
  await writeFileAtomic(path.join(outDir, `${FASHION_FILES.trainImages}.gz`), a);
  await writeFileAtomic(path.join(outDir, `${FASHION_FILES.trainLabels}.gz`), b);
  return { count: idx.length, bytes: a.byteLength + b.byteLength };
}

/** 28x28 -> 32x32 with a 2-pixel black border. */
export function pad32(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(32 * 32);
  for (let y = 0; y < 28; y++) out.set(src.subarray(y * 28, y * 28 + 28), (y + 2) * 32 + 2);
  return out;
}

/** Binary edge map (white edges on black) of a square greyscale image: Sobel magnitude > threshold. */
export function edgeMap(src: Uint8Array, size: number, threshold = 160): Uint8Array {
  const out = new Uint8Array(size * size);
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= size || y >= size ? 0 : src[y * size + x]!);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      out[y * size + x] = gx * gx + gy * gy > threshold * threshold ? 255 : 0;
    }
  }
  return out;
}

interface DemoSpec {
  id: (typeof DEMO_IDS)[number];
  name: string;
  kind: DatasetManifest['kind'];
  size: number;
  /** split -> role -> images (each size*size bytes); labels for labeled sets. */
  build(t: FashionTrain): { train: Record<string, Uint8Array[]>; test: Record<string, Uint8Array[]>; labels?: { train: number[]; test: number[] }; classes?: string[] };
}

const item = (t: FashionTrain, i: number) => t.images.data.subarray(i * 784, i * 784 + 784);
const isTest = (k: number) => k % 10 === 9;

const SPECS: DemoSpec[] = [
  {
    id: 'demo-fashion',
    name: 'fashion',
    kind: 'labeled',
    size: 28,
    build(t) {
      const sel = selectFirstPerClass(t.labels.data, new Array(10).fill(FASHION_PER_CLASS));
      const out = { train: { x: [] as Uint8Array[] }, test: { x: [] as Uint8Array[] }, labels: { train: [] as number[], test: [] as number[] }, classes: [...FASHION_CLASSES] };
      sel.forEach((i, k) => {
        const s = isTest(k) ? 'test' : 'train';
        out[s].x.push(item(t, i));
        out.labels[s].push(t.labels.data[i]!);
      });
      return out;
    },
  },
  {
    id: 'demo-edges2fashion',
    name: 'edges2fashion',
    kind: 'paired',
    size: 32,
    build(t) {
      const sel = selectFirstPerClass(t.labels.data, new Array(10).fill(FASHION_PER_CLASS)).slice(0, EDGES_COUNT);
      const out = { train: { a: [] as Uint8Array[], b: [] as Uint8Array[] }, test: { a: [] as Uint8Array[], b: [] as Uint8Array[] } };
      sel.forEach((i, k) => {
        const s = isTest(k) ? 'test' : 'train';
        const b = pad32(item(t, i));
        out[s].a.push(edgeMap(b, 32));
        out[s].b.push(b);
      });
      return out;
    },
  },
  {
    id: 'demo-sneaker2boot',
    name: 'sneaker2boot',
    kind: 'unpaired',
    size: 32,
    build(t) {
      const q = new Array(10).fill(0);
      q[7] = UNPAIRED_COUNT;
      q[9] = UNPAIRED_COUNT;
      const sel = selectFirstPerClass(t.labels.data, q);
      const out = { train: { a: [] as Uint8Array[], b: [] as Uint8Array[] }, test: { a: [] as Uint8Array[], b: [] as Uint8Array[] } };
      const k = { a: 0, b: 0 };
      for (const i of sel) {
        const role = t.labels.data[i] === 7 ? 'a' : 'b';
        out[isTest(k[role]++) ? 'test' : 'train'][role].push(pad32(item(t, i)));
      }
      return out;
    },
  },
];

async function buildOne(ws: Workspace, spec: DemoSpec, t: FashionTrain): Promise<DatasetManifest> {
  const final = datasetDir(ws, spec.id);
  const tmp = await makeTempDirBeside(final);
  try {
    const data = spec.build(t);
    const fileHashes: Record<string, string> = {};
    const packed: { train: PackedSplit; test: PackedSplit } = { train: { images: {}, count: {} }, test: { images: {}, count: {} } };
    for (const split of ['train', 'test'] as const) {
      for (const [role, imgs] of Object.entries(data[split])) {
        const buf = new Uint8Array(imgs.length * spec.size * spec.size);
        imgs.forEach((im, k) => buf.set(im, k * spec.size * spec.size));
        const rel = `${split}/${role}-images-idx3-ubyte.gz`;
        const gz = gzipStable(encodeIdx({ dims: [imgs.length, spec.size, spec.size], data: buf }, false));
        await fsp.mkdir(path.join(tmp, split), { recursive: true });
        await fsp.writeFile(path.join(tmp, rel), gz);
        fileHashes[rel] = sha256(gz);
        packed[split].images[role as 'a' | 'b' | 'x'] = rel;
        packed[split].count[role as 'a' | 'b' | 'x'] = imgs.length;
      }
      if (data.labels) {
        const rel = `${split}/labels-idx1-ubyte.gz`;
        const gz = gzipStable(encodeIdx({ dims: [data.labels[split].length], data: Uint8Array.from(data.labels[split]) }, false));
        await fsp.writeFile(path.join(tmp, rel), gz);
        fileHashes[rel] = sha256(gz);
        packed[split].labels = rel;
      }
    }
    const n = (s: PackedSplit) => Math.max(s.count.x ?? 0, s.count.a ?? 0, s.count.b ?? 0);
    const counts: DatasetManifest['counts'] = { train: n(packed.train), test: n(packed.test), warnings: 0, skipped: 0 };
    if (spec.kind === 'unpaired') {
      counts.a = (packed.train.count.a ?? 0) + (packed.test.count.a ?? 0);
      counts.b = (packed.train.count.b ?? 0) + (packed.test.count.b ?? 0);
    }
    const manifest: DatasetManifest = {
      schemaVersion: SCHEMA_VERSION,
      id: spec.id,
      name: spec.name,
      kind: spec.kind,
      createdAt: new Date().toISOString(),
      source: { layout: 'idx', path: t.dir, demo: `${spec.name}@${DEMO_VERSION}`, from: t.from },
      image: { width: spec.size, height: spec.size, channels: 1 },
      counts,
      ...(data.classes ? { classes: data.classes } : {}),
      storage: 'packed',
      packed,
      fileHashes,
      contentHash: contentHashOf(fileHashes),
      options: { size: spec.size, fit: 'contain', background: '#000000', seed: 0, testFraction: 0.1 },
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
    const m = await readManifest(datasetDir(ws, id));
    return m.source.demo?.endsWith(`@${DEMO_VERSION}`) ?? false;
  } catch {
    return false;
  }
}

/**
 * Make sure the demo datasets exist in the workspace (build the missing ones, or all with
 * force). Cheap when they exist. The app calls it on first use; `dataset.demo` runs it as a job.
 */
export async function ensureDemoDatasets(ctx: { workspace: Workspace } | Workspace, opts: { force?: boolean; photos?: boolean; job?: ImportJob } = {}): Promise<DatasetDemoResult> {
  const ws = 'workspace' in ctx ? ctx.workspace : ctx;
  const todo: DemoSpec[] = [];
  for (const s of SPECS) if (opts.force || !(await upToDate(ws, s.id))) todo.push(s);
  const built: string[] = [];
  let from: 'debian' | 'resources' | undefined;
  if (todo.length) {
    const src = demoSource(ws);
    from = src.from;
    opts.job?.progress({ step: 0, total: todo.length, message: `reading Fashion-MNIST (${src.from})` });
    const t = await loadFashionTrain(src.dir, src.from);
    for (const s of todo) {
      await opts.job?.checkpoint();
      await buildOne(ws, s, t);
      built.push(s.id);
      opts.job?.progress({ step: built.length, total: todo.length, message: `built ${s.name}` });
    }
  }
  const datasets: DatasetSummary[] = [];
  for (const s of SPECS) datasets.push(await summaryOf(datasetDir(ws, s.id)));
  from ??= datasets[0]?.source.from === 'debian' ? 'debian' : 'resources';
  if (!opts.photos) return { datasets, from, built };
  // Colour photo demos: only when asked (they take ~a minute to cut), and only where the photos
  // are installed; otherwise the result says what to install instead of failing the job.
  const dir = natureDir();
  const missing = photoSourceMissing(dir);
  const photos: NonNullable<DatasetDemoResult['photos']> = { built: [], dir: missing ? null : dir, ...(missing ? { missing } : {}) };
  if (!missing) {
    photos.built = await buildPhotoDemos(ws, {
      dir,
      ...(opts.force ? { force: true } : {}),
      progress: (message) => opts.job?.progress({ step: built.length, total: todo.length + 1, message }),
      ...(opts.job ? { checkpoint: () => opts.job!.checkpoint() } : {}),
    });
    for (const id of PHOTO_DEMO_IDS) datasets.push(await summaryOf(datasetDir(ws, id)));
  }
  return { datasets, from, built, photos };
}
