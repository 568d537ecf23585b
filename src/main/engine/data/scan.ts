/**
 * Find the files of a source and how they pair up, per dataset kind and layout. Folders are
 * walked recursively; symbolic links are followed once (a link back to a folder already being
 * walked is reported as a loop and skipped); dot-files and non-image names are ignored.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DatasetLayout, DatasetSourceRequest, FileReport } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import { readdirOrEmpty } from '../core/fsutil';
import { IMAGE_EXTENSIONS } from './probe';

export interface FoundFile {
  path: string;
  /** Relative to the folder walked. */
  rel: string;
}

export interface WalkResult {
  files: FoundFile[];
  /** Entries that could not be walked (loops, unreadable folders). */
  problems: FileReport[];
  ignored: number;
}

const isImageName = (n: string) => IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase());

export async function walkImages(root: string): Promise<WalkResult> {
  const out: WalkResult = { files: [], problems: [], ignored: 0 };
  const visiting = new Set<string>();
  async function visit(dir: string, rel: string): Promise<void> {
    let real: string;
    try {
      real = await fsp.realpath(dir);
    } catch (e) {
      out.problems.push(problem(dir, rel, e));
      return;
    }
    if (visiting.has(real)) {
      out.problems.push({
        path: dir,
        rel: rel || '.',
        verdict: 'warning',
        issue: 'SYMLINK_LOOP',
        message: `A symbolic link loop: this folder leads back to ${real}, which is already being read. Skipped.`,
        warnings: [],
      });
      return;
    }
    visiting.add(real);
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      out.problems.push(problem(dir, rel, e));
      visiting.delete(real);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue;
      const p = path.join(dir, ent.name);
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      let isDir = ent.isDirectory();
      if (ent.isSymbolicLink()) {
        try {
          isDir = (await fsp.stat(p)).isDirectory();
        } catch {
          // Broken or looping link: report it as a file if its name looks like an image.
          if (isImageName(ent.name)) out.files.push({ path: p, rel: r });
          else out.ignored++;
          continue;
        }
      }
      if (isDir) await visit(p, r);
      else if (isImageName(ent.name)) out.files.push({ path: p, rel: r });
      else out.ignored++;
    }
    visiting.delete(real);
  }
  await visit(root, '');
  return out;
}

function problem(p: string, rel: string, e: unknown): FileReport {
  const code = (e as NodeJS.ErrnoException).code;
  return {
    path: p,
    rel: rel || '.',
    verdict: 'error',
    issue: code === 'ELOOP' ? 'SYMLINK_LOOP' : 'UNREADABLE',
    message:
      code === 'ELOOP'
        ? 'A symbolic link loop. Skipped.'
        : code === 'EACCES' || code === 'EPERM'
          ? 'Cannot read this folder: permission denied.'
          : `Cannot read this folder: ${code ?? String(e)}.`,
    warnings: [],
  };
}

/** One unit of a dataset before probing: the files that make it. */
export interface PlanEntry {
  name: string;
  split?: 'train' | 'test';
  label?: number;
  a?: FoundFile;
  b?: FoundFile;
  /** Side by side: one file holding A | B. */
  ab?: FoundFile;
  x?: FoundFile;
}

export interface ScanResult {
  layout: Exclude<DatasetLayout, 'auto'>;
  root: string | null;
  entries: PlanEntry[];
  /** Paired by folders: files without a partner. */
  missingB: FoundFile[];
  missingA: FoundFile[];
  problems: FileReport[];
  classes?: string[];
  datasetProblems: string[];
  ignored: number;
}

const prefixed = (list: FileReport[], dir: string) => list.map((r) => ({ ...r, rel: r.rel === '.' ? dir : `${dir}/${r.rel}` }));
const stemOf = (rel: string) => rel.replace(/\.[^./]+$/, '');
const SPLIT_NAMES: Record<string, 'train' | 'test'> = { train: 'train', test: 'test', val: 'test', valid: 'test', validation: 'test' };

