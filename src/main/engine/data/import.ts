/**
 * Import a source into `<workspace>/datasets/<id>/`. The whole dataset is built in a dot-temp
 * folder beside the final one and renamed into place at the end, so a killed or failed import
 * leaves nothing that `dataset.list` shows (the engine sweeps the temp folder on its next start).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import type { DatasetImportRequest, DatasetImportResult, DatasetItem, DatasetManifest, PackedSplit } from '../../../shared/channels/dataset';
import { datasetImportSchema } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import { exists, makeTempDirBeside, publishDir, writeFileAtomic, writeJsonAtomic } from '../core/fsutil';
import { safeId, type Workspace } from '../core/workspace';
import { FASHION_CLASSES } from './idx';
import { cropRaw, decodeImage, encodeStored } from './normalize';
import { permutation } from './rng';
import { contentHashOf, datasetDir, MANIFEST, SCHEMA_VERSION, sha256, summaryOf } from './store';
import { validateSource, type ValidatedEntry } from './validate';

/** The part of a job an import needs (JobContext satisfies it; tests can pass a stub). */
export interface ImportJob {
  progress(p: { step: number; total: number; message?: string }): void;
  checkpoint(): Promise<void>;
}

const noJob: ImportJob = { progress: () => undefined, checkpoint: async () => undefined };

/** Assign entries without an explicit split: a seeded shuffle per group, the first share to test. */
export function assignSplits<T extends { split?: 'train' | 'test'; name: string }>(entries: T[], group: (e: T) => string, testFraction: number, seed: number): void {
  const groups = new Map<string, T[]>();
  for (const e of entries) if (!e.split) (groups.get(group(e)) ?? groups.set(group(e), []).get(group(e))!).push(e);
  for (const [, list] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const nTest = list.length > 1 ? Math.round(list.length * testFraction) : 0;
    const perm = permutation(list.length, seed);
    perm.forEach((idx, k) => (list[idx]!.split = k < nTest ? 'test' : 'train'));
  }
}

