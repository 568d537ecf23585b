import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../../src/shared/errors';
import { pdist } from '../../../../src/main/engine/analysis/distances';
import {
  cutAtHeight,
  cutToK,
  dendrogramCoords,
  leafOrder,
  linkage,
  linkageFromCondensed,
  linkageRows,
  type LinkageMethod,
} from '../../../../src/main/engine/analysis/hierarchical';
import { createMatrix, fromRows } from '../../../../src/main/engine/analysis/matrix';
import type { Metric } from '../../../../src/main/engine/analysis/distances';

const here = dirname(fileURLToPath(import.meta.url));

function expectLinkage(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  for (let r = 0; r < expected.length; r++) {
    const [a, b, h, s] = expected[r];
    expect([actual[r][0], actual[r][1], actual[r][3]], `merge ${r}`).toEqual([a, b, s]);
    expect(actual[r][2], `height of merge ${r}`).toBeCloseTo(h, 10);
  }
}

describe('linkage: hand-derived examples', () => {
  // 1-D points 0, 1, 3, 7, 15 (ids 0..4). In 1-D euclidean = manhattan = |x - y|.
  // Gaps between neighbours: 1, 2, 4, 8.
  const line = fromRows([[0], [1], [3], [7], [15]]);

  it('single, 1-D: merges follow the gaps 1, 2, 4, 8', () => {
    // {0,1}@1 -> 5; then 2 joins 5 at gap 2 -> 6 (smaller id first: [2, 5]); 3 joins at 4 -> 7; 4 at 8.
    const expected = [
      [0, 1, 1, 2],
      [2, 5, 2, 3],
      [3, 6, 4, 4],
      [4, 7, 8, 5],
    ];
    for (const metric of ['euclidean', 'manhattan'] as const) {
      expectLinkage(linkageRows(linkage(line, { method: 'single', metric })), expected);
    }
  });

  it('complete, 1-D: farthest members', () => {
    // {0,1}@1 -> 5. d(5,2) = max(3,2) = 3 is the smallest of d(5,2)=3, d(5,3)=7, d(2,3)=4, d(3,4)=8, ...
    // -> [2,5,3,3] = 6 = {0,1,2}. d(6,3) = max(7,6,4) = 7 < d(3,4) = 8 -> [3,6,7,4] = 7. Last: d = 15.
    expectLinkage(linkageRows(linkage(line, { method: 'complete' })), [
      [0, 1, 1, 2],
      [2, 5, 3, 3],
      [3, 6, 7, 4],
      [4, 7, 15, 5],
    ]);
  });

  it('average, 1-D: mean of all cross distances', () => {
    // {0,1}@1 -> 5. d(5,2) = (3+2)/2 = 2.5 < d(2,3) = 4 -> [2,5,2.5,3] = 6.
    // d(6,3) = (7+6+4)/3 = 17/3 < d(3,4) = 8 -> [3,6,17/3,4] = 7. d(7,4) = (15+14+12+8)/4 = 12.25.
    expectLinkage(linkageRows(linkage(line, { method: 'average' })), [
      [0, 1, 1, 2],
      [2, 5, 2.5, 3],
      [3, 6, 17 / 3, 4],
      [4, 7, 12.25, 5],
    ]);
  });

  // 2-D, manhattan. P0=(0,3) P1=(12,1) P2=(10,12) P3=(6,6) P4=(2,3). All 10 distances differ:
  // d01=14 d02=19 d03=9 d04=2 d12=13 d13=11 d14=12 d23=10 d24=17 d34=7.
  // The three linkages give three different trees.
  const pm = fromRows([[0, 3], [12, 1], [10, 12], [6, 6], [2, 3]]);
  it('manhattan 5 points: single', () => {
    // {0,4}@2 = 5; 3 joins via d34=7 -> [3,5,7,3] = 6; 2 joins via d23=10 -> [2,6,10,4] = 7;
    // 1 joins via d13=11 -> [1,7,11,5].
    expectLinkage(linkageRows(linkage(pm, { method: 'single', metric: 'manhattan' })), [
      [0, 4, 2, 2],
      [3, 5, 7, 3],
      [2, 6, 10, 4],
      [1, 7, 11, 5],
    ]);
  });
  it('manhattan 5 points: complete', () => {
    // {0,4}@2 = 5. d(5,3) = max(9,7) = 9 is the smallest (d23=10, d13=11, d12=13, d(5,1)=14) -> 6={0,3,4}.
    // d(6,1) = max(14,12,11) = 14, d(6,2) = max(19,17,10) = 19, d12 = 13 -> [1,2,13,2] = 7.
    // Last: max over all cross pairs = d02 = 19.
    expectLinkage(linkageRows(linkage(pm, { method: 'complete', metric: 'manhattan' })), [
      [0, 4, 2, 2],
      [3, 5, 9, 3],
      [1, 2, 13, 2],
      [6, 7, 19, 5],
    ]);
  });
  it('manhattan 5 points: average', () => {
    // {0,4}@2 = 5. d(5,3) = (9+7)/2 = 8 (vs d23=10, d13=11, d(5,1)=13, d12=13) -> 6={0,3,4}.
    // d(6,1) = (14+12+11)/3 = 37/3 < d12 = 13 < d(6,2) = (19+17+10)/3 -> [1,6,37/3,4] = 7.
    // d(7,2) = (19+17+10+13)/4 = 59/4.
    expectLinkage(linkageRows(linkage(pm, { method: 'average', metric: 'manhattan' })), [
      [0, 4, 2, 2],
      [3, 5, 8, 3],
      [1, 6, 37 / 3, 4],
      [2, 7, 59 / 4, 5],
    ]);
  });

  // 2-D, euclidean. P0=(10,7) P1=(6,9) P2=(1,7) P3=(5,4) P4=(3,6). Squared distances:
  // d01²=20 d02²=81 d03²=34 d04²=50 d12²=29 d13²=26 d14²=18 d23²=25 d24²=5 d34²=8.
  const pe = fromRows([[10, 7], [6, 9], [1, 7], [5, 4], [3, 6]]);
  const s = Math.sqrt;
  it('euclidean 5 points: single', () => {
    // {2,4}@√5 = 5; 3 via d34=√8 -> 6; 1 via d14=√18 -> 7; 0 via d01=√20.
    expectLinkage(linkageRows(linkage(pe, { method: 'single' })), [
      [2, 4, s(5), 2],
      [3, 5, s(8), 3],
      [1, 6, s(18), 4],
      [0, 7, s(20), 5],
    ]);
  });
  it('euclidean 5 points: complete', () => {
    // {2,4}@√5 = 5. Then d01 = √20 ≈ 4.47 beats d(5,3) = max(5, √8) = 5 and d13 = √26 -> [0,1,√20,2] = 6.
    // d(3,5) = 5 < d(3,6) = max(√34, √26) -> [3,5,5,3] = 7. Last: max = d02 = 9.
    expectLinkage(linkageRows(linkage(pe, { method: 'complete' })), [
      [2, 4, s(5), 2],
      [0, 1, s(20), 2],
      [3, 5, 5, 3],
      [6, 7, 9, 5],
    ]);
  });
  it('euclidean 5 points: average', () => {
    // {2,4}@√5 = 5. d(5,3) = (5+√8)/2 ≈ 3.914 is now the smallest (d01 = √20 ≈ 4.472) -> 6 = {2,3,4}.
    // d01 = √20 ≈ 4.472 < d(6,1) = (√29+√18+√26)/3 ≈ 4.909 -> [0,1,√20,2] = 7.
    // Last: mean of the 6 cross distances (9+√50+√34+√29+√18+√26)/6.
    expectLinkage(linkageRows(linkage(pe, { method: 'average' })), [
      [2, 4, s(5), 2],
      [3, 5, (5 + s(8)) / 2, 3],
      [0, 1, s(20), 2],
      [6, 7, (9 + s(50) + s(34) + s(29) + s(18) + s(26)) / 6, 5],
    ]);
  });

  it('single linkage gives the same tree with distances computed on the fly (low memory)', () => {
    for (const metric of ['euclidean', 'manhattan', 'cosine'] as const) {
      expect(linkageRows(linkage(pe, { method: 'single', metric, lowMemory: true }))).toEqual(
        linkageRows(linkage(pe, { method: 'single', metric })),
      );
    }
  });

  it('linkageFromCondensed equals linkage on the data', () => {
    for (const method of ['single', 'complete', 'average'] as const) {
      const D = pdist(pm, 'manhattan');
      expect(linkageRows(linkageFromCondensed(D, method, 'manhattan'))).toEqual(
        linkageRows(linkage(pm, { method, metric: 'manhattan' })),
      );
    }
  });
});

