import { describe, expect, it } from 'vitest';
import {
  condensedIndex,
  cosine,
  distance,
  euclidean,
  manhattan,
  pdist,
  squareform,
} from '../../../../src/main/engine/analysis/distances';
import { createMatrix, fromRows, getRow } from '../../../../src/main/engine/analysis/matrix';
import { Rng } from '../../../../src/main/engine/analysis/rng';
import { analysisBlas, blasTuning } from '../../../../src/main/engine/analysis/blas';

describe('point distances', () => {
  it('euclidean, manhattan and cosine on known vectors', () => {
    expect(euclidean([0, 0], [3, 4])).toBe(5);
    expect(manhattan([0, 0], [3, -4])).toBe(7);
    expect(manhattan([1, 2, 3], [1, 2, 3])).toBe(0);
    // cos(45°) between (1,0) and (1,1)
    expect(cosine([1, 0], [1, 1])).toBeCloseTo(1 - Math.SQRT1_2, 15);
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(0, 15);
    expect(cosine([1, 0], [-1, 0])).toBe(2);
    expect(cosine([1, 0], [0, 3])).toBe(1);
  });

  it('cosine with zero vectors: 0 between two zeros, 1 otherwise (never NaN)', () => {
    expect(cosine([0, 0], [0, 0])).toBe(0);
    expect(cosine([0, 0], [1, 2])).toBe(1);
  });
});

describe('pdist (condensed, tiled)', () => {
  it('uses scipy\'s condensed layout', () => {
    // n = 4: (0,1)(0,2)(0,3)(1,2)(1,3)(2,3)
    expect([condensedIndex(4, 0, 1), condensedIndex(4, 0, 3), condensedIndex(4, 1, 2), condensedIndex(4, 2, 3)]).toEqual([0, 2, 3, 5]);
    expect(condensedIndex(4, 3, 2)).toBe(5);
    const X = fromRows([[0, 0], [3, 4], [6, 8], [0, 1]]);
    expect(Array.from(pdist(X).data)).toEqual([5, 10, 1, 5, euclidean([3, 4], [0, 1]), euclidean([6, 8], [0, 1])]);
  });

  it('matches the naive double loop across tile edges for every metric and both precisions', () => {
    // 131 rows: crosses the 64-row i-blocks, the j-blocks (d = 300 -> 163 rows) and the 2x4 tails
    const rng = new Rng(3);
    const n = 131;
    const d = 300;
    const X = createMatrix(n, d);
    for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
    X.data.fill(0, 5 * d, 6 * d); // a zero row for cosine
    for (const metric of ['euclidean', 'manhattan', 'cosine'] as const) {
      const D = pdist(X, metric);
      expect(D.data).toBeInstanceOf(Float64Array);
      const D32 = pdist(X, metric, { precision: 'float32' });
      expect(D32.data).toBeInstanceOf(Float32Array);
      let p = 0;
      let maxErr = 0;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const want = distance(metric, getRow(X, i), getRow(X, j));
          maxErr = Math.max(maxErr, Math.abs(D.data[p] - want));
          expect(Math.abs(D32.data[p] - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, want));
          p++;
        }
      }
      expect(p).toBe(D.data.length);
      expect(maxErr).toBeLessThan(1e-12);
    }
  });

  it.skipIf(!analysisBlas())('the float64 SIMD kernels (pdist-simd.ts, two threads) match the naive loop: odd d, 4-row tails, row chunks; heap freed (skipped: no WebAssembly SIMD here)', () => {
    const rng = new Rng(9);
    const saved = blasTuning.minWork;
    blasTuning.minWork = 0;
    try {
      // [131 x 301]: odd d (zero-padded to even), tails of the 4-row tiles and the 16/64-row blocks;
      // [2101 x 3]: 2.2M pairs cross the 2M-pair chunks that pass through the heap
      for (const [n, d] of [[131, 301], [2101, 3]] as const) {
        const X = createMatrix(n, d);
        for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal() * 3;
        for (const metric of ['euclidean', 'manhattan'] as const) {
          const D = pdist(X, metric);
          const step = n > 1000 ? 997 : 1; // every pair on the small case, a spread sample on the large
          let maxRel = 0;
          for (let p = 0, i = 0; i < n; i++) {
            for (let j = i + 1; j < n; j++, p++) {
              if (p % step) continue;
              const want = distance(metric, getRow(X, i), getRow(X, j));
              maxRel = Math.max(maxRel, Math.abs(D.data[p] - want) / want);
            }
          }
          expect(maxRel, `${metric} ${n} x ${d}`).toBeLessThan(1e-14);
          const last = D.data.length - 1;
          expect(D.data[last]).toBeCloseTo(distance(metric, getRow(X, n - 2), getRow(X, n - 1)), 12);
        }
      }
    } finally {
      blasTuning.minWork = saved;
    }
    expect(analysisBlas()!.used()).toBe(0);
  });

  it('squareform expands symmetric with a zero diagonal', () => {
    const X = fromRows([[0], [2], [5]]);
    expect(Array.from(squareform(pdist(X, 'manhattan')))).toEqual([0, 2, 5, 2, 0, 3, 5, 3, 0]);
  });

  it('reports progress per row block', () => {
    const X = createMatrix(130, 2);
    const seen: number[] = [];
    pdist(X, 'euclidean', { onProgress: (done) => seen.push(done) });
    expect(seen).toEqual([64, 128, 130]);
  });
});

describe('Rng', () => {
  it('is deterministic per seed and uniform-ish', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    const r = new Rng(0);
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < 20000; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / 20000)).toBeLessThan(0.05);
    expect(Math.abs(s2 / 20000 - 1)).toBeLessThan(0.05);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(7);
      expect(k >= 0 && k < 7 && Number.isInteger(k)).toBe(true);
    }
  });
});
