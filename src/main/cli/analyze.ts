/**
 * `atelier analyze pca|kmeans|hierarchical --input FILE | --dataset NAME [options]`
 * Runs the analyses in-process on a matrix file (CSV/TSV/JSON/NPY/IDX) or an imported dataset,
 * with the same request schemas and code as the analysis.* channels. Human summary by default,
 * the full result as JSON with --json. Exit codes: 0 ok, 1 failed, 2 usage.
 */
import path from 'node:path';
import {
  ANALYSIS_DEFAULT_LIMIT,
  KMEANS_DEFAULT_N_INIT,
  hierarchicalRequestSchema,
  kmeansRequestSchema,
  pcaRequestSchema,
  type HierarchicalResult,
  type KMeansResultDto,
  type PcaResult,
} from '../../shared/channels/analysis';
import { StudioError } from '../../shared/errors';
import { type ResolvedSource, type SourceReq, resolveSource, runHierarchical, runKMeans, runPca } from '../engine/analysis/api';
import { type Step, drive } from '../engine/analysis/steps';
import { defaultWorkspaceRoot, openWorkspace } from '../engine/core/workspace';
import { type Args, parseArgs } from './args';

const USAGE = `Usage:
  atelier analyze pca          --input FILE | --dataset NAME [--components N] [--dims 2|3] [--method auto|covariance|gram|randomized]
  atelier analyze kmeans       --input FILE | --dataset NAME --k K [--metric euclidean|manhattan] [--n-init N] [--local-trials N]
                               [--max-iter N] [--tol T]   (defaults: n-init ${KMEANS_DEFAULT_N_INIT} greedy k-means++ initialisations,
                               local-trials 2 + floor(ln k) candidates per centre, max-iter 300, tol 0)
  atelier analyze hierarchical --input FILE | --dataset NAME [--linkage single|complete|average|weighted|ward]
                               [--metric euclidean|manhattan|cosine] [--k K | --cut-height H]
Common: [--json] [--seed S] [--limit N] [--split train|test] [--role a|b|x] [--workspace DIR]
  FILE: .csv/.tsv/.txt (numbers, optional header), .json (array of rows), .npy, MNIST idx (.gz)
  NAME: an imported dataset id (images flattened, pixels in [0,1]; default limit: pca/kmeans ${ANALYSIS_DEFAULT_LIMIT.pca}, hierarchical ${ANALYSIS_DEFAULT_LIMIT.hierarchical})
  --limit also caps the rows of a FILE (first N rows).
  Workspace default: ${defaultWorkspaceRoot()}`;