describe('linkage: scipy reference (fixtures/scipy-linkage.json)', () => {
  const fx = JSON.parse(readFileSync(join(here, 'fixtures/scipy-linkage.json'), 'utf8')) as {
    cases: {
      n: number;
      metric: Metric;
      method: LinkageMethod;
      X: number[][];
      Z: number[][];
      leaves: number[];
      maxclust: Record<string, number[]>;
      distance: Record<string, number[]>;
    }[];
  };
  for (const c of fx.cases) {
    it(`${c.method} / ${c.metric}, n=${c.n}: merges, heights, leaf order and flat cuts match scipy`, () => {
      const t = linkage(fromRows(c.X), { method: c.method, metric: c.metric });
      const Z = linkageRows(t);
      for (let r = 0; r < c.Z.length; r++) {
        expect([Z[r][0], Z[r][1], Z[r][3]], `row ${r}`).toEqual([c.Z[r][0], c.Z[r][1], c.Z[r][3]]);
        expect(Math.abs(Z[r][2] - c.Z[r][2])).toBeLessThan(1e-9 * (1 + c.Z[r][2]));
      }
      expect(Array.from(leafOrder(t))).toEqual(c.leaves);
      for (const [k, labels] of Object.entries(c.maxclust)) expect(Array.from(cutToK(t, Number(k))), `maxclust ${k}`).toEqual(labels);
      for (const [h, labels] of Object.entries(c.distance)) expect(Array.from(cutAtHeight(t, Number(h))), `distance ${h}`).toEqual(labels);
    });
  }
});

