/**
 * Principal component analysis on float32 rows.
 *
 * Methods (`method: 'auto'` picks):
 *  - 'covariance': eigen-decomposition of the d x d covariance (exact; d small),
 *  - 'gram': eigen-decomposition of the n x n Gram matrix of the centred rows (exact; n small, d large),
 *  - 'randomized': randomized subspace iteration (Halko, Martinsson & Tropp 2011) with a
 *    Rayleigh-Ritz step, for large n and d when only the first components are wanted; its passes
 *    over the data run on the SIMD products (pca-gemm.ts). The default ('auto') above ~3e8
 *    operations of the exact route, as scikit-learn's randomized default for large inputs.
 * Components are orthonormal rows, signs fixed so that each component's largest-magnitude entry
 * is positive (deterministic). Explained variance uses n - 1 (as scikit-learn). The centred
 * matrix is never materialised: rows are centred on the fly in float64.
 */
import { StudioError } from '../../../shared/errors';
import { symmetricEigen } from './eigen';
import { type Matrix, assertUsable } from './matrix';
import { Rng } from './rng';
import { ScatterProducts } from './pca-gemm';
import { type Step, drive } from './steps';

export type PcaMethod = 'auto' | 'covariance' | 'gram' | 'randomized';

export interface PcaOptions {
  /** Components to keep; default min(d, n - 1, 50). */
  nComponents?: number;
  method?: PcaMethod;
  /** Seed of the randomized method's test matrix (results are deterministic for a seed). */
  seed?: number;
  /** Randomized: subspace iterations (default defaultPowerIterations: scikit-learn's 7 or 4) and oversampling (default 10). */
  powerIterations?: number;
  oversample?: number;
  onProgress?: (fraction: number, message: string) => void;
}

export interface PcaModel {
  /** Per-feature mean (length d). */
  mean: Float64Array;
  /** k x d, orthonormal rows, by decreasing explained variance. */
  components: Matrix;
  /** Variance along each component (eigenvalues of the covariance, n - 1 denominator). */
  explainedVariance: Float64Array;
  /** explainedVariance / total variance. */
  explainedVarianceRatio: Float64Array;
  /** Sum of the per-feature variances (n - 1 denominator). */
  totalVariance: number;
  nSamples: number;
  method: Exclude<PcaMethod, 'auto'>;
}

/**
 * scikit-learn's n_iter='auto': 7 subspace iterations when few components are wanted (k < 0.1
 * min(n, d)), where the tail components converge slowly, else 4. Measured on 20,000 Fashion-MNIST
 * images, 50 components: 4 iterations leave the 50th variance 4e-2 (median 1e-4) off the exact
 * one, 7 leave 1.2e-2 (median 2e-7), as scikit-learn's own randomized PCA (1e-2, median 8e-7).
 */
export function defaultPowerIterations(k: number, n: number, d: number): number {
  return k < 0.1 * Math.min(n, d) ? 7 : 4;
}

/** Exact methods below this many operations are always fine (well under a second or two). */
const EXACT_OPS_LIMIT = 3e8;

export function pca(X: Matrix, opts: PcaOptions = {}): PcaModel {
  return drive(pcaSteps(X, opts), (s) => opts.onProgress?.(s.fraction, s.message));
}

