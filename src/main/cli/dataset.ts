/**
 * `atelier dataset validate|import|list|get|delete|demo`: the dataset channels from a terminal,
 * through the in-process engine (same handlers, same validation as the app).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, intFlag, type Args } from './args';
import type { DatasetDemoResult, DatasetImportResult, DatasetKind, DatasetSummary, ValidationReport } from '../../shared/channels/dataset';
import { DATASET_KINDS } from '../../shared/channels/dataset';
import type { Envelope } from '../../shared/errors';
import type { EventMap } from '../../shared/events';
import { InProcessEngine } from '../engine/client/inprocess';
import { defaultWorkspaceRoot } from '../engine/core/workspace';

const USAGE = `Usage:
  atelier dataset validate <path> [--kind K] [--size S] [--network unet|resnet|any] [--batch B] [--json]
  atelier dataset import <path> --kind K --name N [--size S] [--fit cover|contain|fill] [--background #rrggbb]
                         [--channels auto|1|3] [--accept-partial] [--replace] [--json]
  atelier dataset list [--json]
  atelier dataset delete <id>
  atelier dataset demo [--force] [--no-photos] [--json]
      (also the colour photo demos nature-colorize and green2autumn when mate-backgrounds is installed;
       nature-colorize also takes the photos of lomiri-wallpapers-16.04, lomiri-wallpapers-20.04 and
       plasma-workspace-wallpapers when installed, and says what to install when not)
Kinds: ${DATASET_KINDS.join(', ')}. Common: --workspace DIR (default ${defaultWorkspaceRoot()}).
validate exits 0 when clean, 3 when importable with --accept-partial, 4 when not importable.`;

function unwrap<T>(env: Envelope<unknown>): T {
  if (!env.ok) throw Object.assign(new Error(env.error.message), env.error);
  return env.data as T;
}

/** Guess the kind of a folder from its layout, for `validate` without --kind. */
export function guessKind(p: string): DatasetKind {
  let names: string[] = [];
  try {
    names = fs.readdirSync(p).map((n) => n.toLowerCase());
  } catch {
    return 'paired';
  }
  if (names.some((n) => n.startsWith('train-images-idx3-ubyte'))) return 'fashion-mnist';
  if (names.includes('traina') && names.includes('trainb')) return 'unpaired';
  if (names.includes('a') && names.includes('b')) return 'paired';
  const dirs = names.filter((n) => !n.startsWith('.') && fs.statSync(path.join(p, fs.readdirSync(p).find((x) => x.toLowerCase() === n)!)).isDirectory());
  if (dirs.length >= 2 && !dirs.every((d) => ['train', 'test', 'val'].includes(d))) return 'labeled';
  return 'paired';
}

function kindFlag(args: Args, p: string | undefined, required: boolean): DatasetKind {
  const k = args.flags.kind;
  if (typeof k === 'string') {
    if (!(DATASET_KINDS as readonly string[]).includes(k)) throw new Error(`--kind must be one of ${DATASET_KINDS.join(', ')}; got "${k}"`);
    return k as DatasetKind;
  }
  if (required) throw new Error(`--kind is required (${DATASET_KINDS.join(', ')})`);
  return guessKind(p ?? '.');
}

