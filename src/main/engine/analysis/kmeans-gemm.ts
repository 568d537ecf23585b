/**
 * k-means on the fast products (blas.ts), both threads: squared euclidean distances from points
 * to a set of centres as ||x||^2 + ||c||^2 - 2 x.c, the dot products X C^T by the SIMD product
 * nnRT a chunk of rows at a time (the n x k dot products are never held at once: CHUNK x k floats
 * on the heap). sqDists serves the k-means++ seeding (every point), sqDistsOf Lloyd's iterations
 * (the points whose bounds do not settle them, kmeans-bounds.ts). The update's sums stay in
 * float64 JavaScript: after the first iteration only the points that change cluster move them.
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

  /** Rows gathered for sqDistsOf (CHUNK x dp), allocated on first use. */
  private gathered: HeapBlock | null = null;

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
    // out: the chunk's dot products (rows x kp)
    const out = blas.alloc(rows * kp);
    return new CentreProducts(blas, X, xx, heapX, dp, blas.alloc(kp * dp), out, blas.alloc(16 * Math.max(dp, rows)), maxCentres);
  }

  close(): void {
    for (const b of [this.heapX, this.centres, this.out, this.scratch, this.gathered]) b?.free();
    this.gathered = null;
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

  /**
   * Squared distances of the points idx[0..count) (ascending, count <= CHUNK) to centres
   * 0..m-1 of C: out[t * m + c]. A run of consecutive points is read in place; scattered ones
   * are first gathered into a block of their own.
   */
  sqDistsOf(C: Float64Array, m: number, idx: Int32Array, count: number, out: Float64Array): void {
    if (count > CHUNK) throw new Error(`CentreProducts.sqDistsOf: ${count} points, at most ${CHUNK} at a time`);
    if (count === 0) return;
    const { kp, cc } = this.load(C, m);
    const dp = this.dp;
    const rs = roundUp(count, 4);
    let a: number;
    if (idx[count - 1]! - idx[0]! === count - 1 && idx[0]! + rs <= roundUp(this.X.rows, 4)) {
      // a run of rows read in place (the rows past it up to a multiple of 4 are on heapX)
      a = this.heapX.ptr + idx[0]! * dp * 4;
    } else {
      this.gathered ??= this.blas.alloc(CHUNK * dp);
      // rows copied within the heap (copyWithin: a memmove per row, no view per row)
      const heap = new Float32Array(this.blas.memory.buffer);
      const g0 = this.gathered.ptr / 4;
      const x0 = this.heapX.ptr / 4;
      for (let t = 0; t < count; t++) heap.copyWithin(g0 + t * dp, x0 + idx[t]! * dp, x0 + idx[t]! * dp + dp);
      heap.fill(0, g0 + count * dp, g0 + rs * dp);
      a = this.gathered.ptr;
    }
    this.blas.gemm.nnRT(a, this.centres.ptr, this.out.ptr, rs / 4, dp, kp, this.scratch.ptr);
    const dots = this.out.view();
    const xx = this.xx;
    for (let t = 0; t < count; t++) {
      const p = idx[t]!;
      for (let c = 0; c < m; c++) {
        let v = xx[p]! + cc[c]! - 2 * dots[t * kp + c]!;
        if (v < CANCEL * (xx[p]! + cc[c]!)) v = this.exact(p, C, c);
        out[t * m + c] = v;
      }
    }
  }
}