/** pca as a generator yielding progress between passes over the data (see steps.ts). */
export function* pcaSteps(X: Matrix, opts: Omit<PcaOptions, 'onProgress'> = {}): Generator<Step, PcaModel, void> {
  assertUsable(X, 'input', 2);
  const n = X.rows;
  const d = X.cols;
  const maxK = Math.min(d, n - 1);
  const k = opts.nComponents ?? Math.min(maxK, 50);
  if (!Number.isInteger(k) || k < 1 || k > maxK) {
    throw new StudioError(
      'BAD_INPUT',
      `PCA can keep between 1 and ${maxK} components for ${n} points in ${d} dimensions (asked for ${k}).`,
      { hint: maxK < d ? `n points span at most n - 1 = ${maxK} directions.` : undefined },
    );
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X.data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  let totalSS = 0;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) {
      const e = X.data[o + j] - mean[j];
      totalSS += e * e;
    }
  }
  const totalVariance = totalSS / (n - 1);
  if (!(totalVariance > 0)) {
    throw new StudioError('BAD_INPUT', `All ${n} points are identical: there is no variance for PCA to explain.`, {
      hint: 'Check that the selection holds different images or vectors.',
    });
  }
  let method = opts.method ?? 'auto';
  if (method === 'auto') {
    // exact: the d x d (or n x n) product plus an O(small^3) eigen-decomposition
    const small = Math.min(n, d);
    const exactOps = (n * d * small) / 2 + 8 * small ** 3;
    // exact while its eigen-decomposition (O(small^3) in JavaScript) and product stay cheap,
    // or when most components are wanted; randomized (passes on the SIMD products) otherwise
    if (small <= 64 || k > small / 2 || exactOps <= EXACT_OPS_LIMIT) method = d <= n ? 'covariance' : 'gram';
    else method = 'randomized';
  }
  let comps: Float64Array; // k x d
  let values: Float64Array; // k eigenvalues of the scatter matrix (sum of squares)
  const rng = new Rng(opts.seed ?? 0);
  if (method === 'covariance') {
    yield { fraction: 0, message: 'covariance' };
    const S = yield* scatter(X, mean);
    yield { fraction: 0.6, message: 'eigen-decomposition' };
    const eig = symmetricEigen(S, d);
    comps = eig.vectors.slice(0, k * d);
    values = eig.values.slice(0, k);
  } else if (method === 'gram') {
    yield { fraction: 0, message: 'gram matrix' };
    const G = gram(X, mean);
    yield { fraction: 0.5, message: 'eigen-decomposition' };
    const eig = symmetricEigen(G, n);
    values = eig.values.slice(0, k);
    comps = new Float64Array(k * d);
    // v = Xc^T u / sqrt(lambda)
    for (let c = 0; c < k; c++) {
      const lam = values[c];
      if (!(lam > 1e-12 * eig.values[0])) continue; // completed below
      const u = eig.vectors.subarray(c * n, c * n + n);
      const row = comps.subarray(c * d, c * d + d);
      for (let i = 0; i < n; i++) {
        const ui = u[i];
        const o = i * d;
        for (let j = 0; j < d; j++) row[j] += ui * (X.data[o + j] - mean[j]);
      }
      const inv = 1 / Math.sqrt(lam);
      for (let j = 0; j < d; j++) row[j] *= inv;
    }
  } else if (method === 'randomized') {
    ({ comps, values } = yield* randomized(X, mean, k, rng, opts.powerIterations ?? defaultPowerIterations(k, n, d), opts.oversample ?? 10));
  } else {
    throw new StudioError('BAD_INPUT', `Unknown PCA method "${String(method)}"; use auto, covariance, gram or randomized.`);
  }
  // Directions with (numerically) no variance: any orthonormal completion will do.
  const floor = 1e-12 * Math.max(values[0], 0);
  for (let c = 0; c < k; c++) {
    if (values[c] <= floor) {
      values[c] = Math.max(values[c], 0);
      if (method !== 'covariance') completeRow(comps, c, d, rng);
    }
  }
  // Fix signs: the largest-magnitude entry of each component is positive.
  for (let c = 0; c < k; c++) {
    const row = comps.subarray(c * d, c * d + d);
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(row[j]) > Math.abs(big)) big = row[j];
    if (big < 0) for (let j = 0; j < d; j++) row[j] = -row[j];
  }
  const explainedVariance = new Float64Array(k);
  const explainedVarianceRatio = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    explainedVariance[c] = values[c] / (n - 1);
    explainedVarianceRatio[c] = explainedVariance[c] / totalVariance;
  }
  yield { fraction: 1, message: 'done' };
  return {
    mean,
    components: { rows: k, cols: d, data: Float32Array.from(comps) },
    explainedVariance,
    explainedVarianceRatio,
    totalVariance,
    nSamples: n,
    method,
  };
}