function sourceReq(args: Args, p: string, kind: DatasetKind) {
  const size = intFlag(args, 'size');
  const batch = intFlag(args, 'batch');
  return {
    kind,
    path: path.resolve(p),
    ...(typeof args.flags.layout === 'string' ? { layout: args.flags.layout } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(typeof args.flags.network === 'string' ? { network: args.flags.network } : {}),
    ...(batch !== undefined ? { batchSize: batch } : {}),
  };
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;

function printReport(r: ValidationReport): void {
  console.log(`${r.kind} (${r.layout}) at ${r.root ?? '(dropped pairs)'}`);
  console.log(`files ${r.counts.files}: ${r.counts.ok} ok, ${r.counts.warnings} with warnings, ${r.counts.errors} bad; ${r.counts.items} usable items (train ${r.counts.train}, test ${r.counts.test})`);
  for (const f of r.files) {
    if (f.verdict === 'ok') continue;
    console.log(`  ${f.verdict === 'error' ? 'BAD ' : 'warn'} ${f.rel}: ${f.message}`);
  }
  if (r.pairs && (r.pairs.missingA.length || r.pairs.missingB.length)) console.log(`pairs: ${r.pairs.matched} matched, ${r.pairs.missingB.length} without B, ${r.pairs.missingA.length} without A`);
  if (r.domains) console.log(`domains: A ${r.domains.a}, B ${r.domains.b}`);
  if (r.classes) console.log(`classes: ${r.classes.map((c) => `${c.name} ${c.count}`).join(', ')}`);
  console.log(`channels: ${r.greyscale ? '1 (all greyscale)' : '3 (RGB)'}`);
  console.log(`size: ${r.size.message}`);
  console.log(`memory: ${r.memory.explanation}`);
  for (const p of r.problems) console.log(`note: ${p}`);
  console.log(r.clean ? 'Ready to import.' : r.importable ? 'Importable with --accept-partial (bad files are left out).' : 'Not importable as it is.');
}

function printList(list: DatasetSummary[]): void {
  if (!list.length) {
    console.log('No datasets. Try: atelier dataset demo');
    return;
  }
  for (const d of list) {
    const n = d.kind === 'unpaired' ? `A ${d.counts.a} / B ${d.counts.b}` : `${d.counts.train} train / ${d.counts.test} test`;
    console.log(`${d.id.padEnd(24)} ${d.kind.padEnd(13)} ${`${d.image.width}x${d.image.height}x${d.image.channels}`.padEnd(11)} ${n.padEnd(24)} ${mb(d.bytes)}`);
  }
}

/** Run a job channel and wait for its final event, printing progress lines. */
async function runJob<T>(eng: InProcessEngine, channel: string, req: unknown, quiet: boolean): Promise<T> {
  const ended = new Map<string, { ok: boolean; payload: unknown }>();
  let wanted: string | null = null;
  let resolve!: (v: { ok: boolean; payload: unknown }) => void;
  const finished = new Promise<{ ok: boolean; payload: unknown }>((r) => (resolve = r));
  let lastMsg = '';
  eng.onEvent((event, payload) => {
    const p = payload as { jobId?: string };
    if (event === 'job.progress' && !quiet && (wanted === null || p.jobId === wanted)) {
      const pr = payload as EventMap['job.progress'];
      const line = `${pr.message ?? ''} ${pr.total ? `${pr.step}/${pr.total}` : ''}`.trim();
      if (line !== lastMsg) console.log(`progress ${line}`);
      lastMsg = line;
    }
    if (event === 'job.done' || event === 'job.failed') {
      const v = { ok: event === 'job.done', payload };
      if (wanted && p.jobId === wanted) resolve(v);
      else ended.set(p.jobId!, v);
    }
  });
  const { jobId } = unwrap<{ jobId: string }>(await eng.request(channel, req));
  wanted = jobId;
  const early = ended.get(jobId);
  if (early) resolve(early);
  const end = await finished;
  if (!end.ok) {
    const f = end.payload as EventMap['job.failed'];
    throw Object.assign(new Error(f.error.message), f.error);
  }
  return (end.payload as EventMap['job.done']).result as T;
}

export async function runDatasetCli(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, ['json', 'force', 'accept-partial', 'replace', 'no-photos']);
  if (!sub || sub === 'help' || sub === '--help') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  const ws = typeof args.flags.workspace === 'string' ? path.resolve(args.flags.workspace) : defaultWorkspaceRoot();
  const json = !!args.flags.json;
  if (sub === 'demo' && typeof args.flags['write-subset'] === 'string') {
    const { writeDemoSubset, DEBIAN_FASHION_DIR } = await import('../engine/data/demo');
    const r = await writeDemoSubset(process.env.ATELIER_FASHION_MNIST_DIR ?? DEBIAN_FASHION_DIR, path.resolve(args.flags['write-subset']));
    console.log(`wrote ${r.count} images (${mb(r.bytes)}) to ${args.flags['write-subset']}`);
    return 0;
  }
  const eng = new InProcessEngine({ workspaceRoot: ws });
  try {
    switch (sub) {
      case 'validate': {
        const p = args._[0];
        if (!p) throw new Error('validate needs a path');
        const r = unwrap<ValidationReport>(await eng.request('dataset.validate', sourceReq(args, p, kindFlag(args, p, false))));
        if (json) console.log(JSON.stringify(r));
        else printReport(r);
        return r.clean ? 0 : r.importable ? 3 : 4;
      }
      case 'import': {
        const p = args._[0];
        if (!p) throw new Error('import needs a path');
        const name = args.flags.name;
        if (typeof name !== 'string') throw new Error('--name is required');
        const channels = args.flags.channels;
        const req = {
          ...sourceReq(args, p, kindFlag(args, p, true)),
          name,
          ...(typeof args.flags.fit === 'string' ? { fit: args.flags.fit } : {}),
          ...(typeof args.flags.background === 'string' ? { background: args.flags.background } : {}),
          ...(typeof channels === 'string' ? { channels: channels === 'auto' ? 'auto' : Number(channels) } : {}),
          acceptPartial: !!args.flags['accept-partial'],
          replace: !!args.flags.replace,
        };
        const r = await runJob<DatasetImportResult>(eng, 'dataset.import', req, json);
        if (json) console.log(JSON.stringify(r));
        else {
          console.log(`imported ${r.imported} items as "${r.dataset.id}" (${r.dataset.image.width}x${r.dataset.image.height}x${r.dataset.image.channels}), ${r.skipped.length} skipped, ${r.warnings} warnings`);
          for (const s of r.skipped.slice(0, 20)) console.log(`  skipped ${s.path}: ${s.message}`);
        }
        return 0;
      }
      case 'list': {
        const list = unwrap<DatasetSummary[]>(await eng.request('dataset.list', {}));
        if (json) console.log(JSON.stringify(list));
        else printList(list);
        return 0;
      }
      case 'delete': {
        const id = args._[0];
        if (!id) throw new Error('delete needs a dataset id');
        unwrap(await eng.request('dataset.delete', { id }));
        console.log(`deleted ${id}`);
        return 0;
      }
      case 'demo': {
        const r = await runJob<DatasetDemoResult>(eng, 'dataset.demo', { force: !!args.flags.force, photos: !args.flags['no-photos'] }, json);
        if (json) console.log(JSON.stringify(r));
        else {
          console.log(`demo datasets (images from ${r.from === 'debian' ? 'the Debian package' : 'the shipped subset'}; built: ${r.built.join(', ') || 'none, all present'})`);
          if (r.photos?.missing) console.log(`colour photo demos skipped: ${r.photos.missing.message}\n  ${r.photos.missing.hint}`);
          else if (r.photos) console.log(`colour photo demos from ${r.photos.dir} (built: ${r.photos.built.join(', ') || 'none, all present'})`);
          printList(r.datasets);
        }
        return 0;
      }
      default:
        console.error(`Unknown dataset command "${sub}".\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await eng.close();
  }
}