function num(args: Args, name: string): number | undefined {
  const v = args.flags[name];
  if (v === undefined) return undefined;
  if (v === true) throw new UsageError(`--${name} needs a value`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} needs a number, got "${v}"`);
  return n;
}
function str(args: Args, name: string): string | undefined {
  const v = args.flags[name];
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

class UsageError extends Error {}

/** { [field]: v } for a flag that was given (v neither undefined nor ''), else {}: spread into a request. */
function given<K extends string, V>(field: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined || v === '' ? {} : ({ [field]: v } as Partial<Record<K, V>>);
}

function progressPrinter(enabled: boolean): (s: Step) => void {
  let last = 0;
  return (s) => {
    if (!enabled) return;
    const now = Date.now();
    if (now - last < 250) return;
    last = now;
    process.stderr.write(`\r  ${Math.round(s.fraction * 100)
      .toString()
      .padStart(3)}%  ${s.message.slice(0, 70).padEnd(70)}`);
  };
}

function fmt(v: number, digits = 4): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(digits);
}

export async function runAnalyzeCli(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === 'help' || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  let args: Args;
  try {
    args = parseArgs(rest, ['json']);
    if (!['pca', 'kmeans', 'hierarchical'].includes(sub)) throw new UsageError(`Unknown analysis "${sub}": use pca, kmeans or hierarchical.`);
    const input = str(args, 'input');
    const dataset = str(args, 'dataset');
    if (!!input === !!dataset) throw new UsageError('Give exactly one of --input FILE or --dataset NAME.');
    const json = !!args.flags.json;
    const seed = num(args, 'seed') ?? 0;
    const limit = num(args, 'limit');
    const source: SourceReq = input
      ? { kind: 'matrix', path: path.resolve(input) }
      : {
          kind: 'dataset',
          datasetId: dataset!,
          split: (str(args, 'split') ?? 'train') as 'train' | 'test',
          seed,
          ...given('limit', limit),
          ...given('role', str(args, 'role') as 'a' | 'b' | 'x' | undefined),
        };
    const common = { source };
    // opened only for --dataset (a file analysis touches no workspace)
    const wsRoot = typeof args.flags.workspace === 'string' ? path.resolve(args.flags.workspace) : defaultWorkspaceRoot();
    const ctx = {
      get workspace() {
        return openWorkspace(wsRoot);
      },
    };
    const showProgress = !json && process.stderr.isTTY === true;
    const onStep = progressPrinter(showProgress);
    const load = async (kind: 'pca' | 'kmeans' | 'hierarchical'): Promise<ResolvedSource> => {
      const src = await resolveSource(ctx, source, ANALYSIS_DEFAULT_LIMIT[kind]);
      if (source.kind === 'matrix' && limit !== undefined && limit < src.matrix.rows) {
        src.matrix = { rows: limit, cols: src.matrix.cols, data: src.matrix.data.subarray(0, limit * src.matrix.cols) };
        src.info = { ...src.info, n: limit, description: `${src.info.description}, first ${limit} rows` };
      }
      return src;
    };
    const t0 = Date.now();
    const done = (): void => {
      if (showProgress) process.stderr.write('\r' + ' '.repeat(78) + '\r');
    };
    if (sub === 'pca') {
      const req = parse(pcaRequestSchema, {
        ...common,
        seed,
        ...given('nComponents', num(args, 'components')),
        ...given('projectionDims', num(args, 'dims')),
        ...given('method', str(args, 'method')),
      });
      const r: PcaResult = drive(runPca(await load('pca'), req), onStep);
      done();
      if (json) console.log(JSON.stringify(r));
      else {
        console.log(`PCA of ${r.source.description}: ${r.source.n} x ${r.source.d}, method ${r.method}, ${((Date.now() - t0) / 1000).toFixed(2)} s`);
        console.log(`  total variance ${fmt(r.totalVariance)}`);
        r.explained.forEach((v, i) => console.log(`  PC${i + 1}: variance ${fmt(v)}  ratio ${(100 * r.ratio[i]!).toFixed(2)}%  cumulative ${(100 * r.cumulative[i]!).toFixed(2)}%`));
      }
      return 0;
    }
    if (sub === 'kmeans') {
      const k = num(args, 'k');
      if (k === undefined) throw new UsageError('kmeans needs --k K.');
      const req = parse(kmeansRequestSchema, {
        ...common,
        k,
        seed,
        ...given('metric', str(args, 'metric')),
        ...given('nInit', num(args, 'n-init')),
        ...given('localTrials', num(args, 'local-trials')),
        ...given('maxIter', num(args, 'max-iter')),
        ...given('tol', num(args, 'tol')),
      });
      const r: KMeansResultDto = drive(runKMeans(await load('kmeans'), req), onStep);
      done();
      if (json) console.log(JSON.stringify(r));
      else {
        console.log(`k-means (${r.metric === 'manhattan' ? 'k-medians, manhattan' : 'euclidean'}) of ${r.source.description}: k=${req.k}, ${((Date.now() - t0) / 1000).toFixed(2)} s`);
        console.log(`  ${r.converged ? 'converged' : 'stopped at max-iter'} after ${r.iterations} iterations, inertia ${fmt(r.inertia, 7)} (best of ${r.nInit} initialisation${r.nInit === 1 ? '' : 's'}, ${r.localTrials} k-means++ candidates per centre)`);
        console.log(`  cluster sizes: ${r.sizes.join(' ')}`);
      }
      return 0;
    }
    const req = parse(hierarchicalRequestSchema, {
      ...common,
      ...given('linkage', str(args, 'linkage')),
      ...given('metric', str(args, 'metric')),
      ...given('k', num(args, 'k')),
      ...given('cutHeight', num(args, 'cut-height')),
    });
    const r: HierarchicalResult = drive(runHierarchical(await load('hierarchical'), req), onStep);
    done();
    if (json) console.log(JSON.stringify(r));
    else {
      console.log(`${r.method} linkage (${r.metric}) of ${r.source.description}: ${r.linkage.length} merges, ${((Date.now() - t0) / 1000).toFixed(2)} s`);
      console.log('  last merges [a, b, height, size]:');
      for (const row of r.linkage.slice(-5)) console.log(`    [${row[0]}, ${row[1]}, ${fmt(row[2]!, 6)}, ${row[3]}]`);
      if (r.clusters) {
        const sizes = new Map<number, number>();
        for (const c of r.clusters) sizes.set(c, (sizes.get(c) ?? 0) + 1);
        console.log(`  ${sizes.size} flat clusters, sizes: ${[...sizes.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]).join(' ')}`);
      }
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof StudioError) {
      console.error(`error (${err.code}): ${err.message}${err.hint ? `\n  ${err.hint}` : ''}`);
      return 1;
    }
    throw err;
  }
}

function parse<S extends { safeParse(v: unknown): { success: true; data: unknown } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }>(
  schema: S,
  value: unknown,
): Extract<ReturnType<S['safeParse']>, { success: true }>['data'] {
  const r = schema.safeParse(value);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.map(String).join('.') || 'request'}: ${i.message}`).join('; ');
    throw new UsageError(`Invalid options: ${msg}`);
  }
  return r.data as never;
}
