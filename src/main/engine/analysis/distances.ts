/**
 * Distances between float32 rows, and the pairwise (condensed) distance matrix.
 *
 * All sums are accumulated in float64 (JS numbers), in index order, so results match
 * scipy.spatial.distance on the same float32 data to ~1e-12 relative.
 *
 * Condensed form (as scipy.spatial.distance.pdist): for i < j the distance d(i, j) is stored at
 * `condensedIndex(n, i, j) = n*i - i*(i+1)/2 + (j - i - 1)`, n(n-1)/2 values in all.
 */
import { StudioError } from '../../../shared/errors';
import { analysisBlas, blasTuning, roundUp } from './blas';
import type { Matrix } from './matrix';
import { createPdistSimd } from './pdist-simd';
import { drive } from './steps';

export type Metric = 'euclidean' | 'manhattan' | 'cosine';
export const METRICS: readonly Metric[] = ['euclidean', 'manhattan', 'cosine'];

export interface Condensed {
  n: number;
  data: Float32Array | Float64Array;
}

/** Above this many points a condensed matrix is stored in float32 (half the memory). */
export const FLOAT64_MAX_N = 8000;
/** Above this many points the condensed matrix would need more than ~1.2 GB: refuse. */
export const MAX_PAIRWISE_N = 25000;

export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    const t = a[k] - b[k];
    s += t * t;
  }
  return Math.sqrt(s);
}

export function sqEuclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    const t = a[k] - b[k];
    s += t * t;
  }
  return s;
}

export function manhattan(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += Math.abs(a[k] - b[k]);
  return s;
}

/**
 * Cosine distance 1 - a.b / (|a||b|), clamped to [0, 2]. A zero vector has no direction: by
 * convention its distance is 0 to another zero vector and 1 (orthogonal) to anything else
 * (scipy answers NaN there, which would poison a clustering).
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < a.length; k++) {
    ab += a[k] * b[k];
    aa += a[k] * a[k];
    bb += b[k] * b[k];
  }
  return cosineFrom(ab, Math.sqrt(aa), Math.sqrt(bb));
}

function cosineFrom(dot: number, na: number, nb: number): number {
  if (na === 0 || nb === 0) return na === nb ? 0 : 1;
  const d = 1 - dot / (na * nb);
  return d < 0 ? 0 : d > 2 ? 2 : d;
}

export function distance(metric: Metric, a: ArrayLike<number>, b: ArrayLike<number>): number {
  switch (metric) {
    case 'euclidean':
      return euclidean(a, b);
    case 'manhattan':
      return manhattan(a, b);
    case 'cosine':
      return cosine(a, b);
  }
}

export function checkMetric(metric: string): Metric {
  if (!(METRICS as readonly string[]).includes(metric)) {
    throw new StudioError('BAD_INPUT', `Unknown distance metric "${metric}"; use one of ${METRICS.join(', ')}.`);
  }
  return metric as Metric;
}

/** Euclidean norms of the rows (for cosine). */
export function rowNorms(m: Matrix): Float64Array {
  const { rows, cols, data } = m;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const o = i * cols;
    for (let k = 0; k < cols; k++) s += data[o + k] * data[o + k];
    out[i] = Math.sqrt(s);
  }
  return out;
}

/**
 * Distances from row i of `m` to each row whose index is listed in `idx[0..count)`, written to
 * `out[outOff + t]`. Four target rows per pass over row i (each a[k] is loaded once per four
 * distances). `norms` is required for cosine.
 */
