/**
 * k-means on the fast products (blas.ts), both threads:
 *  - squared euclidean distances from every point to a set of centres as ||x||^2 + ||c||^2 - 2 x.c,
 *    the dot products X C^T by the SIMD product nnRT a chunk of rows at a time (the n x k dot
 *    products are never held at once: CHUNK x k floats on the heap);
 *  - the update's per-cluster sums as the product (one-hot labels) X, nnR per chunk of rows,
 *    chunks added up in float64.
 *
 * The norm trick cancels for a point close to a centre (float32 products: absolute error ~1e-7 of
 * ||x||^2 + ||c||^2); such distances (below CANCEL of that sum) are recomputed exactly in float64,
 * so duplicates of a centre are at distance exactly 0 (what k-means++'s "fewer distinct points
 * than k" check needs) and the inertia of tight clusters is not noise.
 */
import { type Blas, type HeapBlock, analysisBlas, blasTuning, copyRows, roundUp } from './blas';
import type { Matrix } from './matrix';

/** Rows per product call (a multiple of 4: the products take rows in blocks of 4). */
const CHUNK = 4096;
/** Relative size under which ||x||^2 + ||c||^2 - 2 x.c is recomputed exactly. */
const CANCEL = 1e-4;

export class CentreProducts {
  private constructor(
    private readonly blas: Blas,
    private readonly X: Matrix,
    private readonly xx: Float64Array,
    private readonly heapX: HeapBlock,
    /** Row stride of heapX: d rounded up to 8 (nnR's N), zero-padded. */
    private readonly dp: number,
    private readonly centres: HeapBlock,
    private readonly out: HeapBlock,
    private readonly scratch: HeapBlock,
    private readonly maxCentres: number,
  ) {}

  /**
   * Products for distances from the rows of X to up to `maxCentres` centres at a time, or null
   * when the products are unavailable or the work (n d maxCentres) is too small to gain.
   */
  static open(X: Matrix, xx: Float64Array, maxCentres: number): CentreProducts | null {
    if (X.rows * X.cols * maxCentres < blasTuning.minWork) return null;
    const blas = analysisBlas();
    if (!blas) return null;
    const { rows: n, cols: d } = X;
    const kp = roundUp(maxCentres, 8);
    const dp = roundUp(d, 8);
    const heapX = blas.alloc(roundUp(n, 4) * dp);
    copyRows(X, 0, n, heapX, dp, roundUp(n, 4));
    const rows = Math.min(CHUNK, roundUp(n, 4));
    // out: the chunk's dot products (rows x kp), or the one-hot chunk and its sums (kp x (rows + dp))
    const out = blas.alloc(Math.max(rows * kp, kp * (rows + dp)));
    return new CentreProducts(blas, X, xx, heapX, dp, blas.alloc(kp * dp), out, blas.alloc(16 * Math.max(dp, rows)), maxCentres);
  }

  close(): void {
    for (const b of [this.heapX, this.centres, this.out, this.scratch]) b.free();
  }

  /** Writes centres (m x d, float64) to the heap as float32; returns their squared norms (of the float32 values). */
  private load(C: Float64Array, m: number): { kp: number; cc: Float64Array } {
    if (m > this.maxCentres) throw new Error(`CentreProducts: ${m} centres, opened for ${this.maxCentres}`);
    const d = this.X.cols;
    const dp = this.dp;
    const kp = roundUp(m, 8);
    const v = this.centres.view();
    v.fill(0, 0, kp * dp);
    const cc = new Float64Array(m);
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const f = Math.fround(C[c * d + j]);
        v[c * dp + j] = f;
        s += f * f;
      }
      cc[c] = s;
    }
    return { kp, cc };
  }

  /** Calls fn(r0, rows, dots) with dots[i * kp + c] = x_{r0+i} . c for each chunk of rows. */
  private each(kp: number, fn: (r0: number, rows: number, dots: Float32Array) => void): void {
    const n = this.X.rows;
    const dp = this.dp;
    const g = this.blas.gemm;
    for (let r0 = 0; r0 < n; r0 += CHUNK) {
      const rows = Math.min(CHUNK, n - r0);
      g.nnRT(this.heapX.ptr + r0 * dp * 4, this.centres.ptr, this.out.ptr, roundUp(rows, 4) / 4, dp, kp, this.scratch.ptr);
      fn(r0, rows, this.out.view());
    }
  }

  private exact(i: number, C: Float64Array, c: number): number {
    const d = this.X.cols;
    const x = this.X.data;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const e = x[i * d + j] - C[c * d + j];
      s += e * e;
    }
    return s;
  }

  /** Squared distances of every point to centres 0..m-1 of C: out[t * n + i]. */
  sqDists(C: Float64Array, m: number, out: Float64Array): void {
    const { kp, cc } = this.load(C, m);
    const n = this.X.rows;
    const xx = this.xx;
    this.each(kp, (r0, rows, dots) => {
      for (let i = 0; i < rows; i++) {
        const p = r0 + i;
        for (let t = 0; t < m; t++) {
          let v = xx[p] + cc[t] - 2 * dots[i * kp + t];
          if (v < CANCEL * (xx[p] + cc[t])) v = this.exact(p, C, t);
          out[t * n + p] = v;
        }
      }
    });
  }

  /** Nearest of the k centres of C for every point: writes labels and squared distances, returns the inertia. */
  assign(C: Float64Array, k: number, labels: Int32Array, dist: Float64Array): number {
    const { kp, cc } = this.load(C, k);
    const xx = this.xx;
    let inertia = 0;
    this.each(kp, (r0, rows, dots) => {
      for (let i = 0; i < rows; i++) {
        const o = i * kp;
        let best = Infinity;
        let bc = 0;
        for (let c = 0; c < k; c++) {
          const v = cc[c] - 2 * dots[o + c];
          if (v < best) {
            best = v;
            bc = c;
          }
        }
        const p = r0 + i;
        let dv = best + xx[p];
        if (dv < CANCEL * (xx[p] + cc[bc])) dv = this.exact(p, C, bc);
        labels[p] = bc;
        dist[p] = dv;
        inertia += dv;
      }
    });
    return inertia;
  }

  /** Per-cluster sums of the rows (labels 0..k-1): out[c * d + j] = sum of x_j over the points of c (overwritten). */
  sums(labels: Int32Array, k: number, out: Float64Array): void {
    const { rows: n, cols: d } = this.X;
    const dp = this.dp;
    const k4 = roundUp(k, 4);
    const g = this.blas.gemm;
    out.fill(0, 0, k * d);
    for (let r0 = 0; r0 < n; r0 += CHUNK) {
      const rows = Math.min(CHUNK, n - r0);
      const rs = roundUp(rows, 4);
      // one-hot chunk H [k4, rs] (row-major, stride rs), then S = H X_chunk [k4, dp] after it
      const v = this.out.view();
      v.fill(0, 0, k4 * rs);
      for (let i = 0; i < rows; i++) v[labels[r0 + i]! * rs + i] = 1;
      const sOff = k4 * rs;
      g.nnR(this.out.ptr, this.heapX.ptr + r0 * dp * 4, this.out.ptr + sOff * 4, k4 / 4, rs, dp, this.scratch.ptr);
      const S = this.out.view();
      for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) out[c * d + j] += S[sOff + c * dp + j]!;
    }
  }
}
