/**
 * Lloyd's iterations (euclidean k-means) with Hamerly's bounds (G. Hamerly, "Making k-means
 * even faster", SDM 2010): the same assignments as plain Lloyd, without computing every
 * distance in every iteration.
 *
 * Each point keeps an upper bound u on the distance to its centre and a lower bound l on the
 * distance to every other centre. When the centres move, u grows by its centre's move and l
 * shrinks by the largest move of the others. A point whose u is below max(l, half the distance
 * from its centre to the nearest other centre) cannot change cluster and is skipped; otherwise
 * (with the loops, after making u exact and testing again) its k distances are computed, in
 * blocks, through `distsOf`: the SIMD products or float64 loops. As the centres settle, fewer
 * points are measured: the long tail of iterations before the labels stop changing (35-77 on
 * 10,000 Fashion-MNIST images with k = 10) moves only the points near a boundary.
 *
 * Why the labels are plain Lloyd's: a skip needs u < m strictly (a tie is recomputed, and the
 * recomputation picks the lowest index, as plain Lloyd); bounds taken from computed distances
 * are widened by their worst-case error (float32 products: (d + 4) 2^-24 (|x|^2 + |c|^2)), so a
 * bound never claims more than the arithmetic knows.
 *
 * Cluster sums are kept in float64 and moved point by point (a point that changes cluster is
 * subtracted from one sum and added to the other), so an iteration costs O(changed x d) besides
 * the distances; when no label changes the centres come out bit-identical and the shift is
 * exactly 0. At the end the sums are recomputed from the labels, so the centres depend on the
 * clustering only.
 * The per-iteration inertia is sum |x|^2 + sum_c (n_c |c|^2 - 2 c . S_c) (progress only: the
 * result's inertia is summed exactly from the final labels by the caller).
 */
import type { Matrix } from './matrix';

/** Squared distances of points idx[0..count) to the k centres of C: out[t * k + c]. idx is ascending. */
export type DistsOf = (C: Float64Array, k: number, idx: Int32Array, count: number, out: Float64Array) => void;

/** What distsOf's distances are worth and cost. */
export interface DistsCost {
  /** Relative error of its squared distances (see the header). */
  slack: number;
  /**
   * Share of a block of consecutive points needing distances from which distsOf gets the whole
   * block (products: rows read in place beat rows gathered; loops: Infinity, never).
   */
  denseFrom: number;
  /**
   * Make a failing upper bound exact (one float64 distance in JavaScript) before asking for the
   * point's k distances: worth it when those cost k such distances (loops), not when the
   * products give all k for less (10,000 x 784, k = 10: 0.6 s of CPU instead of 1.1 s).
   */
  tighten: boolean;
}

export interface LloydOutcome {
  labels: Int32Array;
  /** Final centres (k x d, float64). */
  C: Float64Array;
  iterations: number;
  converged: boolean;
}

/** Points per distsOf call (bounds the k-wide distance block). */
const BLOCK = 4096;

/** Squared euclidean distance from row i of X to centre c of C, in float64. */
export function sqDist(X: Matrix, i: number, C: Float64Array, c: number): number {
  const d = X.cols;
  const x = X.data;
  const o = i * d;
  const co = c * d;
  // four partial sums: independent additions keep the FPU busy (about twice as fast)
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const e0 = x[o + j]! - C[co + j]!;
    const e1 = x[o + j + 1]! - C[co + j + 1]!;
    const e2 = x[o + j + 2]! - C[co + j + 2]!;
    const e3 = x[o + j + 3]! - C[co + j + 3]!;
    s0 += e0 * e0;
    s1 += e1 * e1;
    s2 += e2 * e2;
    s3 += e3 * e3;
  }
  for (; j < d; j++) {
    const e = x[o + j]! - C[co + j]!;
    s0 += e * e;
  }
  return s0 + s1 + (s2 + s3);
}

/**
 * Empty clusters take the points farthest from their centre (`dist`), one per empty cluster,
 * from clusters that keep at least one point (scikit-learn's relocation). Updates labels,
 * counts and dist.
 */
