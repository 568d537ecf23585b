/**
 * Quality metrics of generative models, measured with the FashionCNN classifier
 * (analysis/classifier.ts) where a classifier is needed:
 *
 * - conditionalAccuracy: share of generated images the classifier assigns to the class they were
 *   generated for (cgan).
 * - transferRate: share of translated images the classifier assigns to the target domain's class
 *   (cyclegan A -> B: sneakers -> ankle boots).
 * - frechetDistance: d^2 = |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr((C1 C2)^(1/2)) between two
 *   Gaussians fitted to feature sets. Computed in FashionCNN's 64-d penultimate layer it is called
 *   "FD-FashionCNN" - NOT FID (FID uses Inception-v3 pool features on natural images; the values
 *   are not comparable). tr((C1 C2)^(1/2)) = tr((S1 C2 S1)^(1/2)) with S1 = C1^(1/2): both square
 *   roots are of symmetric PSD matrices and come from a symmetric eigendecomposition
 *   (eigen.ts), negative round-off eigenvalues clamped to 0.
 * - meanL1 / meanMse per image pair: cycle-reconstruction L1 and identity L1 (cyclegan),
 *   reconstruction MSE (autoencoder), L1 of translations (pix2pix).
 */
import { StudioError } from '../../../shared/errors';
import { symmetricEigen } from '../analysis/eigen';
import { Rng } from '../core/rng';

export interface Features {
  /** rows x cols row-major. */
  data: ArrayLike<number>;
  rows: number;
  cols: number;
}

export interface Gaussian {
  mean: Float64Array;
  /** cols x cols, sample covariance (n - 1 denominator). */
  cov: Float64Array;
  dim: number;
  n: number;
}

export function fitGaussian(f: Features): Gaussian {
  const { rows: n, cols: d, data } = f;
  if (n < 2) throw new StudioError('BAD_INPUT', `A Fréchet distance needs at least 2 feature rows (got ${n}).`);
  if (data.length !== n * d) throw new StudioError('BAD_INPUT', `Feature data has ${data.length} values, not ${n} x ${d}.`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      const o = a * d;
      for (let b = a; b < d; b++) cov[o + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { mean, cov, dim: d, n };
}

/** Square root of a symmetric PSD matrix (n x n row-major): V diag(sqrt(max(l, 0))) V^T. */
export function sqrtPsd(a: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]!));
    if (s === 0) continue;
    const v = vectors.subarray(k * n, k * n + n);
    for (let i = 0; i < n; i++) {
      const vi = v[i]! * s;
      if (vi === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += vi * v[j]!;
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += aik * b[k * n + j]!;
    }
  }
  return out;
}

export interface FrechetResult {
  /** The Fréchet distance d^2 (as FID reports it: the squared form). */
  fd: number;
  meanTerm: number;
  traceTerm: number;
}

/** Fréchet distance between two Gaussians. */
export function frechetGaussians(g1: Gaussian, g2: Gaussian): FrechetResult {
  if (g1.dim !== g2.dim) throw new StudioError('BAD_INPUT', `Feature sizes differ (${g1.dim} vs ${g2.dim}).`);
  const d = g1.dim;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (g1.mean[j]! - g2.mean[j]!) ** 2;
  const s1 = sqrtPsd(g1.cov, d);
  const m = matmul(matmul(s1, g2.cov, d), s1, d);
  // symmetrise against round-off before the eigendecomposition
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const v = 0.5 * (m[i * d + j]! + m[j * d + i]!);
      m[i * d + j] = v;
      m[j * d + i] = v;
    }
  }
  const ev = symmetricEigen(m, d).values;
  let trSqrt = 0;
  for (let k = 0; k < d; k++) trSqrt += Math.sqrt(Math.max(0, ev[k]!));
  let tr1 = 0;
  let tr2 = 0;
  for (let k = 0; k < d; k++) {
    tr1 += g1.cov[k * d + k]!;
    tr2 += g2.cov[k * d + k]!;
  }
  const traceTerm = tr1 + tr2 - 2 * trSqrt;
  return { fd: Math.max(0, meanTerm + traceTerm), meanTerm, traceTerm };
}

