/**
 * k-means (Lloyd) with greedy k-means++ seeding, restarts and a k-medians variant for manhattan.
 *
 * Defaults follow scikit-learn's estimator (docs/analysis.md lists them): greedy k-means++ with
 * 2 + floor(ln k) candidates per centre, KMEANS_DEFAULT_N_INIT initialisations, the lowest
 * inertia kept. One plain k-means++ draw stops in a local optimum on easy data often enough (two
 * centres in one blob) that a single run is not a default a user can trust.
 *
 * - euclidean: assign by squared distance, update centroids to the cluster means; inertia = sum
 *   of squared distances (as scikit-learn). Lloyd's iterations skip the points that Hamerly's
 *   bounds prove cannot change cluster (kmeans-bounds.ts; same labels as computing every
 *   distance); the distances that are computed go through the SIMD products above a few million
 *   multiply-adds (kmeans-gemm.ts), else float64 loops.
 * - manhattan: assign by L1 distance, update to the coordinate-wise median (k-medians);
 *   inertia = sum of L1 distances.
 * Stops when no centroid moves by more than `tol` (default 0: until the centroids are exactly
 * stable, i.e. the assignment no longer changes) or after `maxIter` iterations. Empty clusters
 * are re-seeded from the points farthest from their centroid. Deterministic for a given seed.
 */
import { KMEANS_DEFAULT_N_INIT } from '../../../shared/channels/analysis';
import { StudioError } from '../../../shared/errors';
import { type DistsCost, type DistsOf, type LloydOutcome, lloydBounded, relocateEmpty, sqDist } from './kmeans-bounds';
import { CentreProducts } from './kmeans-gemm';
import { type Matrix, assertUsable } from './matrix';
import { Rng } from './rng';
import { drive, mapSteps } from './steps';

/**
 * Share of a block of points needing distances from which the products take the whole block:
 * rows read in place cost ~0.3 us a point, rows gathered first ~1 us (10,000 x 784, k = 10).
 */
const DENSE_FROM = 0.3;

export type KMeansMetric = 'euclidean' | 'manhattan';

export interface KMeansIteration {
  run: number;
  nInit: number;
  iteration: number;
  /** Inertia of the assignment made in this iteration (before the update). */
  inertia: number;
  /** Largest centroid move in this iteration (in the metric's distance). */
  shift: number;
}

export interface KMeansOptions {
  k: number;
  metric?: KMeansMetric;
  /** 'k-means++' (default), 'random' (k distinct points), or explicit initial centroids (k x d). */
  init?: 'k-means++' | 'random' | Matrix;
  /** Initialisations (restarts); the run with the lowest inertia wins. Default KMEANS_DEFAULT_N_INIT (always 1 with explicit centroids). */
  nInit?: number;
  maxIter?: number;
  /** Stop when the largest centroid shift is <= tol. Default 0. */
  tol?: number;
  seed?: number;
  /** k-means++ candidates per centre, the one lowering the potential most kept. Default defaultLocalTrials(k) = 2 + floor(ln k) (scikit-learn's greedy k-means++); 1 = plain k-means++. */
  localTrials?: number;
  onIteration?: (it: KMeansIteration) => void;
  /** Polled every iteration; returning true stops with StudioError('CANCELLED'). */
  isCancelled?: () => boolean;
}

export interface KMeansResult {
  /** Cluster of each point, 0..k-1. */
  labels: Int32Array;
  /** k x d (float32). */
  centroids: Matrix;
  inertia: number;
  /** Iterations of the winning run. */
  iterations: number;
  /** True when the winning run stopped because the centroids stopped moving (shift <= tol). */
  converged: boolean;
  /** Points per cluster. */
  sizes: Int32Array;
  metric: KMeansMetric;
  /** Which restart won (0-based) and the inertia of each restart. */
  bestRun: number;
  runInertias: number[];
  /** k-means++ candidates per centre that were used (1 with explicit or random initial centroids). */
  localTrials: number;
}