export function rowToRows(
  m: Matrix,
  metric: Metric,
  i: number,
  idx: Int32Array | null,
  j0: number,
  count: number,
  out: Float32Array | Float64Array,
  outOff: number,
  norms?: Float64Array,
): void {
  const d = m.cols;
  const x = m.data;
  const ao = i * d;
  let t = 0;
  const jAt = (u: number): number => (idx ? idx[u] : j0 + u);
  if (metric === 'manhattan') {
    for (; t + 4 <= count; t += 4) {
      const b0 = jAt(t) * d, b1 = jAt(t + 1) * d, b2 = jAt(t + 2) * d, b3 = jAt(t + 3) * d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < d; k++) {
        const a = x[ao + k];
        s0 += Math.abs(a - x[b0 + k]);
        s1 += Math.abs(a - x[b1 + k]);
        s2 += Math.abs(a - x[b2 + k]);
        s3 += Math.abs(a - x[b3 + k]);
      }
      out[outOff + t] = s0;
      out[outOff + t + 1] = s1;
      out[outOff + t + 2] = s2;
      out[outOff + t + 3] = s3;
    }
    for (; t < count; t++) {
      const b = jAt(t) * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += Math.abs(x[ao + k] - x[b + k]);
      out[outOff + t] = s;
    }
    return;
  }
  if (metric === 'euclidean') {
    for (; t + 4 <= count; t += 4) {
      const b0 = jAt(t) * d, b1 = jAt(t + 1) * d, b2 = jAt(t + 2) * d, b3 = jAt(t + 3) * d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < d; k++) {
        const a = x[ao + k];
        const e0 = a - x[b0 + k];
        const e1 = a - x[b1 + k];
        const e2 = a - x[b2 + k];
        const e3 = a - x[b3 + k];
        s0 += e0 * e0;
        s1 += e1 * e1;
        s2 += e2 * e2;
        s3 += e3 * e3;
      }
      out[outOff + t] = Math.sqrt(s0);
      out[outOff + t + 1] = Math.sqrt(s1);
      out[outOff + t + 2] = Math.sqrt(s2);
      out[outOff + t + 3] = Math.sqrt(s3);
    }
    for (; t < count; t++) {
      const b = jAt(t) * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const e = x[ao + k] - x[b + k];
        s += e * e;
      }
      out[outOff + t] = Math.sqrt(s);
    }
    return;
  }
  // cosine
  if (!norms) throw new Error('rowToRows: cosine needs the row norms');
  const na = norms[i];
  for (; t + 4 <= count; t += 4) {
    const j0_ = jAt(t), j1_ = jAt(t + 1), j2_ = jAt(t + 2), j3_ = jAt(t + 3);
    const b0 = j0_ * d, b1 = j1_ * d, b2 = j2_ * d, b3 = j3_ * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < d; k++) {
      const a = x[ao + k];
      s0 += a * x[b0 + k];
      s1 += a * x[b1 + k];
      s2 += a * x[b2 + k];
      s3 += a * x[b3 + k];
    }
    out[outOff + t] = cosineFrom(s0, na, norms[j0_]);
    out[outOff + t + 1] = cosineFrom(s1, na, norms[j1_]);
    out[outOff + t + 2] = cosineFrom(s2, na, norms[j2_]);
    out[outOff + t + 3] = cosineFrom(s3, na, norms[j3_]);
  }
  for (; t < count; t++) {
    const j = jAt(t);
    const b = j * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += x[ao + k] * x[b + k];
    out[outOff + t] = cosineFrom(s, na, norms[j]);
  }
}

/**
 * Rows i and i+1 against rows j0..j0+count: a 2 x 4 tile per pass over k (6 loads for 8
 * distances), ~1.7x faster than one row at a time. Results go to out[off0 + t] (row i) and
 * out[off1 + t] (row i+1). Same summation order as rowToRows, so results are identical.
 */
