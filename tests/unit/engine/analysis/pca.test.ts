import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../../src/shared/errors';
import { symmetricEigen } from '../../../../src/main/engine/analysis/eigen';
import { createMatrix, fromRows, type Matrix } from '../../../../src/main/engine/analysis/matrix';
import { pca, pcaProject, pcaReconstruct, pcaReconstructionError, type PcaModel } from '../../../../src/main/engine/analysis/pca';
import { Rng } from '../../../../src/main/engine/analysis/rng';
import { analysisBlas, blasTuning } from '../../../../src/main/engine/analysis/blas';

function row(m: Matrix, i: number): number[] {
  return Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
}
const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i], 0);

function expectOrthonormal(model: PcaModel, tol = 1e-6): void {
  const k = model.components.rows;
  for (let p = 0; p < k; p++) {
    for (let q = 0; q < k; q++) {
      expect(Math.abs(dot(row(model.components, p), row(model.components, q)) - (p === q ? 1 : 0))).toBeLessThan(tol);
    }
  }
}

describe('PCA on data with a known covariance', () => {
  // Orthonormal basis u1=(1,2,2)/3, u2=(2,1,-2)/3, u3=(2,-2,1)/3 and the 6 points
  // mean ± 3 u1, mean ± 1 u2, mean ± 2 u3, mean = (10,-5,3). The centred points lie on the axes
  // u1..u3, so the covariance (n-1 = 5) has eigenvectors u1, u3, u2 with eigenvalues
  // 2*9/5 = 3.6, 2*4/5 = 1.6, 2*1/5 = 0.4; total variance 5.6.
  const u1 = [1 / 3, 2 / 3, 2 / 3];
  const u2 = [2 / 3, 1 / 3, -2 / 3];
  const u3 = [2 / 3, -2 / 3, 1 / 3];
  const mean = [10, -5, 3];
  const pts: number[][] = [];
  for (const [u, a] of [[u1, 3], [u2, 1], [u3, 2]] as const) {
    for (const sgn of [1, -1]) pts.push(mean.map((m, j) => m + sgn * a * u[j]));
  }
  const X = fromRows(pts);

  for (const method of ['covariance', 'gram', 'randomized'] as const) {
    it(`${method}: eigenvalues, directions, ratios, mean`, () => {
      const model = pca(X, { nComponents: 3, method, seed: 1 });
      expect(model.method).toBe(method);
      const ev = Array.from(model.explainedVariance);
      expect(ev[0]).toBeCloseTo(3.6, 5);
      expect(ev[1]).toBeCloseTo(1.6, 5);
      expect(ev[2]).toBeCloseTo(0.4, 5);
      expect(model.totalVariance).toBeCloseTo(5.6, 5);
      const ratio = Array.from(model.explainedVarianceRatio);
      expect(ratio[0]).toBeCloseTo(3.6 / 5.6, 5);
      expect(ratio[1]).toBeCloseTo(1.6 / 5.6, 5);
      expect(ratio[2]).toBeCloseTo(0.4 / 5.6, 5);
      // directions up to sign
      expect(Math.abs(dot(row(model.components, 0), u1))).toBeCloseTo(1, 5);
      expect(Math.abs(dot(row(model.components, 1), u3))).toBeCloseTo(1, 5);
      expect(Math.abs(dot(row(model.components, 2), u2))).toBeCloseTo(1, 5);
      for (let j = 0; j < 3; j++) expect(model.mean[j]).toBeCloseTo(mean[j], 5);
      expectOrthonormal(model);
      // all components: exact reconstruction
      expect(pcaReconstructionError(model, X)).toBeLessThan(1e-10);
      // projecting the +3 u1 point on the first component gives ±3, 0, 0
      const Y = pcaProject(model, fromRows([pts[0]]));
      expect(Math.abs(Y.data[0])).toBeCloseTo(3, 5);
      expect(Y.data[1]).toBeCloseTo(0, 5);
      expect(Y.data[2]).toBeCloseTo(0, 5);
    });
  }

  it('reconstruction error with k components is the variance left out, times (n-1)/(n d)', () => {
    const model = pca(X, { nComponents: 3 });
    // dropping u2 (eigenvalue 0.4): the squared residuals sum to 0.4 * 5 = 2 over 6 x 3 values
    expect(pcaReconstructionError(model, X, 2)).toBeCloseTo(2 / 18, 6);
    expect(pcaReconstructionError(model, X, 1)).toBeCloseTo((2 + 8) / 18, 6);
    const back = pcaReconstruct(model, pcaProject(model, X));
    for (let i = 0; i < X.data.length; i++) expect(back.data[i]).toBeCloseTo(X.data[i], 4);
  });

  it('signs are fixed: the largest-magnitude entry of each component is positive', () => {
    const rng = new Rng(4);
    const Z = createMatrix(50, 6);
    for (let i = 0; i < Z.data.length; i++) Z.data[i] = rng.normal() * (1 + (i % 6));
    const m = pca(Z, { nComponents: 4 });
    for (let c = 0; c < 4; c++) {
      const r = row(m.components, c);
      const big = r.reduce((b, v) => (Math.abs(v) > Math.abs(b) ? v : b), 0);
      expect(big).toBeGreaterThan(0);
    }
  });
});