/** scikit-learn's number of greedy k-means++ candidates per centre: 2 + floor(ln k). */
export function defaultLocalTrials(k: number): number {
  return 2 + Math.floor(Math.log(Math.max(1, k)));
}

export function kmeans(X: Matrix, opts: KMeansOptions): KMeansResult {
  return drive(kmeansSteps(X, opts), (it) => {
    if (opts.isCancelled?.()) throw new StudioError('CANCELLED', 'k-means was cancelled.');
    opts.onIteration?.(it);
  });
}

/** k-means as a generator yielding after every iteration (see steps.ts). */
export function* kmeansSteps(X: Matrix, opts: Omit<KMeansOptions, 'onIteration' | 'isCancelled'>): Generator<KMeansIteration, KMeansResult, void> {
  const metric = opts.metric ?? 'euclidean';
  if (metric !== 'euclidean' && metric !== 'manhattan') {
    throw new StudioError('BAD_INPUT', `k-means supports euclidean or manhattan distance, not "${String(metric)}".`);
  }
  assertUsable(X, 'input', 1);
  const n = X.rows;
  const d = X.cols;
  const k = opts.k;
  if (!Number.isInteger(k) || k < 1) {
    throw new StudioError('BAD_INPUT', `The number of clusters k must be a whole number >= 1 (got ${k}).`);
  }
  if (k > n) {
    throw new StudioError('BAD_INPUT', `k = ${k} clusters is more than the ${n} point${n === 1 ? '' : 's'} to cluster.`, {
      hint: `Choose k <= ${n}.`,
    });
  }
  const maxIter = opts.maxIter ?? 300;
  const tol = opts.tol ?? 0;
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new StudioError('BAD_INPUT', `maxIter must be a whole number >= 1 (got ${maxIter}).`);
  if (!(tol >= 0)) throw new StudioError('BAD_INPUT', `tol must be >= 0 (got ${tol}).`);
  const explicit = typeof opts.init === 'object' ? opts.init : null;
  if (explicit) {
    if (explicit.rows !== k || explicit.cols !== d) {
      throw new StudioError('BAD_INPUT', `Initial centroids are ${explicit.rows} x ${explicit.cols} but k x d = ${k} x ${d} was expected.`);
    }
    assertUsable(explicit, 'initial centroids', 1);
  }
  const nInit = explicit ? 1 : (opts.nInit ?? KMEANS_DEFAULT_N_INIT);
  if (!Number.isInteger(nInit) || nInit < 1) throw new StudioError('BAD_INPUT', `nInit must be a whole number >= 1 (got ${nInit}).`);
  const localTrials = opts.localTrials ?? defaultLocalTrials(k);
  if (!Number.isInteger(localTrials) || localTrials < 1) throw new StudioError('BAD_INPUT', `localTrials must be a whole number >= 1 (got ${localTrials}).`);

  const rng = new Rng(opts.seed ?? 0);
  const xx = metric === 'euclidean' ? sqNorms(X) : new Float64Array(0);
  // euclidean on enough work: distances through the SIMD products (kmeans-gemm.ts), freed at the end
  const prods = metric === 'euclidean' ? CentreProducts.open(X, xx, Math.max(k, localTrials)) : null;
  const dists: DistsTo = prods ? (C, m, out) => prods.sqDists(C, m, out) : distsByLoops(X, metric);
  // euclidean: Lloyd with Hamerly's bounds (kmeans-bounds.ts) on the products or float64 loops
  const distsOf: DistsOf = prods ? (C, m, idx, count, out) => prods.sqDistsOf(C, m, idx, count, out) : (C, m, idx, count, out) => {
    for (let t = 0; t < count; t++) for (let c = 0; c < m; c++) out[t * m + c] = sqDist(X, idx[t]!, C, c);
  };
  // worst-case relative error of those squared distances (float32 products, or float64 sums)
  const cost: DistsCost = prods
    ? { slack: (X.cols + 4) * 2 ** -24, denseFrom: DENSE_FROM, tighten: false }
    : { slack: (X.cols + 4) * 2 ** -52, denseFrom: Infinity, tighten: true };
  const iterate = (C: Float64Array) =>
    metric === 'euclidean' ? finish(X, lloydBounded(X, xx, C, k, distsOf, cost, maxIter, tol), k, metric) : lloyd(X, C, k, maxIter, tol);
  let best: RunResult | null = null;
  let bestRun = 0;
  const runInertias: number[] = [];
  try {
    for (let run = 0; run < nInit; run++) {
      let C: Float64Array;
      if (explicit) C = Float64Array.from(explicit.data);
      else if (opts.init === 'random') C = randomInit(X, k, rng);
      else C = kmeansPlusPlus(X, k, metric, rng, localTrials, dists);
      const r = yield* mapSteps(iterate(C), (it) => ({ run, nInit, ...it }));
      runInertias.push(r.inertia);
      if (!best || r.inertia < best.inertia) {
        best = r;
        bestRun = run;
      }
    }
  } finally {
    prods?.close();
  }
  return { ...best!, metric, bestRun, runInertias, localTrials: opts.init === undefined || opts.init === 'k-means++' ? localTrials : 1 };
}

