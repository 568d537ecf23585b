/**
 * Matrix products as hand-assembled WebAssembly SIMD functions working directly on the tfjs wasm
 * backend's heap (like adam-simd.ts), for the convolutions of small-conv.ts. XNNPACK (tfjs's
 * Conv2D / BatchMatMul) packs its weight operand into a new operator whenever the weight tensor
 * is new, i.e. after every optimizer step, on one thread at ~5-11 ns per weight element; these
 * read the weights as they are, in tfjs's own [KH*KW*CI, CO] layout, so new weights cost nothing.
 *
 *   nn(a, b, c, blocks, K, N, scratch):  C[4*blocks, N] = A . B     B [K, N] row-major (N % 8 == 0),
 *                               A interleaved by 4 rows: A4[blk][k][r] = A[4*blk + r, k];
 *                               blocked: k chunks of gemmTuning.kchunk, row-block chunks of
 *                               gemmTuning.mchunk, each 8-column strip of B copied to `scratch`
 *   nnR(...):                   nn with A row-major [4*blocks, K]
 *   nnRT(a, bt, ...):           nnR with B given as its transpose Bt [N, K]
 *   nt(a, w, c, blocks, K, M):  C4[blk][m][r] = dot(A[4*blk + r, :], W[m, :])
 *                               A [4*blocks, K] row-major, W [M, K] row-major (K % 4 == 0, M even)
 *
 * The multiply-adds are f32x4.relaxed_madd where relaxed SIMD compiles (relaxedSimd()), else
 * f32x4.mul + f32x4.add. With a shared heap (tfjs's threaded build) gemm-pool.ts splits each call
 * over two threads. Pointers are byte offsets on the heap. Sums run in a fixed order over k (nn
 * family: sequential, chunks continue the stored sums; nt: 4 interleaved partial sums, then a
 * pairwise reduction), so results are deterministic on a machine.
 */
import v8 from 'node:v8';
import { pooled } from './gemm-pool';
import { BLOCK, END, I32, LOOP, V128, get, instantiateOn, isSharedMemory, set, simd, sleb, tee, uleb, vec, perMemory, fnType, wasmModule } from './wasm-asm';

const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = [0x6a];
const SUB = [0x6b];
const MUL = [0x6c];
const SHL = [0x74];
const SHR_U = [0x76];
const GE_U = [0x4f];
const load = (offset = 0) => [...simd(0x00), 0, ...uleb(offset)];
const store = (offset = 0) => [...simd(0x0b), 0, ...uleb(offset)];
const load32Splat = (offset = 0) => [...simd(0x09), 0, ...uleb(offset)];
const fadd = simd(0xe4);
const fmul = simd(0xe6);
/** acc += x * y: f32x4.mul + f32x4.add, or one f32x4.relaxed_madd (a fused multiply-add where the CPU has one). */
const mac = (fma: boolean, acc: number, x: number, y: number) =>
  fma ? [...get(x), ...get(y), ...get(acc), ...simd(0x105), ...set(acc)] : [...get(acc), ...get(x), ...get(y), ...fmul, ...fadd, ...set(acc)];
const zero = [...simd(0x0c), ...new Array(16).fill(0)];
/** i8x16.shuffle by f32 lanes (0-3 first operand, 4-7 second). */
const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];
const br = (d: number) => [0x0c, ...uleb(d)];
const brIf = (d: number) => [0x0d, ...uleb(d)];
/** k chunk of `nn` (rows of B per scratch copy). */
export const gemmTuning = { kchunk: 256, mchunk: 64 };

/**
 * C[4 rows, 8 cols] tiles; params 0 a, 1 b, 2 c, 3 blocks, 4 K, 5 N, 6 scratch, 7 lda (floats
 * from one row of A to the next, or from one interleaved block's k to the next: 0 = K), 8 ldn
 * (floats from one row of B and of C to the next: 0 = N), so that a product can take a range of
 * A's columns (k) or of B's and C's columns (n) in place (stride2-winograd.ts's phase blocks).
 * nnRT reads Bt with K floats a row and takes no lda. Column strips
 * outside row blocks, each strip of B (a k chunk of rows x 8 floats, rows N floats apart) first
 * copied to the contiguous scratch so that the row blocks re-read it from cache without a TLB
 * miss per row (B = weights, large K).
 */
