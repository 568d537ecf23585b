/**
 * Analysis speed figures for `npm run bench`: k-means on 60,000 x 784 (k = 10) and hierarchical
 * clustering on 5,000 x 784 for each linkage, plus PCA. Uses the real Fashion-MNIST training
 * images when the Debian package's file is present (pixels scaled to [0, 1]), else seeded uniform
 * random data; the figures say which.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import { pdist } from './distances';
import { linkage } from './hierarchical';
import { parseIdx } from './io';
import { kmeans } from './kmeans';
import { type Matrix, headRows } from './matrix';
import { pca } from './pca';
import { Rng } from './rng';

export const FASHION_TRAIN_IMAGES = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';

/** Same shape as the CLI bench's figures. */
export interface AnalysisFigure {
  section: 'analysis';
  name: string;
  value: number | null;
  unit: string;
  target?: string;
  met?: boolean | null;
  note?: string;
}

export interface AnalysisBenchOptions {
  /** Smaller shapes (CI): 10,000 rows for k-means, 1,000 for hierarchical. */
  quick?: boolean;
  log?: (line: string) => void;
  /** Override the data file (idx, gzipped or not). */
  imagesPath?: string;
}

export function benchData(rows: number, imagesPath = FASHION_TRAIN_IMAGES): { X: Matrix; source: string } {
  if (existsSync(imagesPath)) {
    const raw = readFileSync(imagesPath);
    const X = parseIdx(imagesPath.endsWith('.gz') ? gunzipSync(raw) : raw);
    return { X: headRows(X, rows), source: `Fashion-MNIST train images (${imagesPath})` };
  }
  const d = 784;
  const rng = new Rng(1234);
  const data = new Float32Array(rows * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  return { X: { rows, cols: d, data }, source: `uniform random data, seed 1234 (${imagesPath} not found)` };
}

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

export async function benchAnalysis(opts: AnalysisBenchOptions = {}): Promise<AnalysisFigure[]> {
  const log = opts.log ?? (() => {});
  const quick = !!opts.quick;
  const figures: AnalysisFigure[] = [];
  // The machine may be shared: each figure's note also gives this process's CPU seconds.
  let cpuMark = process.cpuUsage();
  const add = (f: Omit<AnalysisFigure, 'section'>, cpuSeconds?: number): void => {
    const cpu = process.cpuUsage(cpuMark);
    cpuMark = process.cpuUsage();
    const c = cpuSeconds ?? (cpu.user + cpu.system) / 1e6;
    f.note = `${f.note ? `${f.note}; ` : ''}cpu ${c.toFixed(2)} s`;
    figures.push({ section: 'analysis', ...f });
    log(`${f.name}: ${f.value === null ? '-' : f.value.toFixed(3)} ${f.unit}${f.note ? `  (${f.note})` : ''}`);
  };
  const nK = quick ? 10_000 : 60_000;
  const nH = quick ? 1_000 : 5_000;
  const { X: all, source } = benchData(nK, opts.imagesPath);
  log(`data: ${source}; ${os.cpus().length} cpus, load ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

  // k-means, k = 10, k-means++ seed 0, until the centroids stop moving (or 300 iterations)
  {
    const maxIter = quick ? 30 : 300;
    cpuMark = process.cpuUsage();
    let first = 0;
    let firstCpu = process.cpuUsage();
    const t0 = performance.now();
    const r = kmeans(all, {
      k: 10,
      seed: 0,
      maxIter,
      onIteration: (it) => {
        if (it.iteration === 1) {
          first = performance.now();
          firstCpu = process.cpuUsage();
        }
      },
    });
    const total = seconds(t0);
    const iters = Math.max(1, r.iterations - 1);
    const perIter = (performance.now() - first) / 1000 / iters;
    const used = process.cpuUsage(firstCpu);
    const perIterCpu = (used.user + used.system) / 1e6 / iters;
    add({
      name: `kmeans ${all.rows}x${all.cols} k=10`,
      value: total,
      unit: 's',
      note: `${r.iterations} iterations (${r.converged ? 'converged, centroids stopped moving' : `not converged in ${maxIter}`}), ${(perIter * 1000).toFixed(0)} ms/iteration (cpu ${(perIterCpu * 1000).toFixed(0)} ms), inertia ${r.inertia.toPrecision(6)}; ${source.split(' (')[0]}`,
    });
    add({ name: `kmeans ${all.rows}x${all.cols} k=10 per iteration`, value: perIter, unit: 's' }, perIterCpu);
    await tick();
  }

  // hierarchical on the first nH rows: distances once, then each linkage (each recomputes them)
  const H = headRows(all, nH);
  {
    cpuMark = process.cpuUsage();
    const t0 = performance.now();
    pdist(H, 'euclidean');
    add({ name: `pdist euclidean ${H.rows}x${H.cols}`, value: seconds(t0), unit: 's', note: `${((H.rows * (H.rows - 1)) / 2 / 1e6).toFixed(1)}M distances` });
    await tick();
  }
  for (const method of ['single', 'complete', 'average'] as const) {
    cpuMark = process.cpuUsage();
    const t0 = performance.now();
    const t = linkage(H, { method, metric: 'euclidean' });
    add({
      name: `hierarchical ${method} ${H.rows}x${H.cols}`,
      value: seconds(t0),
      unit: 's',
      target: 'seconds',
      met: seconds(t0) < 30,
      note: `euclidean, incl. distances; top merge height ${t.Z[(t.n - 2) * 4 + 2].toPrecision(5)}`,
    });
    await tick();
  }
  {
    cpuMark = process.cpuUsage();
    const t0 = performance.now();
    linkage(H, { method: 'average', metric: 'manhattan' });
    add({ name: `hierarchical average manhattan ${H.rows}x${H.cols}`, value: seconds(t0), unit: 's' });
    await tick();
  }

  // PCA: 10 components of all rows (randomized), and the exact covariance route on a subset
  {
    cpuMark = process.cpuUsage();
    const t0 = performance.now();
    const m = pca(all, { nComponents: 10, method: 'randomized', seed: 0 });
    const cum = m.explainedVarianceRatio.reduce((a, b) => a + b, 0);
    add({ name: `pca randomized ${all.rows}x${all.cols} k=10`, value: seconds(t0), unit: 's', note: `10 components explain ${(100 * cum).toFixed(1)}%` });
    await tick();
    const S = headRows(all, quick ? 2_000 : 10_000);
    cpuMark = process.cpuUsage();
    const t1 = performance.now();
    const e = pca(S, { nComponents: 10, method: 'covariance' });
    const cumE = e.explainedVarianceRatio.reduce((a, b) => a + b, 0);
    add({ name: `pca covariance ${S.rows}x${S.cols} (exact)`, value: seconds(t1), unit: 's', note: `10 components explain ${(100 * cumE).toFixed(1)}%` });
  }
  return figures;
}
