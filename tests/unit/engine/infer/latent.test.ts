import { describe, expect, it } from 'vitest';
import { applySliders, arithmetic, classBlend, directionsFromFeatures, interpolate, lerp, sampleZ, slerp, smallPca } from '../../../../src/main/engine/infer/latent';
import { Rng } from '../../../../src/main/engine/analysis/rng';

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, b) => a + b * b, 0));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i]!, 0);
const unit = (v: Float32Array) => v.map((x) => x / norm(v));

describe('latent math', () => {
  it('sampleZ is seeded and roughly standard normal', () => {
    expect(Array.from(sampleZ(3, 2, 4))).toEqual(Array.from(sampleZ(3, 2, 4)));
    expect(Array.from(sampleZ(3, 1, 4))).not.toEqual(Array.from(sampleZ(4, 1, 4)));
    const z = sampleZ(1, 1, 20000);
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const sd = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });

  it('slerp of unit vectors stays on the unit sphere; lerp does not', () => {
    const a = unit(sampleZ(1, 1, 16));
    const b = unit(sampleZ(2, 1, 16));
    for (const t of [0.1, 0.25, 0.5, 0.9]) expect(norm(slerp(a, b, t))).toBeCloseTo(1, 5);
    expect(norm(lerp(a, b, 0.5))).toBeLessThan(0.99);
    // slerp is uniform in angle
    const mid = slerp(a, b, 0.5);
    expect(dot(mid, a)).toBeCloseTo(dot(mid, b), 5);
  });

  it('interpolation endpoints equal the keyframes, both modes', () => {
    const a = sampleZ(5, 1, 8);
    const b = sampleZ(6, 1, 8);
    for (const mode of ['lerp', 'slerp'] as const) {
      const p = interpolate(a, b, 5, mode);
      expect(p).toHaveLength(5);
      expect(Array.from(p[0]!)).toEqual(Array.from(a));
      expect(Array.from(p[4]!)).toEqual(Array.from(b));
    }
    const mid = lerp(a, b, 0.5);
    for (let i = 0; i < 8; i++) expect(mid[i]).toBeCloseTo((a[i]! + b[i]!) / 2, 6);
    expect(() => interpolate(a, b, 1, 'lerp')).toThrow(/at least 2/);
  });

  it('slerp of parallel vectors falls back to lerp', () => {
    const a = Float32Array.from([1, 0, 0]);
    const b = Float32Array.from([2, 0, 0]);
    expect(Array.from(slerp(a, b, 0.5))).toEqual([1.5, 0, 0]);
  });

  it('arithmetic, sliders, class blend', () => {
    expect(Array.from(arithmetic([1, 2], [3, 5], [10, 10]))).toEqual([8, 7]);
    expect(Array.from(applySliders([0, 0, 0], { dims: [{ index: 1, value: 2 }], moves: [{ direction: [1, 0, 0], amount: -1.5, sigma: 2 }] }))).toEqual([-3, 2, 0]);
    expect(() => applySliders([0], { dims: [{ index: 3, value: 1 }] })).toThrow(/dimension 3/);
    expect(Array.from(classBlend(4, 1, 3, 0.25))).toEqual([0, 0.75, 0, 0.25]);
    expect(() => classBlend(4, 1, 4, 0.5)).toThrow(/Class 4/);
  });
});