export function relocateEmpty(labels: Int32Array, dist: Float64Array, counts: Int32Array, k: number): void {
  const n = labels.length;
  for (let c = 0; c < k; c++) {
    if (counts[c]! > 0) continue;
    let far = -1;
    let farD = -1;
    for (let i = 0; i < n; i++) {
      if (counts[labels[i]!]! > 1 && dist[i]! > farD) {
        farD = dist[i]!;
        far = i;
      }
    }
    if (far < 0) break; // every cluster has a single point: nothing to move
    counts[labels[far]!]!--;
    labels[far] = c;
    dist[far] = 0;
    counts[c] = 1;
  }
}

/**
 * Lloyd from centres C0 until no centre moves more than tol (euclidean) or maxIter; yields
 * after every iteration the inertia of that iteration's assignment and the largest centre move.
 */
export function* lloydBounded(
  X: Matrix,
  xx: Float64Array,
  C0: Float64Array,
  k: number,
  distsOf: DistsOf,
  cost: DistsCost,
  maxIter: number,
  tol: number,
): Generator<{ iteration: number; inertia: number; shift: number }, LloydOutcome, void> {
  const n = X.rows;
  const d = X.cols;
  const x = X.data;
  let C = Float64Array.from(C0);
  let next = new Float64Array(k * d);
  const labels = new Int32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const S = new Float64Array(k * d);
  const counts = new Int32Array(k);
  const todo = new Int32Array(n);
  const every = Int32Array.from({ length: n }, (_, i) => i);
  const D = new Float64Array(Math.min(BLOCK, n) * k);
  const half = new Float64Array(k);
  const moved = new Float64Array(k);
  const cc = new Float64Array(k);
  let xxSum = 0;
  for (let i = 0; i < n; i++) xxSum += xx[i]!;
  // bounds unknown (start, after a relocation): every point gets its k distances
  let fresh = true;

  const moveSum = (i: number, from: number, to: number): void => {
    const o = i * d;
    const f = from * d;
    const t = to * d;
    for (let j = 0; j < d; j++) {
      const v = x[o + j]!;
      S[f + j] -= v;
      S[t + j] += v;
    }
    counts[from]!--;
    counts[to]!++;
  };

  const fullSums = (): void => clusterSums(X, labels, k, S, counts);

  /** Assign every point to its nearest centre of C (bounds permitting skips); keeps S and counts. */
  const assignStep = (): void => {
    let ccMax = 0;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += C[c * d + j]! * C[c * d + j]!;
      cc[c] = s;
      if (s > ccMax) ccMax = s;
    }
    let count = 0;
    if (fresh) {
      for (let i = 0; i < n; i++) todo[count++] = i;
    } else {
      // half the distance from each centre to its nearest other centre
      half.fill(Infinity);
      for (let a = 0; a < k; a++) {
        for (let b = a + 1; b < k; b++) {
          let s = 0;
          for (let j = 0; j < d; j++) {
            const e = C[a * d + j]! - C[b * d + j]!;
            s += e * e;
          }
          const h = Math.sqrt(s) / 2;
          if (h < half[a]!) half[a] = h;
          if (h < half[b]!) half[b] = h;
        }
      }
      for (let i = 0; i < n; i++) {
        const a = labels[i]!;
        const m = Math.max(half[a]!, lower[i]!);
        if (upper[i]! < m) continue;
        if (cost.tighten) {
          upper[i] = Math.sqrt(sqDist(X, i, C, a));
          if (upper[i]! < m) continue;
        }
        todo[count++] = i;
      }
    }
    // by windows of BLOCK consecutive points: where enough of a window needs its distances,
    // all of its rows go (read in place) rather than the few gathered
    let s0 = 0;
    for (let w0 = 0; w0 < n && s0 < count; w0 += BLOCK) {
      const w1 = Math.min(n, w0 + BLOCK);
      let s1 = s0;
      while (s1 < count && todo[s1]! < w1) s1++;
      if (s1 === s0) continue;
      const whole = s1 - s0 >= cost.denseFrom * (w1 - w0);
      if (whole) distsOf(C, k, every.subarray(w0, w1), w1 - w0, D);
      else distsOf(C, k, todo.subarray(s0, s1), s1 - s0, D);
      for (let t = s0; t < s1; t++) {
        const i = todo[t]!;
        const o = (whole ? i - w0 : t - s0) * k;
        let b1 = 0;
        let d1 = Infinity;
        let d2 = Infinity;
        for (let c = 0; c < k; c++) {
          const v = D[o + c]!;
          if (v < d1) {
            d2 = d1;
            d1 = v;
            b1 = c;
          } else if (v < d2) d2 = v;
        }
        const e = cost.slack * (xx[i]! + ccMax);
        lower[i] = Math.sqrt(Math.max(0, d2 - e));
        upper[i] = Math.sqrt(d1 + e);
        if (!fresh && b1 !== labels[i]) moveSum(i, labels[i]!, b1);
        labels[i] = b1;
      }
      s0 = s1;
    }
    if (fresh) fullSums();
    fresh = false;
  };

  let converged = false;
  let iterations = 0;
  let shift = Infinity;
  for (let it = 1; it <= maxIter; it++) {
    iterations = it;
    assignStep();
    let inertia = xxSum;
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += C[c * d + j]! * S[c * d + j]!;
      inertia += counts[c]! * cc[c]! - 2 * dot;
    }
    if (counts.includes(0)) {
      // an empty cluster takes the point farthest from its centre; then the bounds start over
      const dist = new Float64Array(n);
      for (let i = 0; i < n; i++) dist[i] = sqDist(X, i, C, labels[i]!);
      relocateEmpty(labels, dist, counts, k);
      fullSums();
      fresh = true;
    }
    shift = 0;
    let maxMove = 0;
    let secondMove = 0;
    let maxAt = -1;
    for (let c = 0; c < k; c++) {
      const inv = 1 / counts[c]!;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = S[c * d + j]! * inv;
        next[c * d + j] = v;
        const e = v - C[c * d + j]!;
        s += e * e;
      }
      const mv = Math.sqrt(s);
      moved[c] = mv;
      if (mv > maxMove) {
        secondMove = maxMove;
        maxMove = mv;
        maxAt = c;
      } else if (mv > secondMove) secondMove = mv;
    }
    shift = maxMove;
    if (!fresh && maxMove > 0) {
      for (let i = 0; i < n; i++) {
        const a = labels[i]!;
        upper[i] += moved[a]!;
        lower[i] -= a === maxAt ? secondMove : maxMove;
      }
    }
    const t = C;
    C = next;
    next = t;
    yield { iteration: it, inertia: Math.max(0, inertia), shift };
    if (shift <= tol) {
      converged = true;
      break;
    }
  }
  // Centres as a function of the clustering alone (the moved sums depend on the path, in the
  // last bits): restarts that reach the same clustering tie exactly, and the first one wins.
  fullSums();
  for (let c = 0; c < k; c++) {
    const inv = 1 / counts[c]!;
    for (let j = 0; j < d; j++) C[c * d + j] = S[c * d + j]! * inv;
  }
  if (shift > 0) {
    // the labels of the final centres (they moved in the last update); the bounds were kept for
    // the unrounded centres, so every distance is computed
    fresh = true;
    assignStep();
  }
  return { labels, C, iterations, converged };
}