/** The greedy k-means++ centroids that kmeans' first run starts from for this seed (euclidean): the bench gives a peer the same start. */
export function kmeansSeeds(X: Matrix, k: number, seed = 0, localTrials = defaultLocalTrials(k)): Matrix {
  assertUsable(X, 'input', k);
  const xx = sqNorms(X);
  const prods = CentreProducts.open(X, xx, Math.max(k, localTrials));
  try {
    const C = kmeansPlusPlus(X, k, 'euclidean', new Rng(seed), localTrials, prods ? (c, m, out) => prods.sqDists(c, m, out) : distsByLoops(X, 'euclidean'));
    return { rows: k, cols: X.cols, data: Float32Array.from(C) };
  } finally {
    prods?.close();
  }
}

function sqNorms(X: Matrix): Float64Array {
  const { rows, cols, data } = X;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const o = i * cols;
    for (let j = 0; j < cols; j++) s += data[o + j] * data[o + j];
    out[i] = s;
  }
  return out;
}

/** Distance (squared for euclidean) from point i to centroid c, computed directly. */
function pointToCentroid(X: Matrix, i: number, C: Float64Array, c: number, metric: KMeansMetric): number {
  const d = X.cols;
  const x = X.data;
  const o = i * d;
  const co = c * d;
  let s = 0;
  if (metric === 'euclidean') {
    for (let j = 0; j < d; j++) {
      const e = x[o + j] - C[co + j];
      s += e * e;
    }
  } else {
    for (let j = 0; j < d; j++) s += Math.abs(x[o + j] - C[co + j]);
  }
  return s;
}

function randomInit(X: Matrix, k: number, rng: Rng): Float64Array {
  const n = X.rows;
  const d = X.cols;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const C = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    const r = c + rng.int(n - c);
    const t = idx[c];
    idx[c] = idx[r];
    idx[r] = t;
    for (let j = 0; j < d; j++) C[c * d + j] = X.data[idx[c] * d + j];
  }
  return C;
}

/**
 * k-means++ (Arthur & Vassilvitskii 2007): first centre uniform, then each next centre drawn with
 * probability proportional to D(x)^2 (euclidean) or D(x) (manhattan / k-medians), D the
 * distance to the nearest centre so far. With localTrials > 1, that many candidates are drawn and
 * the one that lowers the potential most is kept (scikit-learn's greedy variant).
 */
