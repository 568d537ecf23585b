/** Quality metrics against hand-computed values (eval/metrics.ts, the derangement of evaluate.ts). */
import { describe, expect, it } from 'vitest';
import { conditionalAccuracy, fitGaussian, frechetDistance, frechetGaussians, matchRate, meanL1, meanMse, sqrtPsd, transferRate, type Features, pairedGain } from '../../../../src/main/engine/eval/metrics';
import { derangement } from '../../../../src/main/engine/eval/evaluate';
import { Rng } from '../../../../src/main/engine/analysis/rng';

function randomFeatures(n: number, d: number, seed: number, mix = true): Features {
  const r = new Rng(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: d }, () => r.normal());
    for (let j = 0; j < d; j++) data[i * d + j] = mix ? z[j]! + 0.5 * z[(j + 1) % d]! : z[j]!;
  }
  return { data, rows: n, cols: d };
}

const shift = (f: Features, by: number[]): Features => ({ ...f, data: Float64Array.from(f.data as ArrayLike<number>, (v, i) => v + by[i % f.cols]!) });

describe('Fréchet distance', () => {
  it('is 0 for identical feature sets', () => {
    const f = randomFeatures(200, 6, 1);
    expect(frechetDistance(f, f)).toBeCloseTo(0, 6);
  });

  it('of a shifted copy (equal covariances) is |mu1 - mu2|^2', () => {
    const f = randomFeatures(300, 5, 2);
    const by = [1, -2, 0.5, 0, 3];
    expect(frechetDistance(f, shift(f, by))).toBeCloseTo(1 + 4 + 0.25 + 0 + 9, 6);
  });

  it('of 1-d Gaussians is (m1 - m2)^2 + (s1 - s2)^2', () => {
    // [-1, 1] has mean 0, sample variance 2; [1, 4, 7] mean 4, sample variance 9.
    const a = fitGaussian({ data: [-1, 1], rows: 2, cols: 1 });
    const b = fitGaussian({ data: [1, 4, 7], rows: 3, cols: 1 });
    expect(a.cov[0]).toBeCloseTo(2, 12);
    expect(b.cov[0]).toBeCloseTo(9, 12);
    expect(frechetGaussians(a, b).fd).toBeCloseTo(16 + (Math.sqrt(2) - 3) ** 2, 10);
  });

  it('of diagonal Gaussians is sum over dims of (dm)^2 + (sa - sb)^2', () => {
    const g = (mean: number[], v: number[]) => {
      const d = mean.length;
      const cov = new Float64Array(d * d);
      v.forEach((x, i) => (cov[i * d + i] = x));
      return { mean: Float64Array.from(mean), cov, dim: d, n: 100 };
    };
    const fd = frechetGaussians(g([0, 1, 2], [1, 4, 9]), g([1, 1, 0], [4, 4, 1])).fd;
    expect(fd).toBeCloseTo(1 + 0 + 4 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2, 10);
  });

  it('is symmetric and grows with the shift', () => {
    const a = randomFeatures(150, 4, 3);
    const b = randomFeatures(150, 4, 4, false);
    expect(frechetDistance(a, b)).toBeCloseTo(frechetDistance(b, a), 8);
    expect(frechetDistance(a, shift(a, [2, 2, 2, 2]))).toBeGreaterThan(frechetDistance(a, shift(a, [1, 1, 1, 1])));
  });

  it('refuses fewer than 2 rows', () => {
    expect(() => fitGaussian({ data: [1, 2], rows: 1, cols: 2 })).toThrow(/at least 2/);
  });
});

describe('sqrtPsd', () => {
  it('squares back to the matrix, and clamps round-off negatives', () => {
    const a = [4, 1, 0, 1, 3, 1, 0, 1, 2];
    const s = sqrtPsd(a, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let v = 0;
        for (let k = 0; k < 3; k++) v += s[i * 3 + k]! * s[k * 3 + j]!;
        expect(v).toBeCloseTo(a[i * 3 + j]!, 10);
      }
    }
    expect(Array.from(sqrtPsd([1, 1, 1, 1 - 1e-15], 2)).every(Number.isFinite)).toBe(true);
  });
});

describe('rates and pixel errors', () => {
  it('conditional accuracy counts matches, per class', () => {
    const r = conditionalAccuracy([0, 1, 1, 2, 2, 0], [0, 1, 2, 2, 2, 1]);
    expect(r.rate).toBeCloseTo(4 / 6, 12);
    expect(r.perClass[2]).toEqual({ rate: 2 / 3, n: 3 });
    expect(r.perClass[1]).toEqual({ rate: 0.5, n: 2 });
  });

  it('transfer rate is the share classified as the target class', () => {
    expect(transferRate([9, 9, 7, 9], 9).rate).toBe(0.75);
    expect(() => matchRate([], 1)).toThrow();
    expect(() => matchRate([1, 2], [1])).toThrow();
  });

  it('meanL1 / meanMse', () => {
    expect(meanL1([0, 0.5, 1, 1], [1, 0.5, 0, 1])).toBeCloseTo(0.5, 12);
    expect(meanMse([0, 0.5, 1, 1], [1, 0.5, 0, 0.5])).toBeCloseTo((1 + 0 + 1 + 0.25) / 4, 12);
    expect(() => meanL1([1], [1, 2])).toThrow();
  });

  it('derangement has no fixed point and is seeded', () => {
    for (let s = 0; s < 20; s++) {
      const p = derangement(10, s);
      expect([...p].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(p.every((v, i) => v !== i)).toBe(true);
    }
    expect(derangement(10, 3)).toEqual(derangement(10, 3));
  });
});

describe('pairedGain', () => {
  it('a gain every image shares has an interval above 0; one carried by a single image does not', () => {
    const base = Array.from({ length: 100 }, (_, i) => 0.5 + 0.001 * (i % 7));
    const steady = base.map((x, i) => x + 0.02 + 0.005 * Math.sin(i));
    const g = pairedGain(steady, base, 1);
    expect(g.mean).toBeCloseTo(0.02, 2);
    expect(g.lo).toBeGreaterThan(0.015);
    expect(g.hi).toBeLessThan(0.025);
    expect(g.wins).toBe(1);
    // Same mean gain (0.02), all of it from one image: the interval reaches 0 and the share is 1%.
    const lucky = base.map((x, i) => (i === 0 ? x + 2 : x));
    const h = pairedGain(lucky, base, 1);
    expect(h.mean).toBeCloseTo(0.02, 6);
    expect(h.lo).toBeLessThanOrEqual(0);
    expect(h.wins).toBe(0.01);
  });

  it('is deterministic from its seed and says what is wrong with unequal lists', () => {
    const a = [1, 2, 3, 4, 5];
    const b = [1, 1, 4, 2, 5];
    expect(pairedGain(a, b, 3)).toEqual(pairedGain(a, b, 3));
    expect(() => pairedGain([1, 2], [1], 0)).toThrow(/equal, non-empty/);
    expect(() => pairedGain([], [], 0)).toThrow(/equal, non-empty/);
  });
});
