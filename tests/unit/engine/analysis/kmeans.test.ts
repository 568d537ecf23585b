import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KMEANS_DEFAULT_N_INIT } from '../../../../src/shared/channels/analysis';
import { StudioError } from '../../../../src/shared/errors';
import { defaultLocalTrials, kmeans, median } from '../../../../src/main/engine/analysis/kmeans';
import { createMatrix, fromRows } from '../../../../src/main/engine/analysis/matrix';
import { Rng } from '../../../../src/main/engine/analysis/rng';
import { analysisBlas, blasTuning } from '../../../../src/main/engine/analysis/blas';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof StudioError ? e.code : 'NOT_A_STUDIO_ERROR';
  }
  return undefined;
}

describe('k-means: the textbook example', () => {
  // The classic exercise: A1(2,10) A2(2,5) A3(8,4) B1(5,8) B2(7,5) B3(6,4) C1(1,2) C2(4,9),
  // k = 3, initial centres A1, B1, C1.
  const X = fromRows([[2, 10], [2, 5], [8, 4], [5, 8], [7, 5], [6, 4], [1, 2], [4, 9]]);
  const init = fromRows([[2, 10], [5, 8], [1, 2]]);

  it('converges in 4 iterations to {A1,B1,C2} {A3,B2,B3} {A2,C1}', () => {
    // it 1: clusters {A1} {A3,B1,B2,B3,C2} {A2,C1}   -> centres (2,10) (6,6) (1.5,3.5)
    // it 2: clusters {A1,C2} {A3,B1,B2,B3} {A2,C1}   -> centres (3,9.5) (6.5,5.25) (1.5,3.5)
    // it 3: clusters {A1,B1,C2} {A3,B2,B3} {A2,C1}   -> centres (11/3,9) (7,13/3) (1.5,3.5)
    // it 4: same clusters -> centres do not move (shift 0): converged.
    const shifts: number[] = [];
    const r = kmeans(X, { k: 3, init, onIteration: (it) => shifts.push(it.shift) });
    expect(Array.from(r.labels)).toEqual([0, 2, 1, 0, 1, 1, 2, 0]);
    const c = Array.from(r.centroids.data);
    const want = [11 / 3, 9, 7, 13 / 3, 1.5, 3.5];
    for (let i = 0; i < 6; i++) expect(c[i]).toBeCloseTo(want[i], 5);
    expect(r.iterations).toBe(4);
    expect(r.converged).toBe(true);
    expect(shifts.length).toBe(4);
    expect(shifts[3]).toBe(0);
    expect(shifts[0]).toBeCloseTo(Math.hypot(1, 2), 12); // (5,8) -> (6,6)
    // inertia: {A1,B1,C2}: 34/9 + 25/9 + 1/9 = 20/3; {A3,B2,B3}: 10/9 + 4/9 + 10/9 = 8/3; {A2,C1}: 2.5 + 2.5
    expect(r.inertia).toBeCloseTo(20 / 3 + 8 / 3 + 5, 10);
    expect(Array.from(r.sizes)).toEqual([3, 3, 2]);
  });

  it('stops at maxIter without claiming convergence', () => {
    const r = kmeans(X, { k: 3, init, maxIter: 2 });
    expect(r.iterations).toBe(2);
    expect(r.converged).toBe(false);
    // labels are those of the final centroids (3,9.5) (6.5,5.25) (1.5,3.5) -> iteration 3's clusters
    expect(Array.from(r.labels)).toEqual([0, 2, 1, 0, 1, 1, 2, 0]);
  });

  it('with k-means++ and restarts finds the same (best) clustering, deterministically', () => {
    const a = kmeans(X, { k: 3, nInit: 5, seed: 7 });
    const b = kmeans(X, { k: 3, nInit: 5, seed: 7 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Array.from(a.centroids.data)).toEqual(Array.from(b.centroids.data));
    expect(a.runInertias).toEqual(b.runInertias);
    expect(a.runInertias.length).toBe(5);
    expect(a.inertia).toBe(Math.min(...a.runInertias));
    expect(a.inertia).toBeLessThanOrEqual(20 / 3 + 8 / 3 + 5 + 1e-9);
    expect(a.converged).toBe(true);
  });
});

/** Three blobs in 12-D (fixtures/make_sklearn_kmeans_fixture.py) and scikit-learn's answer. */
interface BlobCase {
  randomState: number;
  X: number[][];
  inertia: number;
  sizes: number[];
}
const blobCases = (JSON.parse(readFileSync(new URL('./fixtures/kmeans-blobs.json', import.meta.url), 'utf8')) as { cases: BlobCase[] }).cases;

describe('k-means: defaults find scikit-learn\'s optimum', () => {
  it('defaults: 2 + floor(ln k) greedy candidates per centre, several initialisations', () => {
    expect([1, 2, 3, 7, 8, 10, 20].map(defaultLocalTrials)).toEqual([2, 2, 3, 3, 4, 4, 4]);
    expect(KMEANS_DEFAULT_N_INIT).toBeGreaterThan(1);
    const r = kmeans(fromRows(blobCases[0]!.X), { k: 3 });
    expect(r.runInertias).toHaveLength(KMEANS_DEFAULT_N_INIT);
    expect(r.localTrials).toBe(3);
    expect(r.inertia).toBe(Math.min(...r.runInertias));
  });

  for (const c of blobCases) {
    it(`blobs (random state ${c.randomState}): default options give scikit-learn's inertia and 150/150/100 for seeds 0-5`, () => {
      const X = fromRows(c.X);
      for (let seed = 0; seed < 6; seed++) {
        const r = kmeans(X, { k: 3, seed });
        expect(Math.abs(r.inertia - c.inertia) / c.inertia, `seed ${seed}: inertia ${r.inertia} vs ${c.inertia}`).toBeLessThan(1e-5);
        expect(Array.from(r.sizes).sort((a, b) => a - b)).toEqual(c.sizes);
      }
    });
  }

  it('one plain k-means++ initialisation (the old default) misses the optimum on these blobs for some seed', () => {
    // Proves the fixture can tell the defaults apart: were they still one plain draw, the tests above would fail.
    const misses = blobCases.map((c) => {
      const X = fromRows(c.X);
      return [0, 1, 2, 3, 4, 5].filter((seed) => kmeans(X, { k: 3, seed, nInit: 1, localTrials: 1 }).inertia > c.inertia * 1.2).length;
    });
    for (const m of misses) expect(m).toBeGreaterThan(0);
  });
});

describe('k-means: distances on the SIMD products (kmeans-gemm.ts)', () => {
  const withProducts = <T>(on: boolean, fn: () => T): T => {
    const saved = { ...blasTuning };
    blasTuning.minWork = on ? 0 : Infinity;
    try {
      return fn();
    } finally {
      Object.assign(blasTuning, saved);
    }
  };

  it.skipIf(!analysisBlas())('give the float64 loops\' clustering and inertia (blobs, random data with d not a multiple of 4), and free their heap (skipped: no WebAssembly SIMD here)', () => {
    const rng = new Rng(3);
    const random = createMatrix(1001, 37);
    // 7 clusters (row i in cluster i % 7) with centres 8 apart on random axes: on noise without
    // structure two runs may part at a near tie, which says nothing about the products
    const centres = Array.from({ length: 7 }, () => Array.from({ length: 37 }, () => 8 * rng.int(2)));
    for (let i = 0; i < random.data.length; i++) random.data[i] = rng.normal() + centres[Math.floor(i / 37) % 7]![i % 37]!;
    const cases: [ReturnType<typeof fromRows>, number][] = [[fromRows(blobCases[0]!.X), 3], [fromRows(blobCases[1]!.X), 3], [random, 7]];
    for (const [X, k] of cases) {
      for (const seed of [0, 1]) {
        const loops = withProducts(false, () => kmeans(X, { k, seed }));
        const prods = withProducts(true, () => kmeans(X, { k, seed }));
        expect(Math.abs(prods.inertia - loops.inertia) / loops.inertia).toBeLessThan(1e-6);
        expect(Array.from(prods.labels)).toEqual(Array.from(loops.labels));
        expect(prods.iterations).toBe(loops.iterations);
      }
    }
    expect(analysisBlas()!.used()).toBe(0);
  });

  it.skipIf(!analysisBlas())('keep exact zeros: duplicates still make "fewer distinct points than k" a clear error (skipped: no WebAssembly SIMD here)', () => {
    const X = fromRows(Array.from({ length: 50 }, (_, i) => [i % 2 ? 0.1 : 7.3, 2.2, -1, 5]));
    withProducts(true, () => {
      expect(() => kmeans(X, { k: 3 })).toThrow(/only 2 distinct points, fewer than k = 3/);
      // the float32 sums put the centroid of 25 copies of 0.1 within float32 rounding of it
      expect(kmeans(X, { k: 2 }).inertia).toBeLessThan(1e-9);
    });
    expect(analysisBlas()!.used()).toBe(0);
  });
});

describe('k-means: behaviour', () => {
  it('separates well-separated blobs whatever the seed', () => {
    const rng = new Rng(1);
    const centres = [[0, 0, 0], [10, 10, 0], [0, 10, 10], [10, 0, 10]];
    const rows: number[][] = [];
    for (let i = 0; i < 200; i++) {
      const c = centres[i % 4];
      rows.push(c.map((v) => v + 0.5 * rng.normal()));
    }
    const X = fromRows(rows);
    for (const seed of [0, 1, 2]) {
      const r = kmeans(X, { k: 4, seed, nInit: 3 });
      expect(r.converged).toBe(true);
      // points with the same true centre share a label, and the 4 labels are distinct
      const map = new Map<number, number>();
      for (let i = 0; i < 200; i++) {
        const truth = i % 4;
        if (!map.has(truth)) map.set(truth, r.labels[i]);
        expect(r.labels[i]).toBe(map.get(truth));
      }
      expect(new Set(map.values()).size).toBe(4);
    }
  });

  it('re-seeds an empty cluster from the farthest point', () => {
    // centre 1000 attracts nobody. Squared distances to the nearest centre: 0,1,4 (to 0) and 1,0,1 (to 11):
    // the farthest point, 2, moves to the empty cluster. Then {0,1} {10,11,12} {2} is stable.
    const X = fromRows([[0], [1], [2], [10], [11], [12]]);
    const r = kmeans(X, { k: 3, init: fromRows([[0], [11], [1000]]) });
    expect(Array.from(r.labels)).toEqual([0, 0, 2, 1, 1, 1]);
    expect(Array.from(r.centroids.data)).toEqual([0.5, 11, 2]);
    expect(Array.from(r.sizes)).toEqual([2, 3, 1]);
    expect(r.converged).toBe(true);
  });

  it('k = n puts every point alone with zero inertia; k = 1 gives the mean', () => {
    const X = fromRows([[0, 1], [4, 1], [2, 7]]);
    const r = kmeans(X, { k: 3, seed: 3 });
    expect(new Set(Array.from(r.labels)).size).toBe(3);
    expect(r.inertia).toBe(0);
    const one = kmeans(X, { k: 1 });
    expect(Array.from(one.centroids.data)).toEqual([2, 3]);
    expect(one.inertia).toBeCloseTo(4 + 4 + 0 + 4 + 4 + 16, 10);
  });

  it('manhattan runs k-medians: centroids are coordinate-wise medians', () => {
    // {0,1,2,3,4,20} and {100,101}: the median 2.5 ignores the outlier 20, the mean would be 5.
    const X = fromRows([[0], [1], [2], [3], [4], [20], [100], [101]]);
    const init = fromRows([[0], [100]]);
    const med = kmeans(X, { k: 2, metric: 'manhattan', init });
    expect(Array.from(med.centroids.data)).toEqual([2.5, 100.5]);
    // L1 inertia: (2.5+1.5+0.5+0.5+1.5+17.5) + (0.5+0.5) = 24 + 1
    expect(med.inertia).toBe(25);
    expect(med.converged).toBe(true);
    const mean = kmeans(X, { k: 2, metric: 'euclidean', init });
    expect(Array.from(mean.centroids.data)).toEqual([5, 100.5]);
    // coordinate-wise: median of (0,5) (1,0) (9,1) is (1,1)
    const Y = fromRows([[0, 5], [1, 0], [9, 1]]);
    expect(Array.from(kmeans(Y, { k: 1, metric: 'manhattan' }).centroids.data)).toEqual([1, 1]);
  });

  it('median helper (odd, even, duplicates)', () => {
    expect(median(Float64Array.from([5, 1, 3]), 3)).toBe(3);
    expect(median(Float64Array.from([4, 1, 3, 2]), 4)).toBe(2.5);
    expect(median(Float64Array.from([2, 2, 2, 7, 2]), 5)).toBe(2);
    expect(median(Float64Array.from([9, 1, 1, 9]), 4)).toBe(5);
    const rng = new Rng(5);
    for (let t = 0; t < 50; t++) {
      const m = 1 + rng.int(30);
      const a = Float64Array.from({ length: m }, () => rng.int(10));
      const sorted = Array.from(a).sort((p, q) => p - q);
      const want = m % 2 ? sorted[(m - 1) / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
      expect(median(a, m)).toBe(want);
    }
  });

  it('is deterministic for a seed and honours tol', () => {
    const rng = new Rng(9);
    const X = createMatrix(300, 5);
    for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
    const a = kmeans(X, { k: 6, seed: 11 });
    const b = kmeans(X, { k: 6, seed: 11 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(a.iterations).toBe(b.iterations);
    const loose = kmeans(X, { k: 6, seed: 11, tol: 1e9 });
    expect(loose.iterations).toBe(1);
    expect(loose.converged).toBe(true);
  });

  it('can be cancelled between iterations', () => {
    const X = fromRows([[0], [1], [5], [6]]);
    expect(code(() => kmeans(X, { k: 2, isCancelled: () => true }))).toBe('CANCELLED');
  });
});

describe('k-means: degenerate inputs', () => {
  it('k > n, k < 1, non-integer k', () => {
    const X = fromRows([[0], [1]]);
    expect(code(() => kmeans(X, { k: 3 }))).toBe('BAD_INPUT');
    expect(() => kmeans(X, { k: 3 })).toThrow(/k = 3 clusters is more than the 2 points/);
    expect(code(() => kmeans(X, { k: 0 }))).toBe('BAD_INPUT');
    expect(code(() => kmeans(X, { k: 1.5 }))).toBe('BAD_INPUT');
  });

  it('identical points: one cluster is fine, two are impossible', () => {
    const X = fromRows([[3, 3], [3, 3], [3, 3]]);
    const one = kmeans(X, { k: 1 });
    expect(one.inertia).toBe(0);
    expect(one.converged).toBe(true);
    expect(code(() => kmeans(X, { k: 2 }))).toBe('BAD_INPUT');
    expect(() => kmeans(X, { k: 2 })).toThrow(/only 1 distinct point/);
  });

  it('one point, empty input, NaN, Infinity, wrong initial centroids', () => {
    expect(kmeans(fromRows([[1, 2]]), { k: 1 }).inertia).toBe(0);
    expect(code(() => kmeans(createMatrix(0, 2), { k: 1 }))).toBe('BAD_INPUT');
    expect(code(() => kmeans(fromRows([[1], [NaN]]), { k: 1 }))).toBe('BAD_INPUT');
    expect(code(() => kmeans(fromRows([[1], [-Infinity]]), { k: 1 }))).toBe('BAD_INPUT');
    expect(code(() => kmeans(fromRows([[1], [2]]), { k: 2, init: fromRows([[1, 2], [3, 4]]) }))).toBe('BAD_INPUT');
    expect(code(() => kmeans(fromRows([[1], [2]]), { k: 2, metric: 'cosine' as 'euclidean' }))).toBe('BAD_INPUT');
    expect(code(() => kmeans(fromRows([[1], [2]]), { k: 2, localTrials: 0 }))).toBe('BAD_INPUT');
    expect(code(() => kmeans(fromRows([[1], [2]]), { k: 2, nInit: 0 }))).toBe('BAD_INPUT');
  });

  it('fewer distinct points than k stays a clear error with the greedy default seeding', () => {
    const X = fromRows([[0, 0], [0, 0], [5, 5], [5, 5], [5, 5]]);
    expect(() => kmeans(X, { k: 3 })).toThrow(/only 2 distinct points, fewer than k = 3/);
    expect(kmeans(X, { k: 2 }).inertia).toBe(0);
  });
});