function kmeansPlusPlus(X: Matrix, k: number, metric: KMeansMetric, rng: Rng, localTrials: number, dists: DistsTo): Float64Array {
  const n = X.rows;
  const d = X.cols;
  const C = new Float64Array(k * d);
  const weight = new Float64Array(n); // D^2 (euclidean) or D (manhattan) to the nearest centre
  const trials = Math.max(1, localTrials);
  const cands = new Float64Array(trials * d);
  const candD = new Float64Array(trials * n);
  const picks = new Int32Array(trials);
  const first = rng.int(n);
  for (let j = 0; j < d; j++) C[j] = X.data[first * d + j];
  dists(C, 1, weight);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += weight[i];
    if (!(total > 0)) {
      throw new StudioError(
        'BAD_INPUT',
        `The data has only ${c} distinct point${c === 1 ? '' : 's'}, fewer than k = ${k}: k-means cannot form ${k} clusters.`,
        { hint: `Choose k <= ${c}, or check that the rows are not all identical.` },
      );
    }
    // draw every candidate first (the draws do not depend on the evaluation), then the
    // distances to all of them in one pass over the data
    for (let trial = 0; trial < trials; trial++) {
      const r = rng.next() * total;
      let acc = 0;
      let pick = -1;
      for (let i = 0; i < n; i++) {
        acc += weight[i];
        if (weight[i] > 0) pick = i; // last positive-weight point, in case of rounding at the end
        if (acc > r && weight[i] > 0) {
          pick = i;
          break;
        }
      }
      picks[trial] = pick;
      cands.set(X.data.subarray(pick * d, pick * d + d), trial * d);
    }
    dists(cands, trials, candD);
    // keep the candidate that lowers the potential (sum of the weights) most; the first on ties
    let best = 0;
    let bestPot = Infinity;
    for (let t = 0; t < trials && trials > 1; t++) {
      let pot = 0;
      for (let i = 0; i < n; i++) pot += Math.min(weight[i], candD[t * n + i]);
      if (pot < bestPot) {
        bestPot = pot;
        best = t;
      }
    }
    C.set(cands.subarray(best * d, best * d + d), c * d);
    for (let i = 0; i < n; i++) {
      const v = candD[best * n + i];
      if (v < weight[i]) weight[i] = v;
    }
  }
  return C;
}

/** Distances (squared euclidean, or L1) of every point to centres 0..m-1 of C: out[t * n + i]. */
type DistsTo = (C: Float64Array, m: number, out: Float64Array) => void;

function distsByLoops(X: Matrix, metric: KMeansMetric): DistsTo {
  return (C, m, out) => {
    for (let t = 0; t < m; t++) for (let i = 0; i < X.rows; i++) out[t * X.rows + i] = pointToCentroid(X, i, C, t, metric);
  };
}

/** Assign every point to its nearest centroid by L1 distance (k-medians). Writes labels and dist; returns the inertia. */
function assignL1(X: Matrix, C: Float64Array, k: number, labels: Int32Array, dist: Float64Array): number {
  const n = X.rows;
  const d = X.cols;
  const x = X.data;
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let best = Infinity;
    let bc = 0;
    let c = 0;
    for (; c + 4 <= k; c += 4) {
      const c0 = c * d, c1 = c0 + d, c2 = c1 + d, c3 = c2 + d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < d; j++) {
        const a = x[o + j];
        s0 += Math.abs(a - C[c0 + j]);
        s1 += Math.abs(a - C[c1 + j]);
        s2 += Math.abs(a - C[c2 + j]);
        s3 += Math.abs(a - C[c3 + j]);
      }
      if (s0 < best) { best = s0; bc = c; }
      if (s1 < best) { best = s1; bc = c + 1; }
      if (s2 < best) { best = s2; bc = c + 2; }
      if (s3 < best) { best = s3; bc = c + 3; }
    }
    for (; c < k; c++) {
      const co = c * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += Math.abs(x[o + j] - C[co + j]);
      if (s < best) { best = s; bc = c; }
    }
    labels[i] = bc;
    dist[i] = best;
    inertia += best;
  }
  return inertia;
}

/** New centroids (coordinate-wise medians) from the labels; empty clusters take the farthest points. */
function updateMedians(X: Matrix, labels: Int32Array, dist: Float64Array, k: number, out: Float64Array): void {
  const n = X.rows;
  const d = X.cols;
  const x = X.data;
  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) counts[labels[i]]++;
  relocateEmpty(labels, dist, counts, k);
  out.fill(0);
  // group point indices by cluster, then a median per coordinate
  const start = new Int32Array(k + 1);
  for (let c = 0; c < k; c++) start[c + 1] = start[c] + counts[c];
  const fill = start.slice(0, k);
  const members = new Int32Array(n);
  for (let i = 0; i < n; i++) members[fill[labels[i]]++] = i;
  const buf = new Float64Array(n);
  for (let c = 0; c < k; c++) {
    const m = counts[c];
    if (m === 0) continue;
    for (let j = 0; j < d; j++) {
      for (let t = 0; t < m; t++) buf[t] = x[members[start[c] + t] * d + j];
      out[c * d + j] = median(buf, m);
    }
  }
}

