/**
 * Latent-space tools, pure math (no runtime): seeded z, lerp / slerp paths, arithmetic, sliders
 * in sigma units, a small PCA (block power iteration) and GANSpace-style directions (PCA on an
 * intermediate activation or on outputs, mapped back to z by least squares, then orthonormalised).
 */
import { StudioError } from '../../../shared/errors';
import { Rng } from '../analysis/rng';

/** n seeded standard-normal vectors, row-major [n, dim]. Same seed -> same vectors everywhere. */
export function sampleZ(seed: number, n: number, dim: number): Float32Array {
  const rng = new Rng(seed);
  const z = new Float32Array(n * dim);
  for (let i = 0; i < z.length; i++) z[i] = rng.normal();
  return z;
}

export function lerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  checkSame(a, b);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + (b[i]! - a[i]!) * t;
  return out;
}

/**
 * Spherical interpolation (Shoemake; White 2016 "Sampling generative networks"): follows the
 * great circle between the directions of a and b, with the norm interpolated the same way, so
 * unit vectors stay on the unit sphere. Falls back to lerp when a and b are (anti)parallel.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  checkSame(a, b);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const denom = Math.sqrt(na * nb);
  if (denom === 0) return lerp(a, b, t);
  const cos = Math.min(1, Math.max(-1, dot / denom));
  const omega = Math.acos(cos);
  const so = Math.sin(omega);
  if (so < 1e-6) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / so;
  const wb = Math.sin(t * omega) / so;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i]! + wb * b[i]!;
  return out;
}

export type InterpMode = 'lerp' | 'slerp';

/** `steps` vectors from a to b inclusive (steps >= 2): the first equals a, the last equals b. */
export function interpolate(a: ArrayLike<number>, b: ArrayLike<number>, steps: number, mode: InterpMode): Float32Array[] {
  if (!Number.isInteger(steps) || steps < 2) throw new StudioError('BAD_INPUT', `An interpolation needs at least 2 steps (got ${steps}).`);
  const out: Float32Array[] = [];
  for (let s = 0; s < steps; s++) {
    if (s === 0) out.push(Float32Array.from(a));
    else if (s === steps - 1) out.push(Float32Array.from(b));
    else out.push((mode === 'slerp' ? slerp : lerp)(a, b, s / (steps - 1)));
  }
  return out;
}

/** a - b + c (e.g. "smiling woman" - "neutral woman" + "neutral man"). */
export function arithmetic(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>): Float32Array {
  checkSame(a, b);
  checkSame(a, c);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]! + c[i]!;
  return out;
}

/**
 * Apply sliders: `dims` sets z[i] to a value in sigma units (the prior is N(0, 1), so sigma = 1);
 * `moves` adds amount * sigma * direction (direction unit-norm, sigma its spread in z).
 */
export function applySliders(z: ArrayLike<number>, opts: { dims?: { index: number; value: number }[]; moves?: { direction: ArrayLike<number>; amount: number; sigma?: number }[] }): Float32Array {
  const out = Float32Array.from(z);
  for (const d of opts.dims ?? []) {
    if (!Number.isInteger(d.index) || d.index < 0 || d.index >= out.length) throw new StudioError('BAD_INPUT', `Latent dimension ${d.index} does not exist (0..${out.length - 1}).`);
    out[d.index] = d.value;
  }
  for (const m of opts.moves ?? []) {
    checkSame(out, m.direction);
    const s = (m.sigma ?? 1) * m.amount;
    for (let i = 0; i < out.length; i++) out[i] += s * m.direction[i]!;
  }
  return out;
}

/** One-hot blend of two classes: (1 - t) * onehot(a) + t * onehot(b), for n samples. */
export function classBlend(classes: number, a: number, b: number, t: number, n = 1): Float32Array {
  for (const c of [a, b]) if (!Number.isInteger(c) || c < 0 || c >= classes) throw new StudioError('BAD_INPUT', `Class ${c} does not exist (0..${classes - 1}).`);
  const w = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    w[i * classes + a] += 1 - t;
    w[i * classes + b] += t;
  }
  return w;
}

function checkSame(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new StudioError('BAD_INPUT', `Latent vectors differ in length (${a.length} vs ${b.length}).`);
}

// ---------------------------------------------------------------------------------------------
// PCA (small, local): top-k components of rows X [n, d] by block power iteration.