/** Fréchet distance between two feature sets (rows are samples). */
export function frechetDistance(a: Features, b: Features): number {
  return frechetGaussians(fitGaussian(a), fitGaussian(b)).fd;
}

export interface ClassShare {
  /** Overall share of predictions equal to the target. */
  rate: number;
  n: number;
  /** Per target class: share and count. */
  perClass: Record<number, { rate: number; n: number }>;
}

/** Share of predicted[i] === target[i] (or === a single target class), with a per-class split. */
export function matchRate(predicted: ArrayLike<number>, target: ArrayLike<number> | number): ClassShare {
  const n = predicted.length;
  if (n === 0) throw new StudioError('BAD_INPUT', 'No predictions to score.');
  const tgt = (i: number) => (typeof target === 'number' ? target : target[i]!);
  if (typeof target !== 'number' && target.length !== n) throw new StudioError('BAD_INPUT', `${n} predictions but ${target.length} targets.`);
  let ok = 0;
  const per: Record<number, { ok: number; n: number }> = {};
  for (let i = 0; i < n; i++) {
    const t = tgt(i);
    per[t] ??= { ok: 0, n: 0 };
    per[t].n++;
    if (predicted[i] === t) {
      ok++;
      per[t].ok++;
    }
  }
  return { rate: ok / n, n, perClass: Object.fromEntries(Object.entries(per).map(([k, v]) => [Number(k), { rate: v.ok / v.n, n: v.n }])) };
}

/** Conditional accuracy of a class-conditional generator: classifier(G(z, c)) === c. */
export const conditionalAccuracy = (predicted: ArrayLike<number>, requested: ArrayLike<number>): ClassShare => matchRate(predicted, requested);

/** Domain-transfer rate: share of translations classified as the target domain's class. */
export const transferRate = (predicted: ArrayLike<number>, targetClass: number): ClassShare => matchRate(predicted, targetClass);

/** Mean over image pairs of the mean absolute difference (a, b: n images of `per` values each). */
export function meanL1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new StudioError('BAD_INPUT', `Image sets differ in size (${a.length} vs ${b.length} values).`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** Mean squared difference over all values of two image sets. */
export function meanMse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new StudioError('BAD_INPUT', `Image sets differ in size (${a.length} vs ${b.length} values).`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

export interface PairedGain {
  /** Mean of a[i] - b[i]. */
  mean: number;
  /** 95% percentile bootstrap interval of that mean (resampling images, seeded). */
  lo: number;
  hi: number;
  /** Share of items where a[i] > b[i]. */
  wins: number;
}

/**
 * How a model's per-image score compares with a baseline's on the same images: the mean gain, its
 * 95% bootstrap interval and the share of images it wins. A mean alone can hide a gain carried by
 * a few images; "clearly better" needs the interval above 0. Resampling treats the images as
 * independent, which crops of a few photos are not, so the interval is narrower than one over
 * photos would be: read it as a lower bar, not a guarantee.
 */
export function pairedGain(a: ArrayLike<number>, b: ArrayLike<number>, seed = 0, resamples = 2000): PairedGain {
  const n = a.length;
  if (n !== b.length || n === 0) throw new Error(`pairedGain needs two equal, non-empty score lists (got ${n} and ${b.length})`);
  const d = new Float64Array(n);
  let sum = 0;
  let wins = 0;
  for (let i = 0; i < n; i++) {
    d[i] = a[i]! - b[i]!;
    sum += d[i]!;
    if (d[i]! > 0) wins++;
  }
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rng.next() * n)]!;
    means[r] = s / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { mean: sum / n, lo: at(0.025), hi: at(0.975), wins: wins / n };
}
