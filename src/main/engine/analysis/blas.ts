/**
 * The analyses' fast products: kernels/gemm-simd.ts's WebAssembly SIMD matrix products (split
 * over two threads by gemm-pool.ts) on a heap of the analyses' own, a shared WebAssembly memory,
 * independent of tfjs. PCA, k-means and the pairwise distances copy their rows into it (padded
 * to what the kernels need) and run their big products there; everything small stays in
 * float64 JavaScript.
 *
 * Memory: blocks are allocated and freed per analysis (an analysis may yield between products,
 * and another may run meanwhile, so each owns its blocks). A wasm memory cannot shrink: the heap
 * keeps the size of the largest analysis run so far (e.g. ~190 MB after k-means of 60,000 x 784).
 *
 * Precision: the products sum in float32 (as scikit-learn's on float32 data); callers bound the
 * error by summing chunks of rows in float64 and recomputing values that cancel badly exactly.
 */
import { type GemmSimd, createGemmSimd } from '../kernels/gemm-simd';
import type { WasmMemory } from '../kernels/wasm-asm';
import type { Matrix } from './matrix';

interface WasmMemoryObject extends WasmMemory {
  grow(pages: number): number;
}
const WA = (globalThis as unknown as { WebAssembly?: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemoryObject } }).WebAssembly;

const PAGE = 65536;
const ALIGN = 64;

/** A block of floats on the heap. `view()` must be taken again after any other allocation (the heap may grow). */
export interface HeapBlock {
  /** Byte offset on the heap. */
  ptr: number;
  floats: number;
  view(): Float32Array;
  free(): void;
}

export interface Blas {
  gemm: GemmSimd;
  /** The heap itself (for kernels of the analyses' own, e.g. pdist-simd.ts). */
  memory: WasmMemory;
  alloc(floats: number): HeapBlock;
  /** Heap bytes in use and reserved (tests: nothing left allocated after an analysis). */
  used(): number;
}

/** Minimum work (multiply-adds) for the callers to use the products instead of plain loops. */
export const blasTuning = { minWork: 4e6, disabled: process.env.ATELIER_ANALYSIS_BLAS === '0' };

let instance: Blas | null | undefined;

/** The analyses' products, or null where WebAssembly SIMD (or shared memory) is unavailable: callers keep their loops. */
export function analysisBlas(): Blas | null {
  if (blasTuning.disabled) return null;
  if (instance !== undefined) return instance;
  instance = null;
  try {
    if (!WA || typeof SharedArrayBuffer === 'undefined') return null;
    const memory = new WA.Memory({ initial: 16, maximum: 65536, shared: true });
    const gemm = createGemmSimd(memory);
    if (!gemm) return null;
    // [start, end) byte ranges in use, sorted by start
    const blocks: [number, number][] = [];
    let pages = 16;
    const alloc = (floats: number): HeapBlock => {
      const bytes = Math.max(ALIGN, Math.ceil((floats * 4) / ALIGN) * ALIGN);
      // first fit after a 64-byte guard at 0 (a null pointer never is a block)
      let start = ALIGN;
      let at = 0;
      for (; at < blocks.length; at++) {
        if (blocks[at]![0] - start >= bytes) break;
        start = blocks[at]![1];
      }
      const end = start + bytes;
      if (end > pages * PAGE) {
        const need = Math.ceil(end / PAGE) - pages;
        memory.grow(need);
        pages += need;
      }
      const range: [number, number] = [start, end];
      blocks.splice(at, 0, range);
      let freed = false;
      return {
        ptr: start,
        floats,
        view: () => new Float32Array(memory.buffer, start, floats),
        free: () => {
          if (freed) return;
          freed = true;
          blocks.splice(blocks.indexOf(range), 1);
        },
      };
    };
    instance = { gemm, memory, alloc, used: () => blocks.reduce((s, [a, b]) => s + b - a, 0) };
  } catch {
    instance = null;
  }
  return instance;
}

/** Round up to a multiple of m. */
export const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * Rows [r0, r0 + rows) of X copied to `block` with row stride `stride` (>= X.cols), columns
 * beyond X.cols and rows beyond `rows` up to `padRows` set to 0.
 */
export function copyRows(X: Matrix, r0: number, rows: number, block: HeapBlock, stride: number, padRows = rows): void {
  const dst = block.view();
  const d = X.cols;
  if (stride === d) dst.set(X.data.subarray(r0 * d, (r0 + rows) * d));
  else {
    for (let i = 0; i < rows; i++) {
      const o = i * stride;
      dst.set(X.data.subarray((r0 + i) * d, (r0 + i + 1) * d), o);
      dst.fill(0, o + d, o + stride);
    }
  }
  dst.fill(0, rows * stride, padRows * stride);
}