function nnFunc(fma: boolean, transB = false, rowA = false): number[] {
  const [A, Bp, C, BLK, K, N, SCR, LDA, LDN] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const NB = 9, N0 = 10, IB = 11, AP = 12, BP = 13, KK = 14, CP = 15, AB = 16, BS = 17, SP = 18; // i32 locals
  const ACC = (r: number, h: number) => 19 + r * 2 + h; // 19..26
  const B0 = 27, B1 = 28, AV = 29; // v128
  // i32: current k chunk (start, length), row-block chunk [MB0, MBE); A's row stride (bytes), pointer; N's end (bytes); transB: Bt's row stride
  const K0 = 30, KC = 31, MB0 = 32, MBE = 33, KB = 34, T = 35, NE = 36, KT = 37;
  const KCHUNK = gemmTuning.kchunk, MCHUNK = gemmTuning.mchunk;
  const b: number[] = [];
  const tile: number[] = [];
  // C tile address: c + (4*ib + r)*NB + n0
  tile.push(...get(IB), ...get(NB), ...MUL, ...i32(2), ...SHL, ...get(C), ...ADD, ...get(N0), ...ADD, ...set(CP));
  const zeroAcc: number[] = [];
  for (let r = 0; r < 4; r++) for (let h = 0; h < 2; h++) zeroAcc.push(...zero, ...set(ACC(r, h)));
  // first k chunk starts from zero, later ones continue the sums stored in C (same order of
  // additions as one pass over k: a stored float32 reloads unchanged)
  // rows r of C are NB bytes apart: load through a moving pointer
  const loadRows: number[] = [...get(CP), ...set(SP)];
  for (let r = 0; r < 4; r++) {
    loadRows.push(...get(SP), ...load(0), ...set(ACC(r, 0)), ...get(SP), ...load(16), ...set(ACC(r, 1)));
    loadRows.push(...get(SP), ...get(NB), ...ADD, ...set(SP));
  }
  tile.push(...get(K0), 0x45, 0x04, 0x40, ...zeroAcc, 0x05, ...loadRows, ...END);
  tile.push(...get(SCR), ...set(BP), ...get(AB), ...set(AP), ...get(KC), ...set(KK));
  tile.push(...LOOP); // k
  tile.push(...get(BP), ...load(0), ...set(B0), ...get(BP), ...load(16), ...set(B1));
  for (let r = 0; r < 4; r++) {
    // v128.load32_splat of A[4*blk + r, k] (a broadcast load, no shuffle); row-major A: rows KB bytes apart
    if (!rowA) tile.push(...get(AP), ...load32Splat(4 * r), ...set(AV));
    else if (r === 0) tile.push(...get(AP), ...tee(T), ...load32Splat(0), ...set(AV));
    else tile.push(...get(T), ...get(KB), ...ADD, ...tee(T), ...load32Splat(0), ...set(AV));
    tile.push(...mac(fma, ACC(r, 0), AV, B0), ...mac(fma, ACC(r, 1), AV, B1));
  }
  tile.push(...get(AP), ...i32(rowA ? 4 : 16), ...ADD, ...set(AP), ...get(BP), ...get(BS), ...ADD, ...set(BP));
  tile.push(...get(KK), ...i32(1), ...SUB, ...tee(KK), ...brIf(0), ...END);
  for (let r = 0; r < 4; r++) {
    tile.push(...get(CP), ...get(ACC(r, 0)), ...store(0), ...get(CP), ...get(ACC(r, 1)), ...store(16));
    tile.push(...get(CP), ...get(NB), ...ADD, ...set(CP));
  }
  // A block base: a + ib*lda*16 (+ k0*16 for the current k chunk; k0*4 when A is row-major)
  const blockBase = [...get(IB), ...get(LDA), ...MUL, ...i32(4), ...SHL, ...get(A), ...ADD];
  blockBase.push(...get(K0), ...i32(rowA ? 2 : 4), ...SHL, ...ADD);
  blockBase.push(...set(AB));
  // lda, ldn 0 (callers with 7 arguments): K, N
  b.push(...get(LDA), 0x45, 0x04, 0x40, ...get(K), ...set(LDA), ...END);
  b.push(...get(LDN), 0x45, 0x04, 0x40, ...get(N), ...set(LDN), ...END);
  b.push(...get(LDN), ...i32(2), ...SHL, ...set(NB), ...get(N), ...i32(2), ...SHL, ...set(NE));
  b.push(...get(LDA), ...i32(2), ...SHL, ...set(KB), ...get(K), ...i32(2), ...SHL, ...set(KT));
  // k chunks of KCHUNK outermost: one chunk of every row block of A (blocks*KCHUNK*16 bytes)
  // stays in L2 while all column strips pass over it, and each strip's chunk of B is
  // copied to the scratch (KCHUNK*32 bytes, L1) and re-read by every row block.
  b.push(...i32(32), ...set(BS), ...i32(0), ...set(K0));
  b.push(...BLOCK, ...LOOP);
  b.push(...get(K0), ...get(K), ...GE_U, ...brIf(1));
  b.push(...get(K), ...get(K0), ...SUB, ...tee(KC), ...i32(KCHUNK), ...get(KC), ...i32(KCHUNK), ...[0x49], ...[0x1b], ...set(KC)); // min
  b.push(...i32(0), ...set(MB0), ...BLOCK, ...LOOP); // row-block chunks
  b.push(...get(MB0), ...get(BLK), ...GE_U, ...brIf(1));
  b.push(...get(MB0), ...i32(MCHUNK), ...ADD, ...tee(MBE), ...get(BLK), ...get(MBE), ...get(BLK), ...[0x49], ...[0x1b], ...set(MBE)); // min(mb0+MCHUNK, blocks)
  b.push(...i32(0), ...set(N0), ...BLOCK, ...LOOP);
  b.push(...get(N0), ...get(NE), ...GE_U, ...brIf(1));
  if (!transB) {
    // copy the strip chunk: scratch[k] = B[k0 + k, n0 .. n0+8]
    b.push(...get(K0), ...get(NB), ...MUL, ...get(Bp), ...ADD, ...get(N0), ...ADD, ...set(BP), ...get(SCR), ...set(SP), ...get(KC), ...set(KK));
    b.push(...LOOP);
    b.push(...get(SP), ...get(BP), ...load(0), ...store(0), ...get(SP), ...get(BP), ...load(16), ...store(16));
    b.push(...get(BP), ...get(NB), ...ADD, ...set(BP), ...get(SP), ...i32(32), ...ADD, ...set(SP));
    b.push(...get(KK), ...i32(1), ...SUB, ...tee(KK), ...brIf(0), ...END);
  } else {
    // B given as its transpose Bt [N, K]: scratch[k][j] = Bt[n0 + j, k0 + k], gathered from 8
    // rows K floats apart (KB bytes), one float each
    b.push(...get(N0), ...get(K), ...MUL, ...get(K0), ...i32(4), ...MUL, ...ADD, ...get(Bp), ...ADD, ...set(BP)); // n0 is bytes: (n0/4)*K*4
    b.push(...get(SCR), ...set(SP), ...get(KC), ...set(KK));
    b.push(...LOOP);
    b.push(...get(BP), ...set(T));
    for (let j = 0; j < 8; j++) {
      b.push(...get(SP), ...get(T), 0x2a, 2, 0, 0x38, 2, ...uleb(4 * j));
      if (j < 7) b.push(...get(T), ...get(KT), ...ADD, ...set(T));
    }
    b.push(...get(BP), ...i32(4), ...ADD, ...set(BP), ...get(SP), ...i32(32), ...ADD, ...set(SP));
    b.push(...get(KK), ...i32(1), ...SUB, ...tee(KK), ...brIf(0), ...END);
  }
  b.push(...get(MB0), ...set(IB), ...BLOCK, ...LOOP);
  b.push(...get(IB), ...get(MBE), ...GE_U, ...brIf(1));
  b.push(...blockBase, ...tile);
  b.push(...get(IB), ...i32(1), ...ADD, ...set(IB), ...br(0), ...END, ...END);
  b.push(...get(N0), ...i32(32), ...ADD, ...set(N0), ...br(0), ...END, ...END);
  b.push(...get(MBE), ...set(MB0), ...br(0), ...END, ...END);
  b.push(...get(K0), ...i32(KCHUNK), ...ADD, ...set(K0), ...br(0), ...END, ...END);
  b.push(...END);
  return [...vec([[10, I32], [11, V128], [8, I32]]), ...b];
}