describe('PCA and directions', () => {
  it('finds the dominant axes of anisotropic data, orthonormal and sorted', () => {
    const rng = new Rng(2);
    const n = 400;
    const d = 6;
    const X = new Float32Array(n * d);
    const sds = [5, 0.5, 3, 0.2, 1, 0.1];
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j] = rng.normal() * sds[j]! + j;
    const p = smallPca(X, n, d, 3);
    expect(Math.abs(p.components[0]![0]!)).toBeGreaterThan(0.99);
    expect(Math.abs(p.components[1]![2]!)).toBeGreaterThan(0.99);
    expect(Math.abs(p.components[2]![4]!)).toBeGreaterThan(0.98);
    expect(p.variance[0]).toBeGreaterThan(p.variance[1]!);
    expect(p.variance[0]! / 25).toBeGreaterThan(0.8);
  });

  it('GANSpace directions are orthonormal in z and recover a planted linear map', () => {
    // features F = Z A (A: latent 5 -> 12); the top direction must align with A's top right-singular vector
    const n = 300;
    const L = 5;
    const D = 12;
    const Z = sampleZ(9, n, L);
    const rng = new Rng(4);
    const A = Float32Array.from({ length: L * D }, (_, i) => rng.normal() * (i < D ? 6 : 1)); // row 0 dominant
    const F = new Float32Array(n * D);
    for (let i = 0; i < n; i++) for (let k = 0; k < D; k++) {
      let s = 0;
      for (let j = 0; j < L; j++) s += Z[i * L + j]! * A[j * D + k]!;
      F[i * D + k] = s;
    }
    const r = directionsFromFeatures(Z, F, n, L, D, 4);
    expect(r.directions).toHaveLength(4);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) expect(dot(r.directions[i]!, r.directions[j]!)).toBeCloseTo(i === j ? 1 : 0, 6);
    // row 0 of A dominates, so the first direction is close to e0
    expect(Math.abs(r.directions[0]![0]!)).toBeGreaterThan(0.9);
    expect(r.sigma[0]!).toBeGreaterThan(0.7);
    expect(r.explainedVarianceRatio[0]!).toBeGreaterThan(r.explainedVarianceRatio[1]!);
  });
});

describe('PCA with more features than samples (Gram path)', () => {
  it('agrees with the covariance path on the top components', () => {
    const rng = new Rng(8);
    const n = 30;
    const d = 40;
    const X = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = rng.normal() * 4;
      const b = rng.normal() * 2;
      for (let j = 0; j < d; j++) X[i * d + j] = a * Math.sin(j) + b * Math.cos(3 * j) + rng.normal() * 0.1;
    }
    const gram = smallPca(X, n, d, 2);
    // The covariance path on the same rows stacked twice (2n = 60 > d = 40, so no Gram): same
    // mean and components; C'^T C' = 2 C^T C, so its variance is 2 (n-1) / (2n-1) times ours; the
    // scores repeat.
    const twice = new Float32Array(2 * n * d);
    twice.set(X);
    twice.set(X, n * d);
    const cov = smallPca(twice, 2 * n, d, 2);
    for (let c = 0; c < 2; c++) {
      expect(Math.abs(dot(gram.components[c]!, cov.components[c]!)), `component ${c}`).toBeCloseTo(1, 5);
      expect(cov.variance[c]! / gram.variance[c]!, `variance ${c}`).toBeCloseTo((2 * (n - 1)) / (2 * n - 1), 5);
      const sign = Math.sign(dot(gram.components[c]!, cov.components[c]!));
      for (let i = 0; i < n; i++) {
        expect(sign * cov.scores[c]![i]!).toBeCloseTo(gram.scores[c]![i]!, 3);
        expect(sign * cov.scores[c]![n + i]!).toBeCloseTo(gram.scores[c]![i]!, 3);
      }
    }
    expect(cov.totalVariance / gram.totalVariance).toBeCloseTo((2 * (n - 1)) / (2 * n - 1), 6);
    // And the definition: each component is unit-norm, orthogonal, and its variance equals the
    // variance of the scores.
    for (let c = 0; c < 2; c++) {
      expect(norm(gram.components[c]!)).toBeCloseTo(1, 6);
      const sc = gram.scores[c]!;
      const v = Array.from(sc).reduce((s, x) => s + x * x, 0) / (n - 1);
      expect(v).toBeCloseTo(gram.variance[c]!, 6);
    }
    expect(dot(gram.components[0]!, gram.components[1]!)).toBeCloseTo(0, 6);
    // the first component is the sin pattern (up to sign, normalised)
    const sinv = Float64Array.from({ length: d }, (_, j) => Math.sin(j));
    const sn = norm(sinv);
    expect(Math.abs(dot(gram.components[0]!, sinv)) / sn).toBeGreaterThan(0.98);
    expect(gram.variance[0]! / gram.totalVariance).toBeGreaterThan(0.6);
  });
});
