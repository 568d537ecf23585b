/**
 * Pairwise euclidean and manhattan distances (condensed, as scipy's pdist) as hand-assembled
 * WebAssembly SIMD in float64, on the analyses' heap (blas.ts), split over two threads.
 *
 * Unlike the product trick (||x||^2 + ||y||^2 - 2 x.y, which cancels for close points), each
 * distance sums (x_k - y_k)^2 or |x_k - y_k| directly in float64, two lanes at a time: results
 * match scipy's (sequential float64 sums of the same float32 values) to ~1e-15 relative, so the
 * linkage trees keep scipy's merge order and heights.
 *
 *   rows(x, n, rowBytes, d2, i0, i1, out, _):  for i in [i0, i1), j in (i, n):
 *       out[i n - i (i + 1) / 2 + j - i - 1] = dist(row i, row j)
 *   x: n rows of float64, rowBytes apart, d2 = columns / 2 (zero-padded to even); out: float64.
 * Blocked: 16 rows of i against 64 rows of j (64 x 784 doubles = 400 kB stay in L2), one row i
 * against 4 rows j per pass over k (5 loads for 4 distances).
 */
import { Worker } from 'node:worker_threads';
import { I32, V128, get, memoryImport, section, set, simd, sleb, str, tee, uleb, vec } from '../kernels/wasm-asm';
import type { WasmMemory } from '../kernels/wasm-asm';

const i32 = (v: number) => [0x41, ...sleb(v)];
const ADD = [0x6a];
const SUB = [0x6b];
const MUL = [0x6c];
const SHL = [0x74];
const SHR_U = [0x76];
const GE_U = [0x4f];
const GT_U = [0x4b];
const LT_U = [0x49];
const SELECT = [0x1b];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = [0x0b];
const br = (d: number) => [0x0c, ...uleb(d)];
const brIf = (d: number) => [0x0d, ...uleb(d)];
const load = (offset = 0) => [...simd(0x00), 4, ...uleb(offset)];
const zero = [...simd(0x0c), ...new Array(16).fill(0)];
const F64X2_ADD = simd(0xf0);
const F64X2_SUB = simd(0xf1);
const F64X2_MUL = simd(0xf2);
const F64X2_ABS = simd(0xec);
const lane = (l: number) => [...simd(0x21), l];
const F64_ADD = [0xa0];
const F64_SQRT = [0x9f];
const f64Store = (offset: number) => [0x39, 3, ...uleb(offset)];

/** Row-block sizes: BI rows of i against BJ rows of j. */
const BI = 16;
const BJ = 64;

