/**
 * Pre-flight validation: scan the source, probe every file, pair up, check sizes against the
 * chosen network, estimate memory. Writes nothing. The import runs the same code and keeps the
 * entries whose files all passed.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DatasetSourceRequest, FileReport, ValidationReport } from '../../../shared/channels/dataset';
import { datasetSourceSchema } from '../../../shared/channels/dataset';
import { readdirOrEmpty } from '../core/fsutil';
import { FASHION_CLASSES, FASHION_FILES, readIdx, type IdxArray } from './idx';
import { isGreySpace, orientedSize, probeFile, type ProbeInfo } from './probe';
import { scanSource, type FoundFile, type PlanEntry } from './scan';
import { checkSizes, estimateMemory } from './sizes';

export type Role = 'a' | 'b' | 'ab' | 'x';
export interface ValidatedEntry extends PlanEntry {
  ok: boolean;
  info: Partial<Record<Role, ProbeInfo>>;
}

export interface FashionFiles {
  trainImages: string;
  trainLabels: string;
  testImages?: string;
  testLabels?: string;
  train: { images: IdxArray; labels: IdxArray };
  test?: { images: IdxArray; labels: IdxArray };
}

export interface Validation {
  report: ValidationReport;
  entries: ValidatedEntry[];
  fashion?: FashionFiles;
}

export interface ValidateOpts {
  onProgress?: (done: number, total: number) => void;
  checkpoint?: () => Promise<void>;
  concurrency?: number;
}

async function pool<T>(items: T[], n: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

const ROLES: Role[] = ['a', 'b', 'ab', 'x'];

export async function validateSource(reqIn: DatasetSourceRequest, opts: ValidateOpts = {}): Promise<Validation> {
  const { kind, path: p, pairs, layout, size: sz, network, batchSize } = reqIn;
  const req = datasetSourceSchema.parse({ kind, path: p, pairs, layout, size: sz, network, batchSize });
  if (req.kind === 'fashion-mnist') return validateFashion(req);
  const scan = await scanSource(req);
  const files: { f: FoundFile; role: Role; entry: PlanEntry }[] = [];
  for (const e of scan.entries) for (const r of ROLES) if (e[r]) files.push({ f: e[r]!, role: r, entry: e });
  const infos = new Map<string, ProbeInfo>();
  let done = 0;
  const uniq = [...new Map(files.map((x) => [x.f.path, x.f])).values()];
  // One file at a time: libvips keeps one error buffer per process, so decoding several broken
  // files at once can attach one file's error text to another (sharp still decodes each file on
  // several threads).
  await pool(uniq, opts.concurrency ?? 1, async (f) => {
    infos.set(f.path, await probeFile(f.path));
    done++;
    if (opts.checkpoint && done % 16 === 0) await opts.checkpoint();
    opts.onProgress?.(done, uniq.length);
  });

  const reports: FileReport[] = [];
  const entries: ValidatedEntry[] = [];
  const sizes: { width: number; height: number }[] = [];
  let allGrey = true;
  let anyReadable = false;
  for (const e of scan.entries) {
    const ve: ValidatedEntry = { ...e, ok: true, info: {} };
    for (const r of ROLES) {
      const f = e[r];
      if (!f) continue;
      const info = infos.get(f.path)!;
      ve.info[r] = info;
      if (info.verdict === 'error') ve.ok = false;
      reports.push({ path: f.path, rel: f.rel, role: r, ...(e.split ? { split: e.split } : {}), ...(e.label !== undefined && scan.classes ? { label: scan.classes[e.label] } : {}), ...info });
    }
    if (ve.ok) {
      for (const r of ROLES) {
        const info = ve.info[r];
        if (!info) continue;
        anyReadable = true;
        if (!isGreySpace(info.space, info.channels)) allGrey = false;
        const s = orientedSize(info);
        sizes.push(r === 'ab' ? { width: Math.floor(s.width / 2), height: s.height } : s);
      }
      if (e.ab) {
        const s = orientedSize(ve.info.ab!);
        if (s.width < 2 * 2 || s.width % 2 !== 0) {
          const rep = reports[reports.length - 1]!;
          rep.warnings.push(`Width ${s.width} is odd: the last column is dropped when splitting A | B.`);
          if (rep.verdict === 'ok') rep.verdict = 'warning';
          rep.message = rep.warnings.join(' ');
        }
      }
    }
    entries.push(ve);
  }
  for (const f of scan.missingB) {
    reports.push({ path: f.path, rel: f.rel, role: 'a', verdict: 'error', issue: 'MISSING_PARTNER', message: `No partner in B/: no file named ${stemName(f.rel)}.* there.`, warnings: [] });
  }
  for (const f of scan.missingA) {
    reports.push({ path: f.path, rel: f.rel, role: 'b', verdict: 'error', issue: 'MISSING_PARTNER', message: `No partner in A/: no file named ${stemName(f.rel)}.* there.`, warnings: [] });
  }
  reports.push(...scan.problems);

  const okEntries = entries.filter((e) => e.ok);
  const imagesPerItem = req.kind === 'paired' ? 2 : 1;
  const size = checkSizes(sizes, req.size ?? null, req.network);
  const channels = anyReadable && allGrey ? 1 : 3;
  const memSize = req.size ?? (size.sizes[0] ? Math.max(size.sizes[0].width, size.sizes[0].height) : 256);
  const memory = estimateMemory({ size: memSize, channels, batchSize: req.batchSize, network: req.network, images: okEntries.length * imagesPerItem, imagesPerItem });
  const errors = reports.filter((r) => r.verdict === 'error').length;
  const warnings = reports.filter((r) => r.verdict === 'warning').length;
  const problems = [...scan.datasetProblems];
  if (scan.ignored) problems.push(`${scan.ignored} file(s) without an image extension were ignored.`);
  const report: ValidationReport = {
    kind: req.kind,
    layout: scan.layout,
    root: scan.root,
    files: reports,
    counts: {
      files: reports.length,
      ok: reports.filter((r) => r.verdict === 'ok').length,
      warnings,
      errors,
      items: okEntries.length,
      train: okEntries.filter((e) => e.split !== 'test').length,
      test: okEntries.filter((e) => e.split === 'test').length,
    },
    greyscale: anyReadable && allGrey,
    size,
    memory,
    problems,
    clean: false,
    importable: false,
  };
  if (req.kind === 'paired') report.pairs = { matched: entries.length, missingB: scan.missingB.map((f) => f.rel), missingA: scan.missingA.map((f) => f.rel) };
  if (req.kind === 'unpaired') report.domains = { a: okEntries.filter((e) => e.a).length, b: okEntries.filter((e) => e.b).length };
  if (req.kind === 'labeled' && scan.classes) report.classes = scan.classes.map((name, i) => ({ name, count: okEntries.filter((e) => e.label === i).length }));
  const blocking = scan.datasetProblems.length > 0 || (req.size != null && !size.ok);
  const enough =
    req.kind === 'unpaired' ? report.domains!.a > 0 && report.domains!.b > 0 : req.kind === 'labeled' ? (report.classes ?? []).filter((c) => c.count > 0).length >= 2 : okEntries.length > 0;
  report.importable = !blocking && enough;
  report.clean = report.importable && errors === 0;
  return { report, entries };
}

const stemName = (rel: string) => path.basename(rel).replace(/\.[^.]+$/, '');

async function findIdx(root: string, base: string): Promise<string | null> {
  const names = await readdirOrEmpty(root);
  for (const cand of [`${base}.gz`, base, base.replace('-idx', '.idx')+'.gz', base.replace('-idx', '.idx')]) {
    if (names.includes(cand)) return path.join(root, cand);
  }
  return null;
}

/** Locate and parse the Fashion-MNIST idx files of a folder. */
export async function readFashionFolder(root: string): Promise<{ files: FashionFiles | null; reports: FileReport[]; problems: string[] }> {
  const reports: FileReport[] = [];
  const problems: string[] = [];
  const found: Partial<Record<keyof typeof FASHION_FILES, string>> = {};
  const arrays: Partial<Record<keyof typeof FASHION_FILES, IdxArray>> = {};
  for (const key of Object.keys(FASHION_FILES) as (keyof typeof FASHION_FILES)[]) {
    const p = await findIdx(root, FASHION_FILES[key]);
    if (!p) continue;
    found[key] = p;
    const st = await fsp.stat(p).catch(() => null);
    try {
      const arr = await readIdx(p);
      const isImages = key.endsWith('Images');
      if (isImages && (arr.dims.length !== 3 || arr.dims[1] !== 28 || arr.dims[2] !== 28)) throw new Error(`expected N x 28 x 28 images, found ${arr.dims.join(' x ')}`);
      if (!isImages && arr.dims.length !== 1) throw new Error(`expected N labels, found ${arr.dims.join(' x ')}`);
      if (!isImages && arr.data.some((v) => v > 9)) throw new Error('labels must be 0..9');
      arrays[key] = arr;
      reports.push({ path: p, rel: path.basename(p), verdict: 'ok', message: '', warnings: [], format: 'idx', bytes: st?.size, ...(isImages ? { width: 28, height: 28, channels: 1, bitDepth: 8 } : {}) });
    } catch (e) {
      reports.push({ path: p, rel: path.basename(p), verdict: 'error', issue: 'CORRUPT', message: `Cannot use ${path.basename(p)}: ${(e as Error).message}`, warnings: [], format: 'idx', bytes: st?.size });
    }
  }
  if (!found.trainImages || !found.trainLabels) {
    problems.push(`No Fashion-MNIST training files in ${root}: expected ${FASHION_FILES.trainImages}.gz and ${FASHION_FILES.trainLabels}.gz (and optionally the t10k files).`);
    return { files: null, reports, problems };
  }
  const pair = (i?: IdxArray, l?: IdxArray, what = 'train') => {
    if (!i || !l) return undefined;
    if (i.dims[0] !== l.dims[0]) {
      problems.push(`The ${what} images (${i.dims[0]}) and labels (${l.dims[0]}) differ in number.`);
      return undefined;
    }
    return { images: i, labels: l };
  };
  const train = pair(arrays.trainImages, arrays.trainLabels);
  const test = pair(arrays.testImages, arrays.testLabels, 't10k');
  if (!train) return { files: null, reports, problems };
  if (found.testImages && !found.testLabels) problems.push('t10k images without t10k labels: the test files are ignored.');
  return {
    files: { trainImages: found.trainImages, trainLabels: found.trainLabels!, ...(test ? { testImages: found.testImages!, testLabels: found.testLabels!, test } : {}), train },
    reports,
    problems,
  };
}