function twoRowsToRange(
  m: Matrix,
  metric: Metric,
  i: number,
  j0: number,
  count: number,
  out: Float32Array | Float64Array,
  off0: number,
  off1: number,
  norms?: Float64Array,
): void {
  const d = m.cols;
  const x = m.data;
  const a0o = i * d;
  const a1o = a0o + d;
  let t = 0;
  for (; t + 4 <= count; t += 4) {
    const b0 = (j0 + t) * d, b1 = b0 + d, b2 = b1 + d, b3 = b2 + d;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    if (metric === 'euclidean') {
      for (let k = 0; k < d; k++) {
        const a0 = x[a0o + k], a1 = x[a1o + k];
        const c0 = x[b0 + k], c1 = x[b1 + k], c2 = x[b2 + k], c3 = x[b3 + k];
        let e = a0 - c0; s00 += e * e; e = a0 - c1; s01 += e * e; e = a0 - c2; s02 += e * e; e = a0 - c3; s03 += e * e;
        e = a1 - c0; s10 += e * e; e = a1 - c1; s11 += e * e; e = a1 - c2; s12 += e * e; e = a1 - c3; s13 += e * e;
      }
      out[off0 + t] = Math.sqrt(s00); out[off0 + t + 1] = Math.sqrt(s01); out[off0 + t + 2] = Math.sqrt(s02); out[off0 + t + 3] = Math.sqrt(s03);
      out[off1 + t] = Math.sqrt(s10); out[off1 + t + 1] = Math.sqrt(s11); out[off1 + t + 2] = Math.sqrt(s12); out[off1 + t + 3] = Math.sqrt(s13);
    } else if (metric === 'manhattan') {
      for (let k = 0; k < d; k++) {
        const a0 = x[a0o + k], a1 = x[a1o + k];
        const c0 = x[b0 + k], c1 = x[b1 + k], c2 = x[b2 + k], c3 = x[b3 + k];
        s00 += Math.abs(a0 - c0); s01 += Math.abs(a0 - c1); s02 += Math.abs(a0 - c2); s03 += Math.abs(a0 - c3);
        s10 += Math.abs(a1 - c0); s11 += Math.abs(a1 - c1); s12 += Math.abs(a1 - c2); s13 += Math.abs(a1 - c3);
      }
      out[off0 + t] = s00; out[off0 + t + 1] = s01; out[off0 + t + 2] = s02; out[off0 + t + 3] = s03;
      out[off1 + t] = s10; out[off1 + t + 1] = s11; out[off1 + t + 2] = s12; out[off1 + t + 3] = s13;
    } else {
      for (let k = 0; k < d; k++) {
        const a0 = x[a0o + k], a1 = x[a1o + k];
        const c0 = x[b0 + k], c1 = x[b1 + k], c2 = x[b2 + k], c3 = x[b3 + k];
        s00 += a0 * c0; s01 += a0 * c1; s02 += a0 * c2; s03 += a0 * c3;
        s10 += a1 * c0; s11 += a1 * c1; s12 += a1 * c2; s13 += a1 * c3;
      }
      const nrm = norms!;
      const n0 = nrm[i], n1 = nrm[i + 1], j = j0 + t;
      out[off0 + t] = cosineFrom(s00, n0, nrm[j]); out[off0 + t + 1] = cosineFrom(s01, n0, nrm[j + 1]);
      out[off0 + t + 2] = cosineFrom(s02, n0, nrm[j + 2]); out[off0 + t + 3] = cosineFrom(s03, n0, nrm[j + 3]);
      out[off1 + t] = cosineFrom(s10, n1, nrm[j]); out[off1 + t + 1] = cosineFrom(s11, n1, nrm[j + 1]);
      out[off1 + t + 2] = cosineFrom(s12, n1, nrm[j + 2]); out[off1 + t + 3] = cosineFrom(s13, n1, nrm[j + 3]);
    }
  }
  if (t < count) {
    rowToRows(m, metric, i, null, j0 + t, count - t, out, off0 + t, norms);
    rowToRows(m, metric, i + 1, null, j0 + t, count - t, out, off1 + t, norms);
  }
}

export function condensedIndex(n: number, i: number, j: number): number {
  if (i > j) {
    const t = i;
    i = j;
    j = t;
  }
  return n * i - (i * (i + 1)) / 2 + (j - i - 1);
}

export function condensedSize(n: number): number {
  return (n * (n - 1)) / 2;
}