describe('PCA methods agree', () => {
  // 400 x 40 with a decaying spectrum: feature j scaled by 0.8^j, then mixed by a rotation
  const rng = new Rng(12);
  const n = 400;
  const d = 40;
  const X = createMatrix(n, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X.data[i * d + j] = rng.normal() * 0.8 ** j + (j === 3 ? 5 : 0);

  it('covariance, gram and randomized give the same leading components', () => {
    const cov = pca(X, { nComponents: 5, method: 'covariance' });
    const gram = pca(X, { nComponents: 5, method: 'gram' });
    const rnd = pca(X, { nComponents: 5, method: 'randomized', seed: 3, powerIterations: 6 });
    for (const other of [gram, rnd]) {
      expectOrthonormal(other);
      for (let c = 0; c < 5; c++) {
        expect(other.explainedVariance[c]).toBeCloseTo(cov.explainedVariance[c], 4);
        // same sign convention -> same vectors
        const a = row(cov.components, c);
        const b = row(other.components, c);
        expect(Math.max(...a.map((v, j) => Math.abs(v - b[j])))).toBeLessThan(1e-3);
      }
    }
    expectOrthonormal(cov);
    // ratios are ratios of the total variance, which does not depend on k
    expect(cov.explainedVarianceRatio[0]).toBeCloseTo(cov.explainedVariance[0] / cov.totalVariance, 12);
  });

  it.skipIf(!analysisBlas())('randomized on the SIMD products (pca-gemm.ts) gives the float64 loops\' components, on off-centre data with d not a multiple of 8, and frees its heap (skipped: no WebAssembly SIMD here)', () => {
    const rng2 = new Rng(11);
    const n2 = 5003;
    const d2 = 45;
    const Y = createMatrix(n2, d2);
    // large offsets (as pixels' means) test the centring; decaying variances, well separated
    for (let i = 0; i < n2; i++) for (let j = 0; j < d2; j++) Y.data[i * d2 + j] = 20 + j + rng2.normal() * 0.75 ** j;
    const saved = blasTuning.minWork;
    try {
      blasTuning.minWork = Infinity;
      const loops = pca(Y, { nComponents: 6, method: 'randomized', seed: 2 });
      blasTuning.minWork = 0;
      const prods = pca(Y, { nComponents: 6, method: 'randomized', seed: 2 });
      const exact = pca(Y, { nComponents: 6, method: 'covariance' });
      expectOrthonormal(prods);
      for (let c = 0; c < 6; c++) {
        expect(Math.abs(prods.explainedVariance[c] - loops.explainedVariance[c]) / loops.explainedVariance[c]).toBeLessThan(1e-5);
        expect(Math.abs(prods.explainedVariance[c] - exact.explainedVariance[c]) / exact.explainedVariance[c]).toBeLessThan(1e-5);
        const a = row(exact.components, c);
        const b = row(prods.components, c);
        expect(Math.max(...a.map((v, j) => Math.abs(v - b[j])))).toBeLessThan(1e-3);
      }
    } finally {
      blasTuning.minWork = saved;
    }
    expect(analysisBlas()!.used()).toBe(0);
  });

  it('auto picks randomized for large inputs (exact stays selectable)', () => {
    const big = createMatrix(10_000, 784);
    for (let i = 0; i < big.data.length; i += 7) big.data[i] = (i % 13) / 13;
    expect(pca(big, { nComponents: 10 }).method).toBe('randomized');
    expect(pca(X, { nComponents: 3 }).method).toBe('covariance');
  });

  it('randomized is deterministic for a seed', () => {
    const a = pca(X, { nComponents: 3, method: 'randomized', seed: 5 });
    const b = pca(X, { nComponents: 3, method: 'randomized', seed: 5 });
    expect(Array.from(a.components.data)).toEqual(Array.from(b.components.data));
    expect(Array.from(a.explainedVariance)).toEqual(Array.from(b.explainedVariance));
  });

  it('more dimensions than points (Gram route): n-1 components reconstruct exactly', () => {
    const Y = createMatrix(6, 50);
    for (let i = 0; i < Y.data.length; i++) Y.data[i] = rng.normal();
    const m = pca(Y, { nComponents: 5 });
    expect(m.method).toBe('gram');
    expectOrthonormal(m);
    expect(pcaReconstructionError(m, Y)).toBeLessThan(1e-10);
    expect(() => pca(Y, { nComponents: 6 })).toThrow(/between 1 and 5 components/);
  });

  it('rank-deficient data: zero-variance directions are still orthonormal', () => {
    // points on a line in 3-D
    const L = fromRows([[0, 0, 0], [1, 2, 3], [2, 4, 6], [3, 6, 9]]);
    for (const method of ['covariance', 'gram', 'randomized'] as const) {
      const m = pca(L, { nComponents: 3, method });
      expect(m.explainedVarianceRatio[0]).toBeCloseTo(1, 10);
      expect(m.explainedVariance[1]).toBeCloseTo(0, 10);
      expectOrthonormal(m);
    }
  });
});

describe('PCA degenerate inputs', () => {
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      return e instanceof StudioError ? e.code : 'OTHER';
    }
    return undefined;
  };
  it('one point, identical points, NaN, bad k', () => {
    expect(code(() => pca(fromRows([[1, 2, 3]])))).toBe('BAD_INPUT');
    expect(code(() => pca(fromRows([[1, 2], [1, 2], [1, 2]])))).toBe('BAD_INPUT');
    expect(() => pca(fromRows([[1, 2], [1, 2], [1, 2]]))).toThrow(/identical/);
    expect(code(() => pca(fromRows([[1, 2], [NaN, 2], [0, 0]])))).toBe('BAD_INPUT');
    expect(code(() => pca(fromRows([[1, 2], [3, 2], [0, 0]]), { nComponents: 3 }))).toBe('BAD_INPUT');
    expect(code(() => pca(fromRows([[1, 2], [3, 2], [0, 0]]), { nComponents: 0 }))).toBe('BAD_INPUT');
    const m = pca(fromRows([[1, 2], [3, 2], [0, 0]]));
    expect(code(() => pcaProject(m, fromRows([[1, 2, 3]])))).toBe('BAD_INPUT');
  });
});

describe('symmetric eigen solver', () => {
  it('decomposes random symmetric matrices (A v = lambda v, orthonormal, sorted)', () => {
    const rng = new Rng(2);
    for (const n of [1, 2, 3, 10, 40]) {
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = rng.normal();
      const { values, vectors } = symmetricEigen(A, n);
      for (let r = 0; r < n; r++) {
        if (r > 0) expect(values[r - 1]).toBeGreaterThanOrEqual(values[r]);
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += A[i * n + j] * vectors[r * n + j];
          expect(Math.abs(s - values[r] * vectors[r * n + i])).toBeLessThan(1e-10);
        }
        for (let q = 0; q < n; q++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += vectors[r * n + j] * vectors[q * n + j];
          expect(Math.abs(s - (r === q ? 1 : 0))).toBeLessThan(1e-10);
        }
      }
    }
  });
  it('known 2x2: [[2,1],[1,2]] has eigenvalues 3 and 1', () => {
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
    expect(values[0]).toBeCloseTo(3, 14);
    expect(values[1]).toBeCloseTo(1, 14);
    expect(Math.abs(vectors[0])).toBeCloseTo(Math.SQRT1_2, 14);
    expect(vectors[0] * vectors[1]).toBeGreaterThan(0);
  });
});