/** Xc^T Xc (d x d), rows centred on the fly, accumulated in blocks of rows. */
function* scatter(X: Matrix, mean: Float64Array): Generator<Step, Float64Array, void> {
  const { rows: n, cols: d, data } = X;
  const S = new Float64Array(d * d);
  const B = 32;
  const T = new Float64Array(d * B); // the block, transposed: T[j * B + r]
  for (let i0 = 0; i0 < n; i0 += B) {
    const b = Math.min(B, n - i0);
    for (let r = 0; r < b; r++) {
      const o = (i0 + r) * d;
      for (let j = 0; j < d; j++) T[j * B + r] = data[o + j] - mean[j];
    }
    for (let a = 0; a < d; a++) {
      const ao = a * B;
      for (let c = a; c < d; c++) {
        const co = c * B;
        let s = 0;
        for (let r = 0; r < b; r++) s += T[ao + r] * T[co + r];
        S[a * d + c] += s;
      }
    }
    if ((i0 / B) % 64 === 63) yield { fraction: (0.6 * (i0 + b)) / n, message: 'covariance' };
  }
  for (let a = 0; a < d; a++) for (let c = a + 1; c < d; c++) S[c * d + a] = S[a * d + c];
  return S;
}

/** Xc Xc^T (n x n). */
function gram(X: Matrix, mean: Float64Array): Float64Array {
  const { rows: n, cols: d, data } = X;
  const C = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) C[i * d + j] = data[i * d + j] - mean[j];
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let l = i; l < n; l++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += C[i * d + j] * C[l * d + j];
      G[i * n + l] = s;
      G[l * n + i] = s;
    }
  }
  return G;
}

/** Subtract from row c of M (rows of length len) its projections on rows 0..c-1, twice; returns its norm. */
function orthogonalizeRow(M: Float64Array, c: number, len: number): number {
  const row = M.subarray(c * len, c * len + len);
  for (let pass = 0; pass < 2; pass++) {
    for (let p = 0; p < c; p++) {
      const q = M.subarray(p * len, p * len + len);
      let s = 0;
      for (let j = 0; j < len; j++) s += row[j] * q[j];
      for (let j = 0; j < len; j++) row[j] -= s * q[j];
    }
  }
  let nrm = 0;
  for (let j = 0; j < len; j++) nrm += row[j] * row[j];
  return Math.sqrt(nrm);
}

/** Replace row c of comps by a unit vector orthogonal to rows 0..c-1 (random start, Gram-Schmidt). */
function completeRow(comps: Float64Array, c: number, d: number, rng: Rng): void {
  const row = comps.subarray(c * d, c * d + d);
  for (let attempt = 0; attempt < 10; attempt++) {
    for (let j = 0; j < d; j++) row[j] = rng.normal();
    const nrm = orthogonalizeRow(comps, c, d);
    if (nrm > 1e-8) {
      for (let j = 0; j < d; j++) row[j] /= nrm;
      return;
    }
  }
}

/**
 * Orthonormalise the rows of Q (l x len) in place by modified Gram-Schmidt, twice. A row that is
 * (numerically) in the span of the previous ones, i.e. loses all but 1e-10 of its norm, is
 * replaced by a random unit vector orthogonal to them: normalising its rounding noise would not
 * give an orthogonal row.
 */
function orthonormalizeRows(Q: Float64Array, l: number, len: number, rng: Rng): void {
  for (let c = 0; c < l; c++) {
    const row = Q.subarray(c * len, c * len + len);
    let before = 0;
    for (let j = 0; j < len; j++) before += row[j] * row[j];
    const nrm = orthogonalizeRow(Q, c, len);
    if (nrm < 1e-300 || nrm <= 1e-10 * Math.sqrt(before)) {
      completeRow(Q, c, len, rng);
    } else {
      for (let j = 0; j < len; j++) row[j] /= nrm;
    }
  }
}