export interface PdistOptions {
  /** Storage precision; default float64 up to FLOAT64_MAX_N points, float32 above. */
  precision?: 'float32' | 'float64';
  /** Called with (rowsDone, rows) between blocks. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Pairwise distances in condensed form, computed in cache-sized tiles (a block of "i" rows
 * against a block of "j" rows) so that the j rows stay in cache while the i rows sweep them.
 * Memory: n(n-1)/2 values only (never an n x n matrix).
 */
export function pdist(m: Matrix, metric: Metric = 'euclidean', opts: PdistOptions = {}): Condensed {
  return drive(pdistSteps(m, metric, opts), (done) => opts.onProgress?.(done, m.rows));
}

/** pdist as a generator: yields the number of rows done after each block of rows. */
export function* pdistSteps(m: Matrix, metric: Metric = 'euclidean', opts: Omit<PdistOptions, 'onProgress'> = {}): Generator<number, Condensed, void> {
  const n = m.rows;
  if (n > MAX_PAIRWISE_N) {
    throw new StudioError(
      'BAD_INPUT',
      `Pairwise distances for ${n} points would need ${((condensedSize(n) * 4) / 1e9).toFixed(1)} GB; the limit is ${MAX_PAIRWISE_N} points.`,
      { hint: 'Analyse a random subset (limit) or cluster k-means centroids instead.' },
    );
  }
  const precision = opts.precision ?? (n <= FLOAT64_MAX_N ? 'float64' : 'float32');
  const size = condensedSize(n);
  const out = precision === 'float64' ? new Float64Array(size) : new Float32Array(size);
  if (metric !== 'cosine' && (n * n * m.cols) / 2 >= blasTuning.minWork) {
    const done = yield* pdistSimdSteps(m, metric, out);
    if (done) return { n, data: out };
  }
  const norms = metric === 'cosine' ? rowNorms(m) : undefined;
  // Tile sizes: BJ rows of d floats should sit in L2 (64 x 784 x 4 B = 200 kB).
  const BJ = Math.max(8, Math.min(256, Math.floor(49152 / Math.max(1, m.cols))));
  const BI = 64;
  for (let ib = 0; ib < n; ib += BI) {
    const iEnd = Math.min(n, ib + BI);
    for (let jb = ib + 1; jb < n; jb += BJ) {
      const jEnd = Math.min(n, jb + BJ);
      let i = ib;
      // two rows at a time (i, i+1) against the j block: 8 distances per pass over k
      for (; i + 2 <= iEnd; i += 2) {
        if (jb <= i + 1 && i + 1 < jEnd) {
          // j = i + 1 only concerns row i
          rowToRows(m, metric, i, null, i + 1, 1, out, condensedIndex(n, i, i + 1), norms);
        }
        const j0 = Math.max(jb, i + 2);
        if (j0 >= jEnd) continue;
        twoRowsToRange(m, metric, i, j0, jEnd - j0, out, condensedIndex(n, i, j0), condensedIndex(n, i + 1, j0), norms);
      }
      for (; i < iEnd; i++) {
        const j0 = Math.max(jb, i + 1);
        if (j0 >= jEnd) continue;
        rowToRows(m, metric, i, null, j0, jEnd - j0, out, condensedIndex(n, i, j0), norms);
      }
    }
    yield iEnd;
  }
  return { n, data: out };
}

/** Pairs per chunk of rows on the SIMD path (its float64 results pass through the heap: 16 MB). */
const SIMD_CHUNK_PAIRS = 1 << 21;

/**
 * Euclidean / manhattan distances by pdist-simd.ts (float64 SIMD, two threads) into `out`, a
 * chunk of rows at a time (yielding the rows done); false when the kernels are unavailable.
 */
function* pdistSimdSteps(m: Matrix, metric: 'euclidean' | 'manhattan', out: Float32Array | Float64Array): Generator<number, boolean, void> {
  const blas = analysisBlas();
  const kern = blas && createPdistSimd(blas.memory);
  if (!blas || !kern) return false;
  const { rows: n, cols: d } = m;
  const dp = roundUp(d, 2);
  const heapX = blas.alloc(2 * n * dp); // float64 rows
  const chunk = blas.alloc(2 * Math.min(SIMD_CHUNK_PAIRS, condensedSize(n)));
  try {
    const X64 = new Float64Array(blas.memory.buffer, heapX.ptr, n * dp);
    for (let i = 0; i < n; i++) {
      const src = m.data.subarray(i * d, i * d + d);
      for (let j = 0; j < d; j++) X64[i * dp + j] = src[j];
      if (dp > d) X64[i * dp + d] = 0;
    }
    const fn = metric === 'euclidean' ? kern.euclidean : kern.manhattan;
    for (let i0 = 0; i0 < n - 1; ) {
      // as many rows as fit the chunk (at least one)
      let i1 = i0;
      let pairs = 0;
      while (i1 < n - 1 && (i1 === i0 || pairs + (n - 1 - i1) <= SIMD_CHUNK_PAIRS)) pairs += n - 1 - i1++;
      const base = condensedIndex(n, i0, i0 + 1);
      // the kernel writes pair p at out + 8 p: shift out so that pair `base` lands at the chunk's start
      fn(heapX.ptr, n, dp * 8, dp / 2, i0, i1, (chunk.ptr - base * 8) | 0, 0);
      out.set(new Float64Array(blas.memory.buffer, chunk.ptr, pairs), base);
      i0 = i1;
      yield i1;
    }
    yield n;
  } finally {
    heapX.free();
    chunk.free();
  }
  return true;
}

/** Expand a condensed matrix to a full n x n (tests and small n only). */
export function squareform(c: Condensed): Float64Array {
  const { n, data } = c;
  const out = new Float64Array(n * n);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      out[i * n + j] = data[p];
      out[j * n + i] = data[p];
      p++;
    }
  }
  return out;
}
