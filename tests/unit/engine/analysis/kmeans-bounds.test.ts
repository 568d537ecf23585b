import { describe, expect, it } from 'vitest';
import { analysisBlas, blasTuning } from '../../../../src/main/engine/analysis/blas';
import { clusterSums } from '../../../../src/main/engine/analysis/kmeans-bounds';
import { kmeans } from '../../../../src/main/engine/analysis/kmeans';
import { type Matrix, createMatrix } from '../../../../src/main/engine/analysis/matrix';
import { Rng } from '../../../../src/main/engine/analysis/rng';

/** Textbook Lloyd in float64: every distance every iteration, lowest index on ties, empty clusters take the farthest point. */
function plainLloyd(X: Matrix, C0: Float64Array, k: number, maxIter: number, tol: number) {
  const { rows: n, cols: d, data: x } = X;
  let C = Float64Array.from(C0);
  const labels = new Int32Array(n);
  const dist = new Float64Array(n);
  const sq = (i: number, c: number) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (x[i * d + j]! - C[c * d + j]!) ** 2;
    return s;
  };
  const assign = () => {
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      for (let c = 0; c < k; c++) {
        const v = sq(i, c);
        if (v < best) {
          best = v;
          labels[i] = c;
        }
      }
      dist[i] = best;
    }
  };
  let iterations = 0;
  let shift = Infinity;
  const shifts: number[] = [];
  for (let it = 1; it <= maxIter; it++) {
    iterations = it;
    assign();
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) counts[labels[i]!]!++;
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) continue;
      let far = -1;
      for (let i = 0; i < n; i++) if (counts[labels[i]!]! > 1 && (far < 0 || dist[i]! > dist[far]!)) far = i;
      counts[labels[far]!]!--;
      labels[far] = c;
      dist[far] = 0;
      counts[c] = 1;
    }
    const next = new Float64Array(k * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) next[labels[i]! * d + j] += x[i * d + j]!;
    shift = 0;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        next[c * d + j] /= counts[c]!;
        s += (next[c * d + j]! - C[c * d + j]!) ** 2;
      }
      shift = Math.max(shift, Math.sqrt(s));
    }
    C = next;
    shifts.push(shift);
    if (shift <= tol) break;
  }
  if (shift > 0) assign();
  return { labels, C, iterations, shifts };
}

/** k overlapping Gaussian clusters (centres about 2 sigma apart, clusters spread over 6): Lloyd needs many iterations. */
function overlapping(n: number, d: number, k: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => 0.3 * rng.normal()));
  const X = createMatrix(n, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X.data[i * d + j] = centres[i % k]![j]! + rng.normal();
  return X;
}

const withProducts = <T>(on: boolean, fn: () => T): T => {
  const saved = { ...blasTuning };
  blasTuning.minWork = on ? 0 : Infinity;
  try {
    return fn();
  } finally {
    Object.assign(blasTuning, saved);
  }
};

describe("k-means with Hamerly's bounds gives plain Lloyd's answer", () => {
  const X = overlapping(1200, 37, 8, 4);
  const k = 8;
  const init = createMatrix(k, 37, X.data.slice(0, k * 37)); // rows 0..7: one per true cluster, far from the means
  const cases = [
    { name: 'until the labels stop changing', tol: 0, maxIter: 300 },
    { name: 'stopped by tol', tol: 0.05, maxIter: 300 },
    { name: 'stopped by maxIter', tol: 0, maxIter: 5 },
  ];
  const paths: [string, boolean][] = [['float64 loops', false], ...(analysisBlas() ? [['SIMD products', true] as [string, boolean]] : [])];
  for (const [path, on] of paths) {
    for (const c of cases) {
      it(`${c.name}, distances by ${path}: same labels, iterations, shifts and centroids`, () => {
        const want = plainLloyd(X, Float64Array.from(init.data), k, c.maxIter, c.tol);
        const shifts: number[] = [];
        const got = withProducts(on, () => kmeans(X, { k, init, tol: c.tol, maxIter: c.maxIter, onIteration: (it) => shifts.push(it.shift) }));
        expect(want.iterations).toBeGreaterThan(c.maxIter === 5 ? 4 : 10); // enough iterations for the bounds to matter
        expect(got.iterations).toBe(want.iterations);
        expect(Array.from(got.labels)).toEqual(Array.from(want.labels));
        for (let t = 0; t < shifts.length; t++) expect(shifts[t]).toBeCloseTo(want.shifts[t]!, on ? 5 : 10);
        for (let j = 0; j < want.C.length; j++) expect(got.centroids.data[j]).toBeCloseTo(want.C[j]!, 5);
        expect(got.converged).toBe(c.maxIter !== 5);
        if (on) expect(analysisBlas()!.used()).toBe(0);
      });
    }
  }

  it('clusterSums adds each cluster\'s rows in float64, whatever the order of the points', () => {
    const Y = createMatrix(9, 3, Float32Array.from({ length: 27 }, (_, i) => (i * 37) % 11 - 5.5));
    const labels = Int32Array.from([2, 0, 2, 1, 2, 0, 2, 2, 0]);
    const out = new Float64Array(9);
    const counts = new Int32Array(3);
    clusterSums(Y, labels, 3, out, counts);
    expect(Array.from(counts)).toEqual([3, 1, 5]);
    const want = new Float64Array(9);
    for (let i = 0; i < 9; i++) for (let j = 0; j < 3; j++) want[labels[i]! * 3 + j] += Y.data[i * 3 + j]!;
    expect(Array.from(out)).toEqual(Array.from(want));
  });
});