function rowsFunc(manhattan: boolean): number[] {
  const [X, N, RB, D2, I0, I1, OUT] = [0, 1, 2, 3, 4, 5, 6];
  // i32 locals 8..
  const IB = 8, IE = 9, JB = 10, JE = 11, I = 12, J = 13, PA = 14, ROWOUT = 15, PK = 16, KK = 17, B0 = 18, B1 = 19, B2 = 20, B3 = 21, P = 22;
  // v128 locals
  const ACC = (t: number) => 23 + t; // 23..26
  const A = 27, E = 28;
  const b: number[] = [];
  const accum = (t: number, bp: number) => {
    b.push(...get(A), ...get(bp), ...get(PK), ...ADD, ...load(0), ...F64X2_SUB, ...set(E));
    b.push(...get(ACC(t)), ...get(E));
    if (manhattan) b.push(...F64X2_ABS);
    else b.push(...get(E), ...F64X2_MUL);
    b.push(...F64X2_ADD, ...set(ACC(t)));
  };
  const finish = (t: number) => {
    // out[rowOut + (J + t)] = lane0 + lane1 (sqrt for euclidean)
    b.push(...get(P), ...get(ACC(t)), ...lane(0), ...get(ACC(t)), ...lane(1), ...F64_ADD);
    if (!manhattan) b.push(...F64_SQRT);
    b.push(...f64Store(8 * t));
  };
  const kLoop = (pointers: number[]) => {
    pointers.forEach((_, t) => b.push(...zero, ...set(ACC(t))));
    b.push(...i32(0), ...set(PK), ...get(D2), ...set(KK));
    b.push(...LOOP);
    b.push(...get(PA), ...get(PK), ...ADD, ...load(0), ...set(A));
    pointers.forEach((bp, t) => accum(t, bp));
    b.push(...get(PK), ...i32(16), ...ADD, ...set(PK));
    b.push(...get(KK), ...i32(1), ...SUB, ...tee(KK), ...brIf(0), ...END);
    b.push(...get(ROWOUT), ...get(J), ...i32(3), ...SHL, ...ADD, ...set(P));
    pointers.forEach((_, t) => finish(t));
  };
  b.push(...get(I0), ...set(IB));
  b.push(...BLOCK, ...LOOP); // row blocks of i
  b.push(...get(IB), ...get(I1), ...GE_U, ...brIf(1));
  b.push(...get(IB), ...i32(BI), ...ADD, ...tee(IE), ...get(I1), ...get(IE), ...get(I1), ...LT_U, ...SELECT, ...set(IE)); // min
  b.push(...get(IB), ...i32(1), ...ADD, ...set(JB));
  b.push(...BLOCK, ...LOOP); // column blocks of j
  b.push(...get(JB), ...get(N), ...GE_U, ...brIf(1));
  b.push(...get(JB), ...i32(BJ), ...ADD, ...tee(JE), ...get(N), ...get(JE), ...get(N), ...LT_U, ...SELECT, ...set(JE));
  b.push(...get(IB), ...set(I));
  b.push(...BLOCK, ...LOOP); // rows i of the block
  b.push(...get(I), ...get(IE), ...GE_U, ...brIf(1));
  // J = max(JB, I + 1)
  b.push(...get(I), ...i32(1), ...ADD, ...tee(J), ...get(JB), ...get(J), ...get(JB), ...GT_U, ...SELECT, ...set(J));
  b.push(...get(I), ...get(RB), ...MUL, ...get(X), ...ADD, ...set(PA));
  // rowOut = out + (i n - i (i + 1) / 2 - i - 1) * 8 (modular i32: i = 0 gives out - 8)
  b.push(...get(I), ...get(N), ...MUL, ...get(I), ...get(I), ...i32(1), ...ADD, ...MUL, ...i32(1), ...SHR_U, ...SUB, ...get(I), ...SUB, ...i32(1), ...SUB);
  b.push(...i32(3), ...SHL, ...get(OUT), ...ADD, ...set(ROWOUT));
  // 4 rows j at a time
  b.push(...BLOCK, ...LOOP);
  b.push(...get(J), ...i32(4), ...ADD, ...get(JE), ...GT_U, ...brIf(1));
  b.push(...get(J), ...get(RB), ...MUL, ...get(X), ...ADD, ...tee(B0), ...get(RB), ...ADD, ...tee(B1), ...get(RB), ...ADD, ...tee(B2), ...get(RB), ...ADD, ...set(B3));
  kLoop([B0, B1, B2, B3]);
  b.push(...get(J), ...i32(4), ...ADD, ...set(J), ...br(0), ...END, ...END);
  // the rest one at a time
  b.push(...BLOCK, ...LOOP);
  b.push(...get(J), ...get(JE), ...GE_U, ...brIf(1));
  b.push(...get(J), ...get(RB), ...MUL, ...get(X), ...ADD, ...set(B0));
  kLoop([B0]);
  b.push(...get(J), ...i32(1), ...ADD, ...set(J), ...br(0), ...END, ...END);
  b.push(...get(I), ...i32(1), ...ADD, ...set(I), ...br(0), ...END, ...END);
  b.push(...get(JE), ...set(JB), ...br(0), ...END, ...END);
  b.push(...get(IE), ...set(IB), ...br(0), ...END, ...END);
  b.push(...END);
  return [...vec([[15, I32], [6, V128]]), ...b];
}

