/**
 * Two small matrix products as hand-assembled WebAssembly SIMD functions working directly on
 * the tfjs wasm backend's heap (like adam-simd.ts), for convolutions whose spatial size is tiny
 * next to their weights. XNNPACK (tfjs's Conv2D / BatchMatMul) packs its weight operand into a
 * new operator whenever the weight tensor is new, i.e. after every optimizer step, on one
 * thread at ~5-11 ns per weight element; these read the weights as they are, once, in tfjs's
 * own [KH*KW*CI, CO] layout, so a step with new weights costs no packing at all.
 *
 *   nn(a, b, c, blocks, K, N, scratch):  C[4*blocks, N] = A . B     B [K, N] row-major (N % 8 == 0),
 *                               A interleaved by 4 rows: A4[blk][k][r] = A[4*blk + r, k]
 *   nnRows(...):                the same, loops nested the other way (for small K)
 *   nt(a, w, c, blocks, K, M):  C4[blk][m][r] = dot(A[4*blk + r, :], W[m, :])
 *                               A [4*blocks, K] row-major, W [M, K] row-major (K % 4 == 0, M even)
 *
 * With a shared heap (tfjs's threaded build) gemm-pool.ts splits each call over two threads.
 * Pointers are byte offsets on the heap. Sums run in a fixed order over k (nn: sequential;
 * nt: 4 interleaved partial sums, then a pairwise reduction), so results are deterministic.
 */
import type { WasmMemory } from './adam-simd';
import { pooled } from './gemm-pool';
import { I32, V128, get, section, set, simd, sleb, str, tee, uleb, vec } from './wasm-asm';

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
const zero = [...simd(0x0c), ...new Array(16).fill(0)];
/** i8x16.shuffle by f32 lanes (0-3 first operand, 4-7 second). */
const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = [0x0b];
const br = (d: number) => [0x0c, ...uleb(d)];
const brIf = (d: number) => [0x0d, ...uleb(d)];

/**
 * C[4 rows, 8 cols] tiles; params 0 a, 1 b, 2 c, 3 blocks, 4 K, 5 N, 6 scratch.
 * `stripsOuter`: column strips outside row blocks, each strip of B (K rows x 8 floats, rows N
 * floats apart) first copied to the contiguous scratch (K*32 bytes) so that the row blocks
 * re-read it from cache without a TLB miss per row (B = weights, large K). Otherwise row blocks
 * outside (A's block reused across strips, C written row by row: small K, B read in place).
 */
function nnFunc(stripsOuter: boolean): number[] {
  const [A, Bp, C, BLK, K, N, SCR] = [0, 1, 2, 3, 4, 5, 6];
  const NB = 7, N0 = 8, IB = 9, AP = 10, BP = 11, KK = 12, CP = 13, AB = 14, BS = 15, SP = 16; // i32 locals
  const ACC = (r: number, h: number) => 17 + r * 2 + h; // 17..24
  const B0 = 25, B1 = 26, AV = 27; // v128
  const b: number[] = [];
  const tile: number[] = [];
  for (let r = 0; r < 4; r++) for (let h = 0; h < 2; h++) tile.push(...zero, ...set(ACC(r, h)));
  if (stripsOuter) tile.push(...get(SCR), ...set(BP));
  else tile.push(...get(Bp), ...get(N0), ...ADD, ...set(BP));
  tile.push(...get(AB), ...set(AP), ...get(K), ...set(KK));
  tile.push(...LOOP); // k
  tile.push(...get(BP), ...load(0), ...set(B0), ...get(BP), ...load(16), ...set(B1));
  for (let r = 0; r < 4; r++) {
    // v128.load32_splat of A[4*blk + r, k] (a broadcast load, no shuffle)
    tile.push(...get(AP), ...load32Splat(4 * r), ...set(AV));
    tile.push(...get(ACC(r, 0)), ...get(AV), ...get(B0), ...fmul, ...fadd, ...set(ACC(r, 0)));
    tile.push(...get(ACC(r, 1)), ...get(AV), ...get(B1), ...fmul, ...fadd, ...set(ACC(r, 1)));
  }
  tile.push(...get(AP), ...i32(16), ...ADD, ...set(AP), ...get(BP), ...get(BS), ...ADD, ...set(BP));
  tile.push(...get(KK), ...i32(1), ...SUB, ...tee(KK), ...brIf(0), ...END);
  // store the 4x8 tile at c + (4*ib + r)*NB + n0
  tile.push(...get(IB), ...get(NB), ...MUL, ...i32(2), ...SHL, ...get(C), ...ADD, ...get(N0), ...ADD, ...set(CP));
  for (let r = 0; r < 4; r++) {
    tile.push(...get(CP), ...get(ACC(r, 0)), ...store(0), ...get(CP), ...get(ACC(r, 1)), ...store(16));
    tile.push(...get(CP), ...get(NB), ...ADD, ...set(CP));
  }
  // A block base: a + ib*K*16
  const blockBase = [...get(IB), ...get(K), ...MUL, ...i32(4), ...SHL, ...get(A), ...ADD, ...set(AB)];
  b.push(...get(N), ...i32(2), ...SHL, ...set(NB));
  if (stripsOuter) {
    b.push(...i32(32), ...set(BS));
    b.push(...i32(0), ...set(N0), ...BLOCK, ...LOOP);
    b.push(...get(N0), ...get(NB), ...GE_U, ...brIf(1));
    // copy the strip: scratch[k] = B[k, n0 .. n0+8]
    b.push(...get(Bp), ...get(N0), ...ADD, ...set(BP), ...get(SCR), ...set(SP), ...get(K), ...set(KK));
    b.push(...LOOP);
    b.push(...get(SP), ...get(BP), ...load(0), ...store(0), ...get(SP), ...get(BP), ...load(16), ...store(16));
    b.push(...get(BP), ...get(NB), ...ADD, ...set(BP), ...get(SP), ...i32(32), ...ADD, ...set(SP));
    b.push(...get(KK), ...i32(1), ...SUB, ...tee(KK), ...brIf(0), ...END);
    b.push(...i32(0), ...set(IB), ...BLOCK, ...LOOP);
    b.push(...get(IB), ...get(BLK), ...GE_U, ...brIf(1));
    b.push(...blockBase, ...tile);
    b.push(...get(IB), ...i32(1), ...ADD, ...set(IB), ...br(0), ...END, ...END);
    b.push(...get(N0), ...i32(32), ...ADD, ...set(N0), ...br(0), ...END, ...END);
  } else {
    b.push(...get(NB), ...set(BS));
    b.push(...i32(0), ...set(IB), ...BLOCK, ...LOOP);
    b.push(...get(IB), ...get(BLK), ...GE_U, ...brIf(1));
    b.push(...blockBase);
    b.push(...i32(0), ...set(N0), ...BLOCK, ...LOOP);
    b.push(...get(N0), ...get(NB), ...GE_U, ...brIf(1));
    b.push(...tile);
    b.push(...get(N0), ...i32(32), ...ADD, ...set(N0), ...br(0), ...END, ...END);
    b.push(...get(IB), ...i32(1), ...ADD, ...set(IB), ...br(0), ...END, ...END);
  }
  b.push(...END);
  return [...vec([[10, I32], [11, V128]]), ...b];
}