/** Dot products of 4 A rows with 2 W rows at a time; params 0 a, 1 w, 2 c, 3 blocks, 4 K, 5 M (6 unused). */
function ntFunc(fma: boolean): number[] {
  const [A, Wp, C, BLK, K, M] = [0, 1, 2, 3, 4, 5];
  const KB = 7, KB2 = 8, KB3 = 9, MM = 10, MI = 11, WP = 12, IB = 13, AP = 14, JJ = 15, WQ = 16, CP = 17; // i32
  const ACC = (r: number, h: number) => 18 + r * 2 + h; // 18..25
  const W0 = 26, W1 = 27, X = 28, U01 = 29, U23 = 30; // v128
  const b: number[] = [];
  b.push(...get(K), ...i32(2), ...SHL, ...tee(KB), ...get(KB), ...ADD, ...tee(KB2), ...get(KB), ...ADD, ...set(KB3));
  b.push(...get(M), ...i32(1), ...SHR_U, ...set(MM), ...i32(0), ...set(MI), ...get(Wp), ...set(WP));
  b.push(...BLOCK, ...get(MM), ...[0x45], ...brIf(0)); // no pairs: done
  b.push(...LOOP); // m pairs
  b.push(...i32(0), ...set(IB), ...get(A), ...set(AP));
  b.push(...BLOCK, ...LOOP); // row blocks
  b.push(...get(IB), ...get(BLK), ...GE_U, ...brIf(1));
  for (let r = 0; r < 4; r++) for (let h = 0; h < 2; h++) b.push(...zero, ...set(ACC(r, h)));
  b.push(...get(WP), ...set(WQ), ...get(K), ...i32(2), ...SHR_U, ...set(JJ));
  b.push(...LOOP); // k chunks of 4
  b.push(...get(WQ), ...load(0), ...set(W0), ...get(WQ), ...get(KB), ...ADD, ...load(0), ...set(W1));
  const rowAddr = [[...get(AP)], [...get(AP), ...get(KB), ...ADD], [...get(AP), ...get(KB2), ...ADD], [...get(AP), ...get(KB3), ...ADD]];
  for (let r = 0; r < 4; r++) {
    b.push(...rowAddr[r]!, ...load(0), ...set(X));
    b.push(...mac(fma, ACC(r, 0), X, W0), ...mac(fma, ACC(r, 1), X, W1));
  }
  b.push(...get(WQ), ...i32(16), ...ADD, ...set(WQ), ...get(AP), ...i32(16), ...ADD, ...set(AP));
  b.push(...get(JJ), ...i32(1), ...SUB, ...tee(JJ), ...brIf(0), ...END);
  b.push(...get(AP), ...get(KB3), ...ADD, ...set(AP)); // next 4 rows
  // c + (ib*M + mi)*16
  b.push(...get(IB), ...get(M), ...MUL, ...get(MI), ...ADD, ...i32(4), ...SHL, ...get(C), ...ADD, ...set(CP));
  for (let h = 0; h < 2; h++) {
    const a = (r: number) => get(ACC(r, h));
    // u01 = (a0.0+a0.2, a1.0+a1.2, a0.1+a0.3, a1.1+a1.3); u23 likewise; then lanes 0,1 + 2,3.
    b.push(...a(0), ...a(1), ...shuffle([0, 4, 1, 5]), ...a(0), ...a(1), ...shuffle([2, 6, 3, 7]), ...fadd, ...set(U01));
    b.push(...a(2), ...a(3), ...shuffle([0, 4, 1, 5]), ...a(2), ...a(3), ...shuffle([2, 6, 3, 7]), ...fadd, ...set(U23));
    b.push(...get(CP));
    b.push(...get(U01), ...get(U23), ...shuffle([0, 1, 4, 5]), ...get(U01), ...get(U23), ...shuffle([2, 3, 6, 7]), ...fadd);
    b.push(...store(16 * h));
  }
  b.push(...get(IB), ...i32(1), ...ADD, ...set(IB), ...br(0), ...END, ...END);
  b.push(...get(WP), ...get(KB2), ...ADD, ...set(WP), ...get(MI), ...i32(2), ...ADD, ...set(MI));
  b.push(...get(MM), ...i32(1), ...SUB, ...tee(MM), ...brIf(0), ...END); // loop m
  b.push(...END); // block
  b.push(...END);
  return [...vec([[11, I32], [13, V128]]), ...b];
}