export async function importDataset(ws: Workspace, reqIn: DatasetImportRequest, job: ImportJob = noJob): Promise<DatasetImportResult> {
  const req = datasetImportSchema.parse(reqIn);
  const id = safeId(req.name);
  const finalDir = datasetDir(ws, id);
  const existing = await exists(path.join(finalDir, MANIFEST));
  if (existing && !req.replace) {
    throw new StudioError('CONFLICT', `A dataset named "${id}" exists already.`, { hint: 'Choose another name, or replace it.' });
  }
  job.progress({ step: 0, total: 0, message: 'checking files' });
  const v = await validateSource(req, { onProgress: (d, t) => d % 32 === 0 && job.progress({ step: d, total: t, message: 'checking files' }), checkpoint: () => job.checkpoint() });
  const r = v.report;
  if (!r.importable) {
    const why = [...r.problems, ...(req.size != null && !r.size.ok ? [r.size.message] : [])];
    throw new StudioError('BAD_INPUT', `Nothing to import: ${why.join(' ') || 'no readable files.'}`, { hint: 'Fix the source and validate again.' });
  }
  const bad = r.files.filter((f) => f.verdict === 'error');
  if (bad.length && !req.acceptPartial) {
    throw new StudioError('BAD_INPUT', `${bad.length} of ${r.counts.files} files have problems (first: ${bad[0]!.rel}: ${bad[0]!.message})`, {
      hint: 'Fix them, or import the good files only (accept partial import).',
      details: bad.slice(0, 50).map((f) => `${f.rel}: ${f.message}`).join('\n'),
    });
  }
  const skipped = bad.map((f) => ({ path: f.path, message: f.message }));
  const tmp = await makeTempDirBeside(finalDir);
  try {
    let manifest: DatasetManifest;
    if (req.kind === 'fashion-mnist') manifest = await writeFashion(tmp, id, req, v.fashion!, r.root);
    else manifest = await writeFiles(tmp, id, req, v.entries.filter((e) => e.ok), r, job);
    manifest.counts.skipped = skipped.length;
    await writeJsonAtomic(path.join(tmp, MANIFEST), manifest);
    await job.checkpoint();
    await publishDir(tmp, finalDir);
    const summary = await summaryOf(finalDir, manifest);
    job.progress({ step: 1, total: 1, message: 'done' });
    return { dataset: summary, imported: manifest.counts.train + manifest.counts.test, skipped, warnings: r.counts.warnings };
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

type ParsedImport = ReturnType<typeof datasetImportSchema.parse>;

async function writeFiles(tmp: string, id: string, req: ParsedImport, entries: ValidatedEntry[], r: Awaited<ReturnType<typeof validateSource>>['report'], job: ImportJob): Promise<DatasetManifest> {
  const channels: 1 | 3 = req.channels === 'auto' ? (r.greyscale ? 1 : 3) : req.channels;
  let size = req.size ?? null;
  let width: number;
  let height: number;
  if (size) width = height = size;
  else {
    if (r.size.sizes.length !== 1) {
      throw new StudioError('BAD_INPUT', `The images have ${r.size.sizes.length} different sizes; choose one size to resize them to.`, { hint: `For example ${r.size.suggestions.join(' or ')}.` });
    }
    width = r.size.sizes[0]!.width;
    height = r.size.sizes[0]!.height;
  }
  const groupOf = (e: ValidatedEntry) => (req.kind === 'unpaired' ? (e.a ? 'a' : 'b') : req.kind === 'labeled' ? String(e.label) : '');
  assignSplits(entries, groupOf, req.testFraction, req.seed);
  entries.sort((a, b) => (a.split === b.split ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.split === 'train' ? -1 : 1));
  const items: DatasetItem[] = [];
  const fileHashes: Record<string, string> = {};
  const enc = { size, fit: req.fit, background: req.background };
  const store = async (img: Parameters<typeof encodeStored>[0], rel: string) => {
    const { png } = await encodeStored(img, enc);
    await fsp.mkdir(path.dirname(path.join(tmp, rel)), { recursive: true });
    await fsp.writeFile(path.join(tmp, rel), png);
    const h = sha256(png);
    fileHashes[rel] = h;
    return h;
  };
  let i = 0;
  for (const e of entries) {
    const split = e.split ?? 'train';
    const stem = `${String(i).padStart(6, '0')}_${safeId(path.basename(e.name))}`;
    const item: DatasetItem = { name: e.name, split, files: {}, hashes: {}, source: {} };
    if (e.label !== undefined) item.label = e.label;
    if (e.ab) {
      const img = await decodeImage(e.ab.path, { channels, background: req.background });
      const half = Math.floor(img.width / 2);
      const a = cropRaw(img, 0, 0, half, img.height);
      const b = cropRaw(img, half, 0, half, img.height);
      for (const [role, part] of [['a', a], ['b', b]] as const) {
        const rel = `${split}/${role.toUpperCase()}/${stem}.png`;
        item.hashes[role] = await store(part, rel);
        item.files[role] = rel;
      }
      item.source = { a: e.ab.path, b: e.ab.path };
    }
    for (const role of ['a', 'b', 'x'] as const) {
      const f = e[role];
      if (!f) continue;
      const img = await decodeImage(f.path, { channels, background: req.background });
      const rel = `${split}/${role.toUpperCase()}/${stem}.png`;
      item.hashes[role] = await store(img, rel);
      item.files[role] = rel;
      item.source![role] = f.path;
    }
    items.push(item);
    i++;
    job.progress({ step: i, total: entries.length, message: "importing" });
    await job.checkpoint();
  }
  const counts: DatasetManifest['counts'] = {
    train: items.filter((x) => x.split === 'train').length,
    test: items.filter((x) => x.split === 'test').length,
    warnings: r.counts.warnings,
    skipped: 0,
  };
  if (req.kind === 'unpaired') {
    counts.a = items.filter((x) => x.files.a).length;
    counts.b = items.filter((x) => x.files.b).length;
  }
  if (size === null && width === height) size = width;
  return {
    schemaVersion: SCHEMA_VERSION,
    id,
    name: req.name,
    kind: req.kind,
    createdAt: new Date().toISOString(),
    source: { layout: r.layout, path: r.root },
    image: { width, height, channels },
    counts,
    ...(req.kind === 'labeled' && r.classes ? { classes: r.classes.map((c) => c.name) } : {}),
    storage: 'files',
    items,
    fileHashes,
    contentHash: contentHashOf(fileHashes),
    options: { size, fit: req.fit, background: req.background, seed: req.seed, testFraction: req.testFraction },
  };
}

/** gzip with a fixed header (no mtime, OS byte "unknown") so equal data gives equal bytes. */
export function gzipStable(data: Uint8Array): Uint8Array {
  const gz = new Uint8Array(zlib.gzipSync(data, { level: 9 }));
  gz[4] = gz[5] = gz[6] = gz[7] = 0;
  gz[9] = 255;
  return gz;
}

async function writeFashion(tmp: string, id: string, req: ParsedImport, f: NonNullable<Awaited<ReturnType<typeof validateSource>>['fashion']>, root: string | null): Promise<DatasetManifest> {
  const fileHashes: Record<string, string> = {};
  const put = async (src: string, rel: string) => {
    let data: Uint8Array = await fsp.readFile(src);
    if (!(data[0] === 0x1f && data[1] === 0x8b)) data = gzipStable(data);
    await writeFileAtomic(path.join(tmp, rel), data);
    fileHashes[rel] = sha256(data);
    return rel;
  };
  const nTrain = f.train.labels.dims[0]!;
  const nTest = f.test?.labels.dims[0] ?? 0;
  const train: PackedSplit = { images: { x: await put(f.trainImages, 'train/images-idx3-ubyte.gz') }, labels: await put(f.trainLabels, 'train/labels-idx1-ubyte.gz'), count: { x: nTrain } };
  const test: PackedSplit = f.test
    ? { images: { x: await put(f.testImages!, 'test/images-idx3-ubyte.gz') }, labels: await put(f.testLabels!, 'test/labels-idx1-ubyte.gz'), count: { x: nTest } }
    : { images: {}, count: {} };
  return {
    schemaVersion: SCHEMA_VERSION,
    id,
    name: req.name,
    kind: 'fashion-mnist',
    createdAt: new Date().toISOString(),
    source: { layout: 'idx', path: root },
    image: { width: 28, height: 28, channels: 1 },
    counts: { train: nTrain, test: nTest, warnings: 0, skipped: 0 },
    classes: [...FASHION_CLASSES],
    storage: 'packed',
    packed: { train, test },
    fileHashes,
    contentHash: contentHashOf(fileHashes),
    options: { size: 28, fit: req.fit, background: req.background, seed: req.seed, testFraction: 0 },
  };
}