export interface SmallPca {
  mean: Float64Array;
  /** k x d orthonormal rows. */
  components: Float64Array[];
  /** Variance along each component (n - 1 denominator). */
  variance: number[];
  totalVariance: number;
  /** Scores [n] per component: (x - mean) . component. */
  scores: Float64Array[];
}

function orthonormalize(vs: Float64Array[]): void {
  const project = (v: Float64Array, upto: number): number => {
    for (let r = 0; r < 2; r++) {
      for (let j = 0; j < upto; j++) {
        const u = vs[j]!;
        let d = 0;
        for (let k = 0; k < v.length; k++) d += v[k]! * u[k]!;
        for (let k = 0; k < v.length; k++) v[k] -= d * u[k]!;
      }
    }
    let nrm = 0;
    for (let k = 0; k < v.length; k++) nrm += v[k]! * v[k]!;
    return Math.sqrt(nrm);
  };
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i]!;
    let nrm = project(v, i);
    // Degenerate (v in the span of the previous ones): take the first basis vector that is not.
    for (let t = 0; nrm < 1e-9 && t < v.length; t++) {
      v.fill(0);
      v[t] = 1;
      nrm = project(v, i);
    }
    for (let k = 0; k < v.length; k++) v[k] /= nrm;
  }
}

/** M v for row-major M [rows, cols]. */
function matVec(M: ArrayLike<number>, rows: number, cols: number, v: ArrayLike<number>, out = new Float64Array(rows)): Float64Array {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const o = i * cols;
    for (let j = 0; j < cols; j++) s += M[o + j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

/** M^T y for row-major M [rows, cols] (rows whose weight is 0 skipped). */
function matTVec(M: ArrayLike<number>, rows: number, cols: number, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const w = y[i]!;
    if (w === 0) continue;
    const o = i * cols;
    for (let j = 0; j < cols; j++) out[j] += M[o + j]! * w;
  }
  return out;
}

/** Deterministic sign: the component's largest-magnitude entry positive (its scores follow). */
function fixSign(component: Float64Array, scores: Float64Array): void {
  let best = 0;
  for (let j = 1; j < component.length; j++) if (Math.abs(component[j]!) > Math.abs(component[best]!)) best = j;
  if (component[best]! < 0) {
    for (let j = 0; j < component.length; j++) component[j] = -component[j]!;
    for (let i = 0; i < scores.length; i++) scores[i] = -scores[i]!;
  }
}

function columnMeans(X: Float32Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] /= n;
  return mean;
}

/**
 * PCA through the n x n Gram matrix G = C C^T when there are more features than samples
 * (activations, pixels): eigenvectors u of G give components v = C^T u / sqrt(lambda) and
 * scores C v = sqrt(lambda) u. Cost n^2 d once, then n^2 per power-iteration vector.
 */
function gramPca(C: Float64Array, n: number, d: number, k: number, mean: Float64Array, total: number, rng: Rng, iters: number, Gin?: Float64Array | Float32Array): SmallPca {
  let G = Gin;
  if (!G) {
    const g = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      const oi = i * d;
      for (let j = i; j < n; j++) {
        const oj = j * d;
        let s = 0;
        for (let t = 0; t < d; t++) s += C[oi + t]! * C[oj + t]!;
        g[i * n + j] = s;
        g[j * n + i] = s;
      }
    }
    G = g;
  }
  const p = Math.min(n, k + 4);
  let U: Float64Array[] = Array.from({ length: p }, () => Float64Array.from({ length: n }, () => rng.normal()));
  orthonormalize(U);
  const mul = (u: Float64Array) => matVec(G, n, n, u);
  for (let it = 0; it < iters; it++) {
    U = U.map(mul);
    orthonormalize(U);
  }
  const lambdas = U.map((u) => {
    const gu = mul(u);
    let s = 0;
    for (let i = 0; i < n; i++) s += u[i]! * gu[i]!;
    return s;
  });
  const order = lambdas.map((l, i) => ({ i, l })).sort((a, b) => b.l - a.l).slice(0, k);
  const components: Float64Array[] = [];
  const scores: Float64Array[] = [];
  for (const { i, l } of order) {
    const u = U[i]!;
    const v = matTVec(C, n, d, u);
    const sl = Math.sqrt(Math.max(l, 1e-30));
    for (let t = 0; t < d; t++) v[t] /= sl;
    const sc = Float64Array.from(u, (x) => x * sl);
    fixSign(v, sc);
    components.push(v);
    scores.push(sc);
  }
  return { mean, components, variance: order.map((o) => o.l / (n - 1)), totalVariance: total / (n - 1), scores };
}