/** Y^T = (Xc Om^T)^T, l x n: om is l x d. */
function timesRowsT(X: Matrix, mean: Float64Array, om: Float64Array, l: number): Float64Array {
  const { rows: n, cols: d, data } = X;
  const Y = new Float64Array(l * n);
  const shift = new Float64Array(l); // mean . om_c
  for (let c = 0; c < l; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += mean[j] * om[c * d + j];
    shift[c] = s;
  }
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let c = 0;
    // four test vectors per pass over the row (independent accumulators)
    for (; c + 4 <= l; c += 4) {
      const c0 = c * d, c1 = c0 + d, c2 = c1 + d, c3 = c2 + d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < d; j++) {
        const x = data[o + j];
        s0 += x * om[c0 + j];
        s1 += x * om[c1 + j];
        s2 += x * om[c2 + j];
        s3 += x * om[c3 + j];
      }
      Y[c * n + i] = s0 - shift[c];
      Y[(c + 1) * n + i] = s1 - shift[c + 1];
      Y[(c + 2) * n + i] = s2 - shift[c + 2];
      Y[(c + 3) * n + i] = s3 - shift[c + 3];
    }
    for (; c < l; c++) {
      const co = c * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += data[o + j] * om[co + j];
      Y[c * n + i] = s - shift[c];
    }
  }
  return Y;
}

/** Z = (Xc^T Q^T)^T = Q Xc, l x d: Q is l x n. */
function rowsTimesX(X: Matrix, mean: Float64Array, Q: Float64Array, l: number): Float64Array {
  const { rows: n, cols: d, data } = X;
  const Z = new Float64Array(l * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let c = 0;
    // four output rows per pass over the data row
    for (; c + 4 <= l; c += 4) {
      const q0 = Q[c * n + i], q1 = Q[(c + 1) * n + i], q2 = Q[(c + 2) * n + i], q3 = Q[(c + 3) * n + i];
      const z0 = c * d, z1 = z0 + d, z2 = z1 + d, z3 = z2 + d;
      for (let j = 0; j < d; j++) {
        const x = data[o + j];
        Z[z0 + j] += q0 * x;
        Z[z1 + j] += q1 * x;
        Z[z2 + j] += q2 * x;
        Z[z3 + j] += q3 * x;
      }
    }
    for (; c < l; c++) {
      const q = Q[c * n + i];
      const zo = c * d;
      for (let j = 0; j < d; j++) Z[zo + j] += q * data[o + j];
    }
  }
  for (let c = 0; c < l; c++) {
    let qs = 0;
    for (let i = 0; i < n; i++) qs += Q[c * n + i];
    for (let j = 0; j < d; j++) Z[c * d + j] -= qs * mean[j];
  }
  return Z;
}

/**
 * Randomized PCA as subspace iteration in feature space: Z (d x l, orthonormal columns, from a
 * seeded Gaussian start) is replaced q times by orth(Xc^T Xc Z); a last pass W = Xc^T Xc Z gives
 * the Rayleigh-Ritz matrix M = Z^T W, whose eigenpairs give the components Z v and the variances.
 * q + 1 passes over the data of two products each, as Halko-Martinsson-Tropp's q power
 * iterations (alg. 4.4), but every orthonormalisation is of a d x l matrix, never n x l. The
 * passes run on the SIMD products above a size (pca-gemm.ts), else in float64 loops.
 */