async function validateFashion(req: ReturnType<typeof datasetSourceSchema.parse>): Promise<Validation> {
  const root = path.resolve(req.path ?? '/usr/share/datasets/fashion-mnist');
  const { files, reports, problems } = await readFashionFolder(root);
  const nTrain = files?.train.labels.dims[0] ?? 0;
  const nTest = files?.test?.labels.dims[0] ?? 0;
  const counts = new Array(10).fill(0) as number[];
  if (files) for (const l of files.train.labels.data) counts[l]!++;
  const size = checkSizes(nTrain ? [{ width: 28, height: 28 }] : [], req.size ?? null, req.network);
  const errors = reports.filter((r) => r.verdict === 'error').length;
  const report: ValidationReport = {
    kind: 'fashion-mnist',
    layout: 'idx',
    root,
    files: reports,
    counts: { files: reports.length, ok: reports.length - errors, warnings: 0, errors, items: nTrain + nTest, train: nTrain, test: nTest },
    classes: FASHION_CLASSES.map((name, i) => ({ name, count: counts[i]! })),
    greyscale: true,
    size,
    memory: estimateMemory({ size: req.size ?? 28, channels: 1, batchSize: req.batchSize, network: req.network, images: nTrain + nTest, imagesPerItem: 1 }),
    problems,
    clean: !!files && errors === 0 && problems.length === 0,
    importable: !!files,
  };
  return { report, entries: [], ...(files ? { fashion: files } : {}) };
}