/** Median of buf[0..m) (mean of the two middle values for even m); reorders buf. */
export function median(buf: Float64Array, m: number): number {
  const hi = m >> 1;
  const a = select(buf, 0, m - 1, hi);
  if (m % 2 === 1) return a;
  // the lower middle is the max of the left part after selection
  let b = -Infinity;
  for (let t = 0; t < hi; t++) if (buf[t] > b) b = buf[t];
  return (a + b) / 2;
}

/** Quickselect (Hoare partition, middle pivot): after it, buf[kth] is the kth smallest and buf[lo..kth) <= it. */
function select(buf: Float64Array, lo: number, hi: number, kth: number): number {
  while (hi > lo) {
    const pivot = buf[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (buf[i] < pivot) i++;
      while (buf[j] > pivot) j--;
      if (i <= j) {
        const t = buf[i];
        buf[i] = buf[j];
        buf[j] = t;
        i++;
        j--;
      }
    }
    if (kth <= j) hi = j;
    else if (kth >= i) lo = i;
    else break;
  }
  return buf[kth];
}

type RunResult = Omit<KMeansResult, 'bestRun' | 'runInertias' | 'metric' | 'localTrials'>;
type RunSteps = Generator<{ iteration: number; inertia: number; shift: number }, RunResult, void>;

/** One euclidean run's result from its final labels and centres: exact inertia, sizes. */
function* finish(X: Matrix, run: Generator<{ iteration: number; inertia: number; shift: number }, LloydOutcome, void>, k: number, metric: KMeansMetric): RunSteps {
  const { labels, C, iterations, converged } = yield* run;
  return result(X, labels, C, k, metric, iterations, converged);
}

function result(X: Matrix, labels: Int32Array, C: Float64Array, k: number, metric: KMeansMetric, iterations: number, converged: boolean): RunResult {
  // exact inertia (the products' distances lose a few digits for points close to their centroid)
  let inertia = 0;
  for (let i = 0; i < X.rows; i++) inertia += pointToCentroid(X, i, C, labels[i], metric);
  const sizes = new Int32Array(k);
  for (let i = 0; i < X.rows; i++) sizes[labels[i]]++;
  return { labels, centroids: { rows: k, cols: X.cols, data: Float32Array.from(C) }, inertia, iterations, converged, sizes };
}

/** k-medians (manhattan): plain Lloyd iterations, L1 assignment and coordinate-wise medians. */
function* lloyd(X: Matrix, C0: Float64Array, k: number, maxIter: number, tol: number): RunSteps {
  const n = X.rows;
  const d = X.cols;
  let C: Float64Array = C0;
  let next: Float64Array = new Float64Array(k * d);
  const labels = new Int32Array(n);
  const dist = new Float64Array(n);
  let converged = false;
  let iterations = 0;
  let shift = Infinity;
  for (let it = 1; it <= maxIter; it++) {
    iterations = it;
    const inertia = assignL1(X, C, k, labels, dist);
    updateMedians(X, labels, dist, k, next);
    shift = 0;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += Math.abs(next[c * d + j] - C[c * d + j]);
      if (s > shift) shift = s;
    }
    const t = C;
    C = next;
    next = t;
    yield { iteration: it, inertia, shift };
    if (shift <= tol) {
      converged = true;
      break;
    }
  }
  // labels for the final centroids (they moved in the last update unless shift == 0)
  if (shift > 0) assignL1(X, C, k, labels, dist);
  return result(X, labels, C, k, 'manhattan', iterations, converged);
}