export function gemmModule(shared: boolean, fma = false): Uint8Array {
  const nn = nnFunc(fma);
  const nt = ntFunc(fma);
  const nnR = nnFunc(fma, false, true);
  const nnRT = nnFunc(fma, true, true);
  // nt: 7 parameters; the nn family 9 (lda, ldn)
  return wasmModule(shared, [fnType(new Array(7).fill(I32)), fnType(new Array(9).fill(I32))], [
    { name: 'nn', body: nn, type: 1 },
    { name: 'nt', body: nt },
    { name: 'nnR', body: nnR, type: 1 },
    { name: 'nnRT', body: nnRT, type: 1 },
  ]);
}

/** `lda`, `ldn` (nn, nnR): A's and B's / C's row strides in floats, 0 or absent = K and N (see nnFunc). */
export type GemmFn = (a: number, b: number, c: number, blocks: number, k: number, n: number, scratch?: number, lda?: number, ldn?: number) => void;
/**
 * `count` products of one shape, operand i at a + i*sa, b + i*sb, c + i*sc (byte offsets). Split
 * over two threads by products (gemm-pool.ts), so scratch must hold 2*K*32 bytes as for nn.
 */
export type BatchFn = (
  name: 'nn' | 'nt' | 'nnR' | 'nnRT', count: number, sa: number, sb: number, sc: number,
  a: number, b: number, c: number, blocks: number, k: number, n: number, scratch?: number,
) => void;
export interface GemmSimd {
  /** Needs `scratch`: 2*K*32 bytes on the heap (one strip copy per thread). */
  nn: GemmFn;
  nt: GemmFn;
  /** nn with A row-major [4*blocks, K] (not interleaved). Scratch as nn. */
  nnR: GemmFn;
  /** nnR with B given transposed, Bt [N, K] row-major (N % 8 == 0): C = A . Bt^T. Scratch as nn. */
  nnRT: GemmFn;
  /** Built with fused multiply-adds (relaxed SIMD). */
  fma?: boolean;
  /** Two threads only: a batch of products split by products (one hand-over per batch); absent: call one by one. */
  batch?: BatchFn;
  /** True when calls are split over two threads (shared heap, helper thread running). */
  parallel?: () => boolean;
}