function* randomized(
  X: Matrix,
  mean: Float64Array,
  k: number,
  rng: Rng,
  q: number,
  oversample: number,
): Generator<Step, { comps: Float64Array; values: Float64Array }, void> {
  const n = X.rows;
  const d = X.cols;
  const l = Math.min(k + oversample, n, d);
  const Zt = new Float64Array(l * d);
  for (let i = 0; i < Zt.length; i++) Zt[i] = rng.normal();
  orthonormalizeRows(Zt, l, d, rng);
  const prods = ScatterProducts.open(X, l);
  // W^T = (Xc^T Xc Z)^T = (Xc Z)^T Xc
  const times = (Z: Float64Array): Float64Array => (prods ? prods.times(Z, l, mean) : rowsTimesX(X, mean, timesRowsT(X, mean, Z, l), l));
  let W: Float64Array;
  try {
    for (let it = 0; it < q; it++) {
      yield { fraction: it / (q + 1), message: `subspace iteration ${it + 1}/${q}` };
      W = times(Zt);
      Zt.set(W);
      orthonormalizeRows(Zt, l, d, rng);
    }
    yield { fraction: q / (q + 1), message: 'Rayleigh-Ritz' };
    W = times(Zt);
  } finally {
    prods?.close();
  }
  // M = Z^T W (l x l), symmetrised against rounding
  const M = new Float64Array(l * l);
  for (let a = 0; a < l; a++) {
    for (let b = a; b < l; b++) {
      let s1 = 0;
      let s2 = 0;
      for (let j = 0; j < d; j++) {
        s1 += Zt[a * d + j] * W[b * d + j];
        s2 += Zt[b * d + j] * W[a * d + j];
      }
      M[a * l + b] = M[b * l + a] = (s1 + s2) / 2;
    }
  }
  const eig = symmetricEigen(M, l);
  const comps = new Float64Array(k * d);
  const values = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    values[c] = eig.values[c];
    const row = comps.subarray(c * d, c * d + d);
    for (let a = 0; a < l; a++) {
      const v = eig.vectors[c * l + a];
      if (v === 0) continue;
      for (let j = 0; j < d; j++) row[j] += v * Zt[a * d + j];
    }
  }
  return { comps, values };
}

/** Coordinates of the rows of X on the first k components (n x k). */
export function pcaProject(model: PcaModel, X: Matrix, k = model.components.rows): Matrix {
  const d = model.components.cols;
  if (X.cols !== d) throw new StudioError('BAD_INPUT', `The rows have ${X.cols} values but the PCA was fitted on ${d}.`);
  if (!Number.isInteger(k) || k < 1 || k > model.components.rows) {
    throw new StudioError('BAD_INPUT', `Can project on 1..${model.components.rows} components (asked for ${k}).`);
  }
  const n = X.rows;
  const out = new Float32Array(n * k);
  const C = model.components.data;
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = X.data[i * d + j] - model.mean[j];
    for (let c = 0; c < k; c++) {
      let s = 0;
      const co = c * d;
      for (let j = 0; j < d; j++) s += row[j] * C[co + j];
      out[i * k + c] = s;
    }
  }
  return { rows: n, cols: k, data: out };
}

/** Back to feature space from coordinates Y (n x k, k <= components): mean + Y C_k. */
export function pcaReconstruct(model: PcaModel, Y: Matrix): Matrix {
  const d = model.components.cols;
  const k = Y.cols;
  if (k > model.components.rows) throw new StudioError('BAD_INPUT', `The coordinates have ${k} columns but the PCA has ${model.components.rows} components.`);
  const n = Y.rows;
  const out = new Float32Array(n * d);
  const C = model.components.data;
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    row.set(model.mean);
    for (let c = 0; c < k; c++) {
      const y = Y.data[i * k + c];
      const co = c * d;
      for (let j = 0; j < d; j++) row[j] += y * C[co + j];
    }
    out.set(row, i * d);
  }
  return { rows: n, cols: d, data: out };
}

/** Mean squared error (over all n x d values) of reconstructing X from its first k components. */
export function pcaReconstructionError(model: PcaModel, X: Matrix, k = model.components.rows): number {
  const R = pcaReconstruct(model, pcaProject(model, X, k));
  let s = 0;
  for (let i = 0; i < X.data.length; i++) {
    const e = X.data[i] - R.data[i];
    s += e * e;
  }
  return s / X.data.length;
}