export function pdistModule(shared: boolean): Uint8Array {
  const fns = [rowsFunc(false), rowsFunc(true)];
  const sig = [0x60, ...vec(new Array(8).fill([I32])), 0];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([sig])),
    ...memoryImport(shared),
    ...section(3, vec([[0], [0]])),
    ...section(7, vec([[...str('euclidean'), 0x00, 0], [...str('manhattan'), 0x00, 1]])),
    ...section(10, vec(fns.map((f) => [...uleb(f.length), ...f]))),
  ]);
}

type RowsFn = (x: number, n: number, rowBytes: number, d2: number, i0: number, i1: number, out: number, unused: number) => void;
export interface PdistSimd {
  euclidean: RowsFn;
  manhattan: RowsFn;
  /** True once the helper thread runs (calls then split over two threads). */
  parallel(): boolean;
}

// ctrl words: 0 request sequence, 1 function (0 euclidean, 1 manhattan), 2..9 args, 10 done sequence, 11 ready (1) / failed (-1)
const SEQ = 0, FN = 1, ARGS = 2, DONE = 10, READY = 11;
const WORKER = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, ctrl } = workerData;
const c = new Int32Array(ctrl);
let fns;
try {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  fns = [inst.exports.euclidean, inst.exports.manhattan];
  Atomics.store(c, ${READY}, 1);
} catch (e) {
  Atomics.store(c, ${READY}, -1);
}
let seen = 0;
while (fns) {
  Atomics.wait(c, ${SEQ}, seen);
  seen = Atomics.load(c, ${SEQ});
  fns[c[${FN}]](c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]);
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
`;

interface WA {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

const cache = new WeakMap<WasmMemory, PdistSimd | null>();

/**
 * The kernels on `memory` (a shared memory: a helper worker takes the second share of the rows of
 * each call; calls return when both are done). Null where WebAssembly SIMD is unavailable.
 */
export function createPdistSimd(memory: WasmMemory): PdistSimd | null {
  if (cache.has(memory)) return cache.get(memory)!;
  let k: PdistSimd | null = null;
  try {
    const wa = (globalThis as unknown as { WebAssembly: WA }).WebAssembly;
    const bytes = pdistModule(true);
    const ex = new wa.Instance(new wa.Module(bytes), { env: { memory } }).exports;
    const fns = [ex.euclidean as RowsFn, ex.manhattan as RowsFn];
    const ctrl = new Int32Array(new SharedArrayBuffer(64));
    try {
      const w = new Worker(WORKER, { eval: true, workerData: { memory, bytes, ctrl: ctrl.buffer }, execArgv: [] });
      w.unref();
      w.on('error', () => Atomics.store(ctrl, READY, -1));
    } catch {
      Atomics.store(ctrl, READY, -1);
    }
    let seq = 0;
    const ready = () => Atomics.load(ctrl, READY) === 1;
    const wrap = (idx: number): RowsFn => (x, n, rb, d2, i0, i1, out, u) => {
      const fn = fns[idx]!;
      if (!ready() || i1 - i0 < 32) {
        fn(x, n, rb, d2, i0, i1, out, u);
        return;
      }
      // split [i0, i1) where the pairs (n - 1 - i per row) are half done: rows near the top are longer
      let total = 0;
      for (let i = i0; i < i1; i++) total += n - 1 - i;
      let s = i0;
      for (let acc = 0; s < i1 && acc < total / 2; s++) acc += n - 1 - s;
      const args = [x, n, rb, d2, s, i1, out, u];
      for (let a = 0; a < 8; a++) ctrl[ARGS + a] = args[a]!;
      ctrl[FN] = idx;
      const my = ++seq;
      Atomics.store(ctrl, SEQ, my);
      Atomics.notify(ctrl, SEQ);
      try {
        fn(x, n, rb, d2, i0, s, out, u);
      } finally {
        for (;;) {
          const dn = Atomics.load(ctrl, DONE);
          if (dn === my) break;
          if (Atomics.load(ctrl, READY) === -1) {
            fn(x, n, rb, d2, s, i1, out, u); // the helper died: its share here
            break;
          }
          Atomics.wait(ctrl, DONE, dn, 1000);
        }
      }
    };
    k = { euclidean: wrap(0), manhattan: wrap(1), parallel: ready };
  } catch {
    k = null;
  }
  cache.set(memory, k);
  return k;
}