/**
 * Per-cluster sums of the rows (float64; out k x d, counts k, both overwritten), each cluster's
 * rows added in ascending order, four at a time: the result depends only on the labels.
 */
export function clusterSums(X: Matrix, labels: Int32Array, k: number, out: Float64Array, counts: Int32Array): void {
  const n = X.rows;
  const d = X.cols;
  const x = X.data;
  const start = new Int32Array(k + 1);
  for (let i = 0; i < n; i++) start[labels[i]! + 1]!++;
  for (let c = 0; c < k; c++) {
    counts[c] = start[c + 1]!;
    start[c + 1] += start[c]!;
  }
  const order = new Int32Array(n);
  const fill = start.slice(0, k);
  for (let i = 0; i < n; i++) order[fill[labels[i]!]!++] = i;
  out.fill(0, 0, k * d);
  for (let c = 0; c < k; c++) {
    const b = c * d;
    const e = start[c + 1]!;
    let t = start[c]!;
    for (; t + 4 <= e; t += 4) {
      const o0 = order[t]! * d, o1 = order[t + 1]! * d, o2 = order[t + 2]! * d, o3 = order[t + 3]! * d;
      for (let j = 0; j < d; j++) out[b + j] += x[o0 + j]! + x[o1 + j]! + (x[o2 + j]! + x[o3 + j]!);
    }
    for (; t < e; t++) {
      const o = order[t]! * d;
      for (let j = 0; j < d; j++) out[b + j] += x[o + j]!;
    }
  }
}
