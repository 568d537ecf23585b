/**
 * Runs gemm-simd.ts's products on two threads when the backend's heap is a shared memory (tfjs's
 * threaded build): one helper worker instantiates the same module on the same memory, and each
 * call is split by row blocks (disjoint output rows; every element is computed by the same code
 * in the same order, so results are bit-identical to one thread). The helper waits on an Atomics
 * word; the caller computes its half, then waits for the helper's. Until the helper is ready, or
 * if it cannot start, everything runs on the calling thread.
 */
import { Worker } from 'node:worker_threads';
import { type WasmMemory, isSharedMemory } from './wasm-asm';
import type { GemmFn, GemmSimd } from './gemm-simd';

// ctrl words: 0 request sequence, 1 function (0 nn, 1 nt, 2 nnR, 3 nnRT, -1 stop), 2..8 args,
// 9 done sequence, 10 ready (1) / failed (-1)
const SEQ = 0, FN = 1, ARGS = 2, DONE = 9, READY = 10;

const WORKER = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, ctrl } = workerData;
const c = new Int32Array(ctrl);
let fns;
try {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  fns = [inst.exports.nn, inst.exports.nt, inst.exports.nnR, inst.exports.nnRT];
  Atomics.store(c, ${READY}, 1);
} catch (e) {
  Atomics.store(c, ${READY}, -1);
}
let seen = 0;
while (fns) {
  Atomics.wait(c, ${SEQ}, seen);
  seen = Atomics.load(c, ${SEQ});
  const f = c[${FN}];
  if (f < 0) break;
  fns[f](c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
`;

interface Pool {
  ctrl: Int32Array;
  seq: number;
}

const pools = new WeakMap<WasmMemory, Pool | null>();

/**
 * Start (once per memory) the helper thread, synchronously: training steps run without yielding
 * to the event loop, so a pool started asynchronously would never be seen. Null on failure.
 */
function startPool(memory: WasmMemory, bytes: Uint8Array): Pool | null {
  try {
    const ctrl = new Int32Array(new SharedArrayBuffer(64));
    const w = new Worker(WORKER, { eval: true, workerData: { memory, bytes, ctrl: ctrl.buffer }, execArgv: [] });
    w.unref();
    w.on('error', () => Atomics.store(ctrl, READY, -1));
    return { ctrl, seq: 0 };
  } catch {
    return null;
  }
}

/**
 * Under load the helper may not get a core: the caller then waits for the helper's half longer
 * than it took to compute its own, and two threads are slower than one. `adaptive`: when the
 * wait, averaged over recent calls, exceeds `maxWaitRatio` of the caller's own time, calls run on
 * the calling thread alone for `soloMs`, then two threads are tried again. On a quiet machine the
 * halves finish together and nothing changes. Results are the same either way (same code, same
 * order per element). ATELIER_POOL_ADAPT=0 turns it off.
 */
export const poolOptions = {
  adaptive: process.env.ATELIER_POOL_ADAPT !== '0',
  maxWaitRatio: 0.75,
  soloMs: 2000,
  /** Calls shorter than this (ms) on the caller's side do not count (timer resolution). */
  minOwnMs: 0.05,
};
/** What the pool did (the bench prints it): calls split, calls kept on one thread by the load rule, back-offs. */
export const poolStats = { split: 0, solo: 0, backoffs: 0 };

/** Split one call by row blocks: [a, c] offsets of the second half. */
type Split = (args: number[], half: number) => number[];

const splitNn: Split = ([a, b, c, blocks, K, N, scratch], h) => [a! + h * K! * 16, b!, c! + h * 4 * N! * 4, blocks! - h, K!, N!, scratch! + K! * 32];
const splitNt: Split = ([a, w, c, blocks, K, M, s], h) => [a! + h * 4 * K! * 4, w!, c! + h * M! * 16, blocks! - h, K!, M!, s ?? 0];

/**
 * Two-thread versions of `g` on a shared memory (nn then needs 2*K*32 bytes of scratch), or `g`
 * itself. `minBlocks`: calls with fewer row blocks stay on one thread.
 */
export function pooled(g: GemmSimd, memory: WasmMemory | undefined, bytes: Uint8Array, minBlocks = 2): GemmSimd {
  const shared = memory != null && isSharedMemory(memory);
  let pool: Pool | null = null;
  if (shared) {
    if (!pools.has(memory)) pools.set(memory, startPool(memory, bytes));
    pool = pools.get(memory) ?? null;
  }
  const ready = () => pool != null && Atomics.load(pool.ctrl, READY) === 1;
  // load rule state: running average of wait / own time, and "one thread until"
  let waitRatio = 0;
  let soloUntil = 0;
  const wrap = (fn: GemmFn, idx: number, split: Split): GemmFn => (a, b, c, blocks, k, n, scratch) => {
    if (blocks < minBlocks || !ready()) {
      fn(a, b, c, blocks, k, n, scratch);
      return;
    }
    if (poolOptions.adaptive && soloUntil > 0) {
      if (performance.now() < soloUntil) {
        poolStats.solo++;
        fn(a, b, c, blocks, k, n, scratch);
        return;
      }
      soloUntil = 0;
    }
    poolStats.split++;
    const p = pool!;
    const h = blocks >> 1;
    const second = split([a, b, c, blocks, k, n, scratch ?? 0], h);
    for (let i = 0; i < 7; i++) p.ctrl[ARGS + i] = second[i]!;
    p.ctrl[FN] = idx;
    const seq = ++p.seq;
    Atomics.store(p.ctrl, SEQ, seq);
    Atomics.notify(p.ctrl, SEQ);
    const t0 = performance.now();
    let t1 = t0;
    try {
      fn(a, b, c, h, k, n, scratch);
      t1 = performance.now();
    } finally {
      for (;;) {
        const d = Atomics.load(p.ctrl, DONE);
        if (d === seq) break;
        if (Atomics.load(p.ctrl, READY) === -1) {
          // The helper died: compute its half here (it writes nothing else).
          fn(second[0]!, second[1]!, second[2]!, second[3]!, second[4]!, second[5]!, second[6]!);
          break;
        }
        Atomics.wait(p.ctrl, DONE, d, 1000);
      }
    }
    const own = t1 - t0;
    if (poolOptions.adaptive && own >= poolOptions.minOwnMs) {
      waitRatio = 0.8 * waitRatio + 0.2 * ((performance.now() - t1) / own);
      if (waitRatio > poolOptions.maxWaitRatio) {
        soloUntil = performance.now() + poolOptions.soloMs;
        waitRatio = 0;
        poolStats.backoffs++;
      }
    }
  };
  return {
    nn: wrap(g.nn, 0, splitNn),
    nt: wrap(g.nt, 1, splitNt),
    nnR: wrap(g.nnR, 2, splitNn), // row-major A: the second half starts h*4 rows of K floats on, as nn
    nnRT: wrap(g.nnRT, 3, splitNn),
    fma: g.fma,
    parallel: ready,
  };
}