/** Dot products of 4 A rows with 2 W rows at a time; params 0 a, 1 w, 2 c, 3 blocks, 4 K, 5 M (6 unused). */
function ntFunc(): number[] {
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
    b.push(...get(ACC(r, 0)), ...get(X), ...get(W0), ...fmul, ...fadd, ...set(ACC(r, 0)));
    b.push(...get(ACC(r, 1)), ...get(X), ...get(W1), ...fmul, ...fadd, ...set(ACC(r, 1)));
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

function gemmModule(shared: boolean): Uint8Array {
  const nn = nnFunc(true);
  const nnRows = nnFunc(false);
  const nt = ntFunc();
  const sig = [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32]]), 0];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([sig])),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, ...(shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00])]])),
    ...section(3, vec([[0], [0], [0]])),
    ...section(7, vec([[...str('nn'), 0x00, 0], [...str('nt'), 0x00, 1], [...str('nnRows'), 0x00, 2]])),
    ...section(10, vec([[...uleb(nn.length), ...nn], [...uleb(nt.length), ...nt], [...uleb(nnRows.length), ...nnRows]])),
  ]);
}

export type GemmFn = (a: number, b: number, c: number, blocks: number, k: number, n: number, scratch?: number) => void;
export interface GemmSimd {
  /** Needs `scratch`: 2*K*32 bytes on the heap (one strip copy per thread). */
  nn: GemmFn;
  /** nn with row blocks outermost (same result): for a small K, e.g. a filter gradient. */
  nnRows: GemmFn;
  nt: GemmFn;
  /** True when calls are split over two threads (shared heap, helper thread running). */
  parallel?: () => boolean;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
const cache = new WeakMap<WasmMemory, GemmSimd | null>();
/** threads: 2 = use a helper thread when the heap is shared (read when a memory is first seen). */
export const gemmOptions = { threads: 2 };

/** The SIMD products bound to this wasm memory, or null when SIMD (or the memory) is unavailable. */
export function createGemmSimd(memory: WasmMemory | undefined): GemmSimd | null {
  if (!memory || !WA) return null;
  if (cache.has(memory)) return cache.get(memory)!;
  let g: GemmSimd | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = gemmModule(shared);
    const inst = new WA.Instance(new WA.Module(bytes), { env: { memory } });
    g = { nn: inst.exports.nn as GemmFn, nnRows: inst.exports.nnRows as GemmFn, nt: inst.exports.nt as GemmFn };
    // Shared heap (tfjs's threaded build): split the products with a helper thread.
    if (shared && gemmOptions.threads > 1) g = pooled(g, memory, bytes);
  } catch {
    g = null; // callers keep the XNNPACK path
  }
  cache.set(memory, g);
  return g;
}