/**
 * threads: 2 = use a helper thread when the heap is shared; fma: use f32x4.relaxed_madd where
 * the engine has relaxed SIMD (both read when a memory is first seen; ATELIER_WASM_FMA=0 turns
 * fma off).
 */
export const gemmOptions = { threads: 2, fma: process.env.ATELIER_WASM_FMA !== '0' };

let relaxed: boolean | null = null;
/**
 * True when WebAssembly relaxed SIMD compiles here. Chromium (Electron's utility process) ships
 * it; Node 20's V8 has it behind --experimental-wasm-relaxed-simd, a flag that can be set at run
 * time before the first module using it is compiled. Its f32x4.relaxed_madd is one fused
 * multiply-add on CPUs with FMA (x86 FMA3, ARM64): ~1.2-1.4x the products' throughput measured
 * here. The result of a fused multiply-add is implementation-defined but fixed for a machine,
 * so runs stay reproducible on it.
 */
export function relaxedSimd(): boolean {
  if (relaxed != null) return relaxed;
  // (v128, v128, v128) -> v128: f32x4.relaxed_madd
  const probe = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, V128, V128, V128, 1, V128, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b]);
  const validate = (globalThis as unknown as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly?.validate;
  try {
    if (validate && !validate(probe)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    relaxed = !!validate && validate(probe);
  } catch {
    relaxed = false;
  }
  return relaxed;
}

/** The SIMD products bound to this wasm memory, or null when SIMD (or the memory) is unavailable (callers keep the XNNPACK path). */
export const createGemmSimd = perMemory((memory): GemmSimd => {
  const shared = isSharedMemory(memory);
  const bytes = gemmModule(shared, gemmOptions.fma && relaxedSimd());
  const exports = instantiateOn(memory, bytes);
  const g: GemmSimd = { nn: exports.nn as GemmFn, nt: exports.nt as GemmFn, nnR: exports.nnR as GemmFn, nnRT: exports.nnRT as GemmFn, fma: gemmOptions.fma && relaxedSimd() };
  // Shared heap (tfjs's threaded build): split the products with a helper thread.
  return shared && gemmOptions.threads > 1 ? pooled(g, memory, bytes) : g;
});