/** First path component as a split, when it names one (train/, test/, val/). */
function splitOf(rel: string): 'train' | 'test' | undefined {
  const first = rel.split('/')[0]!.toLowerCase();
  return rel.includes('/') ? SPLIT_NAMES[first] : undefined;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Find a child folder by name, case-insensitively. */
async function child(root: string, ...names: string[]): Promise<string | null> {
  const entries = await readdirOrEmpty(root);
  for (const n of names) {
    const hit = entries.find((e) => e.toLowerCase() === n.toLowerCase());
    if (hit && (await isDir(path.join(root, hit)))) return path.join(root, hit);
  }
  return null;
}

export async function requireSourcePath(p: string | undefined): Promise<string> {
  if (!p) throw new StudioError('BAD_INPUT', 'No source path given.', { hint: 'Pick a folder (or, for paired images, drop pairs).' });
  const abs = path.resolve(p);
  try {
    await fsp.stat(abs);
  } catch (e) {
    throw new StudioError('NOT_FOUND', `Cannot open ${abs}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}.`, {
      hint: 'Check the path.',
    });
  }
  return abs;
}

export async function scanSource(req: DatasetSourceRequest): Promise<ScanResult> {
  const layout = req.layout ?? 'auto';
  const base: ScanResult = { layout: 'folders', root: null, entries: [], missingA: [], missingB: [], problems: [], datasetProblems: [], ignored: 0 };
  if (req.kind === 'paired') {
    if (req.pairs && (layout === 'auto' || layout === 'pairs')) {
      const seen = new Map<string, number>();
      const entries = req.pairs.map((p, i) => {
        let name = path.basename(stemOf(p.a));
        const n = seen.get(name) ?? 0;
        seen.set(name, n + 1);
        if (n) name = `${name}-${n}`;
        return {
          name,
          a: { path: path.resolve(p.a), rel: path.basename(p.a) },
          b: { path: path.resolve(p.b), rel: path.basename(p.b) },
          _i: i,
        };
      });
      return { ...base, layout: 'pairs', entries: entries.map(({ _i, ...e }) => e) };
    }
    const root = await requireSourcePath(req.path);
    const st = await fsp.stat(root);
    const dirA = st.isDirectory() ? await child(root, 'A') : null;
    const dirB = st.isDirectory() ? await child(root, 'B') : null;
    if (layout === 'folders' || (layout === 'auto' && dirA && dirB)) {
      if (!dirA || !dirB) {
        return { ...base, root, datasetProblems: [`Paired folders need A/ and B/ inside ${root}; found ${dirA ? 'A/ only' : dirB ? 'B/ only' : 'neither'}.`] };
      }
      const [wa, wb] = await Promise.all([walkImages(dirA), walkImages(dirB)]);
      const byStemB = new Map<string, FoundFile>();
      for (const f of wb.files) byStemB.set(stemOf(f.rel), { path: f.path, rel: `${path.basename(dirB)}/${f.rel}` });
      const entries: PlanEntry[] = [];
      const missingB: FoundFile[] = [];
      const usedB = new Set<string>();
      for (const f of wa.files) {
        const s = stemOf(f.rel);
        const fa = { path: f.path, rel: `${path.basename(dirA)}/${f.rel}` };
        const fb = byStemB.get(s);
        if (fb) {
          usedB.add(s);
          entries.push({ name: s, split: splitOf(f.rel), a: fa, b: fb });
        } else missingB.push(fa);
      }
      const missingA = [...byStemB.entries()].filter(([s]) => !usedB.has(s)).map(([, f]) => f);
      return {
        ...base,
        layout: 'folders',
        root,
        entries,
        missingA,
        missingB,
        problems: [...prefixed(wa.problems, path.basename(dirA)), ...prefixed(wb.problems, path.basename(dirB))],
        ignored: wa.ignored + wb.ignored,
        datasetProblems: entries.length ? [] : ['No pairs: no file in A/ has a file with the same name (ignoring the extension) in B/.'],
      };
    }
    // Side by side: a folder of A|B images (optionally train/ val/ test/), or one such file.
    if (!st.isDirectory()) {
      return { ...base, layout: 'side-by-side', root: path.dirname(root), entries: [{ name: path.basename(stemOf(root)), ab: { path: root, rel: path.basename(root) } }] };
    }
    const w = await walkImages(root);
    return {
      ...base,
      layout: 'side-by-side',
      root,
      entries: w.files.map((f) => ({ name: stemOf(f.rel), split: splitOf(f.rel), ab: f })),
      problems: w.problems,
      ignored: w.ignored,
      datasetProblems: w.files.length ? [] : [`No images in ${root}.`],
    };
  }
  if (req.kind === 'unpaired') {
    const root = await requireSourcePath(req.path);
    if (!(await isDir(root))) return { ...base, root, datasetProblems: [`${root} is a file; an unpaired dataset is a folder with trainA/ and trainB/.`] };
    const trainA = (await child(root, 'trainA')) ?? (await child(root, 'A'));
    const trainB = (await child(root, 'trainB')) ?? (await child(root, 'B'));
    const testA = await child(root, 'testA');
    const testB = await child(root, 'testB');
    if (!trainA || !trainB) {
      return { ...base, root, datasetProblems: [`Unpaired datasets need trainA/ and trainB/ inside ${root} (optionally testA/ and testB/), as in the CycleGAN datasets.`] };
    }
    const entries: PlanEntry[] = [];
    const problems: FileReport[] = [];
    let ignored = 0;
    for (const [dir, role, split] of [
      [trainA, 'a', 'train'],
      [trainB, 'b', 'train'],
      [testA, 'a', 'test'],
      [testB, 'b', 'test'],
    ] as const) {
      if (!dir) continue;
      const w = await walkImages(dir);
      problems.push(...prefixed(w.problems, path.basename(dir)));
      ignored += w.ignored;
      for (const f of w.files) entries.push({ name: `${path.basename(dir)}/${stemOf(f.rel)}`, split, [role]: { path: f.path, rel: `${path.basename(dir)}/${f.rel}` } });
    }
    const na = entries.filter((e) => e.a).length;
    const nb = entries.filter((e) => e.b).length;
    const dp: string[] = [];
    if (!na) dp.push('Domain A (trainA/) has no images.');
    if (!nb) dp.push('Domain B (trainB/) has no images.');
    return { ...base, layout: 'folders', root, entries, problems, ignored, datasetProblems: dp };
  }
  if (req.kind === 'labeled') {
    const root = await requireSourcePath(req.path);
    if (!(await isDir(root))) return { ...base, root, datasetProblems: [`${root} is a file; a labeled dataset is a folder with one sub-folder per class.`] };
    // Either <root>/<class>/... or <root>/train/<class>/... [+ <root>/test/<class>/...]
    const trainDir = await child(root, 'train');
    const testDir = (await child(root, 'test')) ?? (await child(root, 'val'));
    const roots: [string, 'train' | 'test' | undefined][] = trainDir ? [[trainDir, 'train'], ...(testDir ? [[testDir, 'test'] as [string, 'test']] : [])] : [[root, undefined]];
    const classSet = new Set<string>();
    const perRoot: { split: 'train' | 'test' | undefined; cls: string; files: FoundFile[] }[] = [];
    const problems: FileReport[] = [];
    let ignored = 0;
    for (const [r, split] of roots) {
      const ents = (await fsp.readdir(r, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of ents) {
        const p = path.join(r, e.name);
        if (!(await isDir(p))) {
          ignored++;
          continue;
        }
        const w = await walkImages(p);
        problems.push(...prefixed(w.problems, e.name));
        ignored += w.ignored;
        classSet.add(e.name);
        perRoot.push({ split, cls: e.name, files: w.files.map((f) => ({ path: f.path, rel: `${e.name}/${f.rel}` })) });
      }
    }
    const classes = [...classSet].sort();
    const entries: PlanEntry[] = [];
    for (const g of perRoot) for (const f of g.files) entries.push({ name: stemOf(f.rel), split: g.split, label: classes.indexOf(g.cls), x: f });
    const dp: string[] = [];
    if (!classes.length) dp.push(`No class folders in ${root}: a labeled dataset has one sub-folder per class.`);
    else if (classes.length < 2) dp.push(`Only one class folder (${classes[0]}); a labeled dataset needs at least two.`);
    return { ...base, layout: 'folders', root, entries, problems, ignored, classes, datasetProblems: dp };
  }
  // fashion-mnist: handled by its own validator (idx files, not images).
  const root = await requireSourcePath(req.path);
  return { ...base, layout: 'idx', root };
}
