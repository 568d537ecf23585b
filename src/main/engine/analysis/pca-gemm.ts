/**
 * PCA's pass over the data on the fast products (blas.ts), both threads: W = Xc^T Xc Z for a
 * thin Z (d x l), the centred rows Xc = X - 1 mean^T never formed. Per chunk of CHUNK rows:
 *   Yt = Zt X_c^T            (l x rows; nnRT)   then centred: Yt[t, i] -= Zt_t . mean
 *   Wt += Yt X_c             (l x d;    nnR)    summed over chunks in float64
 * and finally Wt[t] -= (sum_i Yt[t, i]) mean, which centres the second product. Each chunk's
 * sums run in float32 (as scikit-learn's products on float32 data); adding chunks in float64
 * keeps the error at a chunk's, not the whole column's.
 */
import { type Blas, type HeapBlock, analysisBlas, blasTuning, copyRows, roundUp } from './blas';
import type { Matrix } from './matrix';

/** Rows per chunk (a multiple of 8: nnRT takes the chunk's rows as its N). */
const CHUNK = 4096;

export class ScatterProducts {
  private constructor(
    private readonly blas: Blas,
    private readonly X: Matrix,
    private readonly heapX: HeapBlock,
    /** Row stride of heapX: d rounded up to 8 (nnR's N), zero-padded. */
    private readonly dp: number,
    /** l rounded up to 4 (row blocks). */
    private readonly lp: number,
    private readonly zt: HeapBlock,
    private readonly yt: HeapBlock,
    private readonly wt: HeapBlock,
    private readonly scratch: HeapBlock,
  ) {}

  /** Products for Z with up to l columns, or null when unavailable or the work (n d l) is too small to gain. */
  static open(X: Matrix, l: number): ScatterProducts | null {
    if (X.rows * X.cols * l < blasTuning.minWork) return null;
    const blas = analysisBlas();
    if (!blas) return null;
    const { rows: n, cols: d } = X;
    const dp = roundUp(d, 8);
    const lp = roundUp(l, 4);
    const np = roundUp(n, 8);
    const heapX = blas.alloc(np * dp);
    copyRows(X, 0, n, heapX, dp, np);
    const rows = Math.min(CHUNK, np);
    return new ScatterProducts(blas, X, heapX, dp, lp, blas.alloc(lp * dp), blas.alloc(lp * rows), blas.alloc(lp * dp), blas.alloc(16 * Math.max(dp, rows)));
  }

  close(): void {
    for (const b of [this.heapX, this.zt, this.yt, this.wt, this.scratch]) b.free();
  }

  /** Wt = (Xc^T Xc Z)^T, l x d, for Zt (l x d, rows = the columns of Z). */
  times(Zt: Float64Array, l: number, mean: Float64Array): Float64Array {
    const { rows: n, cols: d } = this.X;
    const { dp, lp } = this;
    const g = this.blas.gemm;
    const z = this.zt.view();
    z.fill(0);
    const shift = new Float64Array(l); // Zt_t . mean (of the float32 values the products use)
    for (let t = 0; t < l; t++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const f = Math.fround(Zt[t * d + j]);
        z[t * dp + j] = f;
        s += f * mean[j];
      }
      shift[t] = s;
    }
    const colSum = new Float64Array(l);
    const W = new Float64Array(l * d);
    for (let r0 = 0; r0 < n; r0 += CHUNK) {
      const rows = Math.min(CHUNK, n - r0);
      const rs = roundUp(rows, 8);
      const xc = this.heapX.ptr + r0 * dp * 4;
      g.nnRT(this.zt.ptr, xc, this.yt.ptr, lp / 4, dp, rs, this.scratch.ptr);
      const y = this.yt.view();
      for (let t = 0; t < l; t++) {
        const o = t * rs;
        const st = shift[t];
        let cs = 0;
        for (let i = 0; i < rows; i++) {
          const v = Math.fround(y[o + i] - st);
          y[o + i] = v;
          cs += v;
        }
        y.fill(0, o + rows, o + rs); // padding rows: nothing
        colSum[t] += cs;
      }
      g.nnR(this.yt.ptr, xc, this.wt.ptr, lp / 4, rs, dp, this.scratch.ptr);
      const w = this.wt.view();
      for (let t = 0; t < l; t++) for (let j = 0; j < d; j++) W[t * d + j] += w[t * dp + j]!;
    }
    for (let t = 0; t < l; t++) for (let j = 0; j < d; j++) W[t * d + j] -= colSum[t] * mean[j];
    return W;
  }
}