describe('tree helpers', () => {
  const pe = fromRows([[10, 7], [6, 9], [1, 7], [5, 4], [3, 6]]);
  it('cuts the euclidean/complete example into 2 and 3 clusters', () => {
    const t = linkage(pe, { method: 'complete' });
    // tree: 6 = {0,1}, 7 = {3,{2,4}}, root = [6, 7]
    const two = Array.from(cutToK(t, 2));
    expect(two[0]).toBe(two[1]);
    expect(two[2]).toBe(two[3]);
    expect(two[3]).toBe(two[4]);
    expect(two[0]).not.toBe(two[2]);
    expect(new Set(Array.from(cutToK(t, 3))).size).toBe(3);
    expect(new Set(Array.from(cutToK(t, 5))).size).toBe(5);
    expect(Array.from(cutToK(t, 1))).toEqual([0, 0, 0, 0, 0]);
    // cutting at 4.9 keeps {2,4} (√5) and {0,1} (√20 ≈ 4.47) but not 7 (5)
    const h = Array.from(cutAtHeight(t, 4.9));
    expect(new Set(h).size).toBe(3);
    expect(h[2]).toBe(h[4]);
    expect(h[0]).toBe(h[1]);
  });

  it('leaf order and dendrogram coordinates', () => {
    const t = linkage(pe, { method: 'complete' });
    // root [6,7]: left 6 = [0,1] -> leaves 0,1; right 7 = [3,5] -> 3, then 5 = [2,4] -> 2,4
    expect(Array.from(leafOrder(t))).toEqual([0, 1, 3, 2, 4]);
    const dc = dendrogramCoords(t);
    // merge 0 = [2,4] at √5: leaf 2 at x=3, leaf 4 at x=4 -> node at 3.5
    expect(Array.from(dc.x.subarray(0, 4))).toEqual([3, 3, 4, 4]);
    expect(dc.y[1]).toBeCloseTo(Math.sqrt(5), 12);
    expect(dc.y[0]).toBe(0);
    expect(dc.nodeX[0]).toBe(3.5);
    // merge 2 = [3, 5]: x 2 and 3.5, child heights 0 and √5
    expect(Array.from(dc.x.subarray(8, 12))).toEqual([2, 2, 3.5, 3.5]);
    expect(dc.y[8]).toBe(0);
    expect(dc.y[11]).toBeCloseTo(Math.sqrt(5), 12);
    expect(dc.maxHeight).toBe(9);
  });
});

describe('degenerate inputs', () => {
  it('identical points merge at height 0 into a valid tree', () => {
    const X = fromRows([[1, 2], [1, 2], [1, 2], [1, 2]]);
    for (const method of ['single', 'complete', 'average', 'ward'] as const) {
      const Z = linkageRows(linkage(X, { method }));
      expect(Z.map((r) => r[2])).toEqual([0, 0, 0]);
      expect(Z[2][3]).toBe(4);
      // every id used once, children before parents
      const used = Z.flatMap((r) => [r[0], r[1]]).sort((a, b) => a - b);
      expect(used).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it('rejects one point, no points, NaN and Infinity with BAD_INPUT', () => {
    const bad = [createMatrix(1, 3), createMatrix(0, 3), fromRows([[0, 1], [NaN, 2]]), fromRows([[0, 1], [Infinity, 2]])];
    for (const X of bad) {
      let err: unknown;
      try {
        linkage(X, { method: 'average' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StudioError);
      expect((err as StudioError).code).toBe('BAD_INPUT');
    }
    expect(() => linkage(fromRows([[0, 1], [NaN, 2]]))).toThrow(/NaN at row 1, column 0/);
  });

  it('rejects ward with manhattan and unknown methods', () => {
    const X = fromRows([[0], [1], [2]]);
    expect(() => linkage(X, { method: 'ward', metric: 'manhattan' })).toThrow(/euclidean/);
    expect(() => linkage(X, { method: 'median' as LinkageMethod })).toThrow(/Unknown linkage/);
    expect(() => linkage(X, { metric: 'chebyshev' as Metric })).toThrow(/Unknown distance metric/);
  });

  it('two points: one merge', () => {
    expect(linkageRows(linkage(fromRows([[0, 0], [3, 4]])))).toEqual([[0, 1, 5, 2]]);
  });
});