/**
 * Top-k PCA of rows X [n, d]. `gram` (optional) computes C C^T of the centred rows faster than
 * plain JS (e.g. onnxruntime's MatMul); it is used when d > n.
 */
export function smallPca(X: Float32Array, n: number, d: number, k: number, opts: { iterations?: number; seed?: number; gram?: Float32Array | Float64Array } = {}): SmallPca {
  if (n < 2) throw new StudioError('BAD_INPUT', 'PCA needs at least 2 samples.');
  k = Math.min(k, d, n - 1);
  const mean = columnMeans(X, n, d);
  const C = new Float64Array(n * d);
  let total = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const v = X[i * d + j]! - mean[j]!;
      C[i * d + j] = v;
      total += v * v;
    }
  const rng = new Rng(opts.seed ?? 17);
  if (d > n) return gramPca(C, n, d, k, mean, total, rng, opts.iterations ?? 100, opts.gram);
  const p = Math.min(d, k + 4); // a few extra vectors speed up convergence of the first k
  let Q: Float64Array[] = Array.from({ length: p }, () => Float64Array.from({ length: d }, () => rng.normal()));
  orthonormalize(Q);
  const iters = opts.iterations ?? 60;
  const y = new Float64Array(n);
  for (let it = 0; it < iters; it++) {
    Q = Q.map((q) => matTVec(C, n, d, matVec(C, n, d, q, y))); // C^T (C q)
    orthonormalize(Q);
  }
  // Rayleigh-Ritz on the subspace so components come sorted by variance.
  const scoresAll = Q.map((q) => matVec(C, n, d, q));
  const order = scoresAll.map((s, i) => ({ i, v: s.reduce((a, b) => a + b * b, 0) })).sort((a, b) => b.v - a.v).slice(0, k);
  const components = order.map((o) => Q[o.i]!);
  const scores = order.map((o) => scoresAll[o.i]!);
  components.forEach((c, ci) => fixSign(c, scores[ci]!));
  return { mean, components, variance: order.map((o) => o.v / (n - 1)), totalVariance: total / (n - 1), scores };
}

/** Rows minus their column means, as float32 (input of a fast Gram product). */
export function centeredRows(X: Float32Array, n: number, d: number): Float32Array {
  const mean = columnMeans(X, n, d);
  const C = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) C[i * d + j] = X[i * d + j]! - mean[j]!;
  return C;
}

export interface Directions {
  /** k unit vectors in z, orthonormal. */
  directions: number[][];
  /** Spread of the samples' z along each direction (sigma units for sliders). */
  sigma: number[];
  /** Share of the feature variance each PCA component explains. */
  explainedVarianceRatio: number[];
}

/**
 * GANSpace (Härkönen et al. 2020): PCA on features F [n, d] of generated samples, then for each
 * component regress z on its scores (least squares: u = Z^T s / s^T s), so moving z along u moves
 * the features along the component; finally orthonormalise the u's (Gram-Schmidt in PCA order).
 */
export function directionsFromFeatures(Z: Float32Array, F: Float32Array, n: number, latent: number, featDim: number, k: number, seed = 17, gram?: Float32Array | Float64Array): Directions {
  const pcaRes = smallPca(F, n, featDim, k, { seed, ...(gram ? { gram } : {}) });
  const U = pcaRes.scores.map((s) => {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += s[i]! * s[i]!;
    const u = new Float64Array(latent);
    for (let i = 0; i < n; i++) {
      const w = s[i]! / (ss || 1);
      for (let j = 0; j < latent; j++) u[j] += Z[i * latent + j]! * w;
    }
    return u;
  });
  orthonormalize(U);
  const sigma = U.map((u) => {
    let m = 0;
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      let p = 0;
      for (let j = 0; j < latent; j++) p += Z[i * latent + j]! * u[j]!;
      m += p;
      m2 += p * p;
    }
    m /= n;
    return Math.sqrt(Math.max(0, m2 / n - m * m));
  });
  return {
    directions: U.map((u) => Array.from(u)),
    sigma,
    explainedVarianceRatio: pcaRes.variance.map((v) => v / (pcaRes.totalVariance || 1)),
  };
}
