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
import type { BatchFn, GemmFn, GemmSimd } from './gemm-simd';
import { type AdaptOptions, PoolGovernor, type SplitSample, defaultAdaptOptions } from './pool-adapt';
import { type MapFn, type MapName, NAMES, NPARAMS, type WinogradSimd, createTranspose, createWinogradSimd, transposeModule, winogradModule } from './winograd-simd';

// ctrl words: 0 request sequence, 1 function (0 nn, 1 nt, 2 nnR, 3 nnRT, 4.. the Winograd
// transforms in winograd-simd.ts's NAMES order, BATCH0 + i: product i over a batch of planes,
// CHUNK0 + i: product i by chunks of row blocks, -1 stop), 2..16 args, 17 done sequence, 18 ready
// (1) / failed (-1), 19 transforms ready (1; the products run without them), 20 the next plane of
// a batch or chunk of rows (both threads take them from it)
const SEQ = 0, FN = 1, ARGS = 2, DONE = ARGS + NPARAMS, READY = DONE + 1, MAPS_READY = READY + 1, NEXT = MAPS_READY + 1;
const MAPS0 = 4, BATCH0 = 100, CHUNK0 = 110;
// pool-calls.ts: FN LIST runs a list of calls into the registered modules' functions (groups of
// entries taken from the counter at word LIST_NEXT); word LIST_READY is 1 once those modules
// instantiated in the helper
export const LIST = 90, LIST_NEXT = NEXT + 1, LIST_READY = NEXT + 2;
// CLAIM: the sequence number of a posted job nobody has taken yet; the helper takes it (-1) before
// starting, or the caller, done with its own share, takes it back (0) and does the rest itself
const CLAIM = NEXT + 3;
// STAGED: a call list of groups in stages (stagedCalls below); GROUPS_DONE counts finished groups,
// and a group starts only once every group of the earlier stages has finished
export const STAGED = 91;
const GROUPS_DONE = NEXT + 4;
/** Entries of a call list: the function's index, then up to 15 arguments. */
export const LIST_ENTRY = 16, LIST_ENTRIES = 4096;

const WORKER = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, maps, mapNames, transpose, ctrl, extras, list } = workerData;
const c = new Int32Array(ctrl);
const L = new Int32Array(list);
let fns;
const xfns = [];
try {
  for (const m of extras) {
    const x = new WebAssembly.Instance(new WebAssembly.Module(m.bytes), { env: { memory } });
    for (const n of m.names) xfns.push(x.exports[n]);
  }
  Atomics.store(c, ${LIST_READY}, 1);
} catch (e) {}
try {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  fns = [inst.exports.nn, inst.exports.nt, inst.exports.nnR, inst.exports.nnRT];
  try {
    const w = new WebAssembly.Instance(new WebAssembly.Module(maps), { env: { memory } });
    for (const n of mapNames) fns.push(w.exports[n]);
    fns.push(new WebAssembly.Instance(new WebAssembly.Module(transpose), { env: { memory } }).exports.transpose);
    Atomics.store(c, ${MAPS_READY}, 1);
  } catch (e) {}
  Atomics.store(c, ${READY}, 1);
} catch (e) {
  Atomics.store(c, ${READY}, -1);
}
let seen = 0;
while (fns) {
  Atomics.wait(c, ${SEQ}, seen);
  seen = Atomics.load(c, ${SEQ});
  // the caller took the job back (it did the work itself while this thread had no core): wait
  // for the next one
  if (Atomics.compareExchange(c, ${CLAIM}, seen, -1) !== seen) continue;
  const f = c[${FN}];
  if (f < 0) break;
  if (f === ${LIST}) {
    // groups of entries (group g: entries L[gs + g] .. L[gs + g + 1]), each group run in order by
    // whichever thread takes it from the counter
    const groups = c[2], gs = c[3];
    for (let g; (g = Atomics.add(c, ${LIST_NEXT}, 1)) < groups; ) {
      for (let e = L[gs + g], end = L[gs + g + 1]; e < end; e++) {
        const o = e * ${LIST_ENTRY};
        xfns[L[o]](L[o + 1], L[o + 2], L[o + 3], L[o + 4], L[o + 5], L[o + 6], L[o + 7], L[o + 8], L[o + 9], L[o + 10], L[o + 11], L[o + 12], L[o + 13], L[o + 14], L[o + 15]);
      }
    }
  } else if (f === ${STAGED}) {
    // groups in stages: group g waits until L[ns + g] groups have finished (the earlier stages);
    // entries index the products (0..3, scratch moved by K * 32 bytes: this thread's strip copy)
    // and the transforms (4..)
    const groups = c[2], gs = c[3], ns = c[4];
    for (let g; (g = Atomics.add(c, ${LIST_NEXT}, 1)) < groups; ) {
      for (let d, spin = 0; (d = Atomics.load(c, ${GROUPS_DONE})) < L[ns + g]; ) if (++spin > 4096) Atomics.wait(c, ${GROUPS_DONE}, d, 1);
      for (let e = L[gs + g], end = L[gs + g + 1]; e < end; e++) {
        const o = e * ${LIST_ENTRY}, fi = L[o];
        if (fi < 4) fns[fi](L[o + 1], L[o + 2], L[o + 3], L[o + 4], L[o + 5], L[o + 6], L[o + 7] + L[o + 5] * 32, L[o + 8], L[o + 9]);
        else fns[fi](L[o + 1], L[o + 2], L[o + 3], L[o + 4], L[o + 5], L[o + 6], L[o + 7], L[o + 8], L[o + 9], L[o + 10], L[o + 11], L[o + 12], L[o + 13], L[o + 14], L[o + 15]);
      }
      Atomics.add(c, ${GROUPS_DONE}, 1);
      Atomics.notify(c, ${GROUPS_DONE});
    }
  } else if (f >= ${CHUNK0}) {
    // args a, b, c, blocks, K, N, scratch, chunk blocks, chunks: chunks of row blocks taken from
    // the shared counter, as the caller does (a row block is K*16 bytes of A, N*16 bytes of C)
    const g = fns[f - ${CHUNK0}];
    const blocks = c[5], K = c[6], N = c[7], cb = c[9];
    for (let i; (i = Atomics.add(c, ${NEXT}, 1)) < c[10]; ) g(c[2] + i * cb * K * 16, c[3], c[4] + i * cb * N * 16, Math.min(cb, blocks - i * cb), K, N, c[8]);
  } else if (f >= ${BATCH0}) {
    // args a, b, c, blocks, K, N, scratch, count, then the three operands' strides per plane;
    // planes taken one at a time from the shared counter, as the caller does
    const g = fns[f - ${BATCH0}];
    for (let i; (i = Atomics.add(c, ${NEXT}, 1)) < c[9]; ) g(c[2] + i * c[10], c[3] + i * c[11], c[4] + i * c[12], c[5], c[6], c[7], c[8]);
  } else fns[f](c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15], c[16]);
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
`;

export interface Pool {
  ctrl: Int32Array;
  seq: number;
  /** Call lists (pool-calls.ts): LIST_ENTRIES entries of LIST_ENTRY words, then group starts. */
  list: Int32Array;
  /** Per registered module, the helper's index of its first function (null: not instantiated there). */
  bases: (number | null)[];
}

/** What one hand-over measured (ms): the caller's own work, its wait, the end; `tookBack`: the caller did the helper's share too. */
export interface HandOverTimes {
  own: number;
  wait: number;
  end: number;
  tookBack: boolean;
}

/**
 * The one hand-over to the helper: wake it for the job already written in `p.ctrl`, run the
 * caller's share (`own`), then wait for the helper's hand-back. A helper that died meanwhile
 * (READY -1) writes nothing more: `helperDied` then makes up its share (or throws). The times
 * (ms: the caller's own work, its wait, the end) feed the load rule; they are only read when
 * `own` returned.
 *
 * With `takeBack`: a helper that has not started by the time the caller's share is done (no core:
 * another process, or a late wake-up) never will; the caller takes the job back (an atomic
 * exchange on the CLAIM word, which the helper makes before it starts) and runs `takeBack`, the
 * helper's share (nothing when both threads drain a shared counter), instead of waiting for it.
 */
export function handOver(p: Pool, own: () => void, helperDied: () => void, takeBack?: () => void): HandOverTimes {
  const seq = ++p.seq;
  Atomics.store(p.ctrl, CLAIM, seq);
  Atomics.store(p.ctrl, SEQ, seq);
  Atomics.notify(p.ctrl, SEQ);
  const t0 = performance.now();
  let t1 = t0;
  let tookBack = false;
  try {
    own();
    t1 = performance.now();
  } finally {
    // taken back: the helper will skip the job (and an error of `own` needs no wait either)
    tookBack = takeBack != null && Atomics.compareExchange(p.ctrl, CLAIM, seq, 0) === seq;
    for (; !tookBack; ) {
      const d = Atomics.load(p.ctrl, DONE);
      if (d === seq) break;
      if (Atomics.load(p.ctrl, READY) === -1) {
        helperDied();
        break;
      }
      Atomics.wait(p.ctrl, DONE, d, 1000);
    }
  }
  if (tookBack) {
    poolStats.tookBack++;
    takeBack!();
    const end = performance.now();
    return { own: end - t0, wait: 0, end, tookBack };
  }
  const end = performance.now();
  return { own: t1 - t0, wait: end - t1, end, tookBack };
}

/** A module the helper instantiates besides the products and transforms (pool-calls.ts). */
export interface PoolModule {
  /** The module's bytes and its exported function names, in the order call lists index them. */
  make: (shared: boolean) => { bytes: Uint8Array; names: string[] };
}
/** Registered before the pool starts (at import time of the kernels that use them). */
export const poolModules: PoolModule[] = [];

const pools = new WeakMap<WasmMemory, Pool | null>();

/**
 * Start (once per memory) the helper thread, synchronously: training steps run without yielding
 * to the event loop, so a pool started asynchronously would never be seen. Null on failure.
 */
function startPool(memory: WasmMemory, bytes: Uint8Array): Pool | null {
  try {
    const ctrl = new Int32Array(new SharedArrayBuffer(128));
    const maps = winogradModule(true);
    // entries, then group starts, then (staged lists) each group's finished-groups prerequisite
    const list = new Int32Array(new SharedArrayBuffer(4 * (LIST_ENTRIES * LIST_ENTRY + 2 * (LIST_ENTRIES + 1))));
    const extras: { bytes: Uint8Array; names: string[] }[] = [];
    const bases: (number | null)[] = [];
    let next = 0;
    for (const m of poolModules) {
      try {
        const made = m.make(true);
        extras.push(made);
        bases.push(next);
        next += made.names.length;
      } catch {
        bases.push(null); // its call lists run on the caller
      }
    }
    const w = new Worker(WORKER, { eval: true, workerData: { memory, bytes, maps, mapNames: NAMES, transpose: transposeModule(true), ctrl: ctrl.buffer, extras, list: list.buffer }, execArgv: [] });
    w.unref();
    w.on('error', () => Atomics.store(ctrl, READY, -1));
    return { ctrl, seq: 0, list, bases };
  } catch {
    return null;
  }
}

/**
 * Under load the helper may not get a core, and two threads are then slower than one. `adaptive`:
 * a PoolGovernor (pool-adapt.ts) measures what splitting bought over windows of products and keeps
 * products on the calling thread while it lost, with hysteresis; on a quiet machine they always
 * split. Results are the same either way (same code, same order per element).
 * ATELIER_POOL_ADAPT=0 always splits. `adapt` is read live (tests and the bench may change it).
 */
export const poolOptions: { adaptive: boolean; adapt: AdaptOptions; chunks: ChunkOptions; takeBack: boolean } = {
  adaptive: process.env.ATELIER_POOL_ADAPT !== '0',
  adapt: { ...defaultAdaptOptions },
  chunks: { enabled: process.env.ATELIER_POOL_CHUNKS !== '0', target: 8, minBlocks: 64, maxBlocks: 64, minChunks: 3 },
  /** A helper that has not started when the caller's share is done: the caller does its share (handOver). ATELIER_POOL_TAKEBACK=0 waits. */
  takeBack: process.env.ATELIER_POOL_TAKEBACK !== '0',
};

/**
 * Products split by chunks of row blocks taken from a counter: about `target` chunks of
 * `minBlocks` to `maxBlocks` row blocks (4 rows each); fewer than `minChunks` chunks: fixed
 * halves (a helper that has not started by the end of the caller's half is still taken back).
 * Each chunk copies the B strips again; nn's row-block chunks of gemmTuning.mchunk = 64 blocks
 * already do, so chunks of 64 cost nothing extra, hence the floor of 64: with 16-block chunks
 * (PatchGAN's 4x4 128 -> 256 layer on 16x16 outputs, 64 blocks, 2 threads, load 3.8) the forward
 * took 7.60 ms CPU per call against 7.30 in halves, its filter gradient 13.56 against 13.33.
 * ATELIER_POOL_CHUNKS=0: halves.
 */
export interface ChunkOptions {
  enabled: boolean;
  target: number;
  minBlocks: number;
  maxBlocks: number;
  minChunks: number;
}

/** Row blocks per chunk for a product of `blocks` row blocks, or 0: split in halves. */
export function chunkBlocks(blocks: number, o: ChunkOptions = poolOptions.chunks): number {
  if (!o.enabled) return 0;
  const cb = Math.min(o.maxBlocks, Math.max(o.minBlocks, Math.ceil(blocks / o.target)));
  return Math.ceil(blocks / cb) >= o.minChunks ? cb : 0;
}
/**
 * What the pool did (the bench and doctor print it): calls split, calls kept on one thread by the
 * load rule, back-offs, and the last measured speedup of splitting (solo estimate / actual).
 */
export const poolStats = { split: 0, solo: 0, backoffs: 0, speedup: null as number | null, chunked: 0, tookBack: 0 };

/** How the products choose their threads (doctor, bench). */
export function poolRule(): string {
  const o = poolOptions.adapt;
  return poolOptions.adaptive
    ? `products split over two threads unless splitting measurably loses (${o.losingWindows} windows in a row slower than one thread: the second core busy elsewhere), then one thread for ${o.soloMs / 1000}-${o.maxSoloMs / 1000} s; ATELIER_POOL_ADAPT=0 always splits`
    : 'products always split over two threads (ATELIER_POOL_ADAPT=0)';
}

/** One line for logs: how products were threaded so far. */
export function describePool(): string {
  if (!poolOptions.adaptive) return `two-thread products: ${poolStats.split} split (always: ATELIER_POOL_ADAPT=0)`;
  const sp = poolStats.speedup == null ? 'not measured yet' : `${poolStats.speedup.toFixed(2)}x`;
  return `two-thread products: ${poolStats.split} split (${poolStats.chunked} by chunks of rows), ${poolStats.solo} kept on one thread while splitting lost (${poolStats.backoffs} back-offs), ${poolStats.tookBack} hand-overs taken back from a helper that had not started; measured speedup of splitting ${sp} (ATELIER_POOL_ADAPT=0 always splits)`;
}

/** Diagnostics: called with every split product's measurement (scripts, never in a step by default). */
export let poolTrace: ((s: SplitSample) => void) | null = null;
export function setPoolTrace(f: ((s: SplitSample) => void) | null) {
  poolTrace = f;
}

/** Whether the last product stayed on one thread by the load rule: the transforms follow it (pooledMaps). */
let productsSolo = false;
/** The running pool of a shared heap (null: none), and whether the load rule keeps work on one thread now (pool-calls.ts). */
export function poolOf(memory: WasmMemory | undefined): Pool | null {
  return memory != null && isSharedMemory(memory) ? (pools.get(memory) ?? null) : null;
}
export const keepSolo = (): boolean => poolOptions.adaptive && productsSolo;
export const POOL_WORDS = { SEQ, FN, ARGS, DONE, READY, CLAIM };

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
  const governor = new PoolGovernor(poolOptions.adapt);
  const wrap = (fn: GemmFn, idx: number, split: Split): GemmFn => (a, b, c, blocks, k, n, scratch, lda, ldn) => {
    // column ranges in place (lda / ldn, stride2-winograd.ts's phase blocks): whole on the caller
    // (the splits below assume rows of K and N floats); the staged lists share them out by products
    if (lda || ldn) {
      fn(a, b, c, blocks, k, n, scratch, lda, ldn);
      return;
    }
    if (blocks < minBlocks || !ready()) {
      fn(a, b, c, blocks, k, n, scratch);
      return;
    }
    if (poolOptions.adaptive && !governor.split(performance.now())) {
      poolStats.solo++;
      productsSolo = true;
      fn(a, b, c, blocks, k, n, scratch);
      return;
    }
    poolStats.split++;
    productsSolo = false;
    const p = pool!;
    const cb = chunkBlocks(blocks);
    if (cb > 0) {
      // Chunks of row blocks from a shared counter: a helper slowed or delayed (its core shared
      // with other work) takes fewer, instead of the caller waiting for a fixed half.
      poolStats.chunked++;
      const chunks = Math.ceil(blocks / cb);
      const args = [a, b, c, blocks, k, n, (scratch ?? 0) + k * 32, cb, chunks];
      for (let i = 0; i < args.length; i++) p.ctrl[ARGS + i] = args[i]!;
      p.ctrl[FN] = CHUNK0 + idx;
      Atomics.store(p.ctrl, NEXT, 0);
      let own = 0;
      const t = handOver(
        p,
        () => {
          for (let i; (i = Atomics.add(p.ctrl, NEXT, 1)) < chunks; ) {
            const nb = Math.min(cb, blocks - i * cb);
            fn(a + i * cb * k * 16, b, c + i * cb * n * 16, nb, k, n, scratch);
            own += nb;
          }
        },
        // the helper died: a chunk it was computing is lost with it; redo every chunk (same results)
        () => fn(a, b, c, blocks, k, n, scratch),
        poolOptions.takeBack ? () => undefined : undefined,
      );
      observe(t, Math.max(own, 1), blocks - own);
      return;
    }
    // The caller takes the larger half: the helper starts later (its wake-up).
    const h = blocks - (blocks >> 1);
    const second = split([a, b, c, blocks, k, n, scratch ?? 0], h);
    // the helper passes 15 words: lda and ldn (words 7, 8) must read 0 here, not an earlier job's
    for (let i = 0; i < 9; i++) p.ctrl[ARGS + i] = second[i] ?? 0;
    p.ctrl[FN] = idx;
    const helperHalf = () => fn(second[0]!, second[1]!, second[2]!, second[3]!, second[4]!, second[5]!, second[6]!);
    const t = handOver(
      p,
      () => fn(a, b, c, h, k, n, scratch),
      // The helper died: compute its half here (it writes nothing else).
      helperHalf,
      // not started by the end of the caller's half: the caller computes it
      poolOptions.takeBack ? helperHalf : undefined,
    );
    if (t.tookBack) observe(t, blocks, 0);
    else observe(t, h, blocks - h);
  };
  /** What splitting bought, for the load rule. */
  const observe = (t: { own: number; wait: number; end: number }, ownBlocks: number, helperBlocks: number) => {
    if (!poolOptions.adaptive) return;
    const sample = { own: t.own, wait: t.wait, ownBlocks, helperBlocks };
    poolTrace?.(sample);
    const before = governor.backoffs;
    governor.observe(sample, t.end);
    poolStats.backoffs += governor.backoffs - before;
    poolStats.speedup = governor.lastSpeedup;
  };
  const products = {
    nn: wrap(g.nn, 0, splitNn),
    nt: wrap(g.nt, 1, splitNt),
    nnR: wrap(g.nnR, 2, splitNn), // row-major A: the second half starts h*4 rows of K floats on, as nn
    nnRT: wrap(g.nnRT, 3, splitNn),
  };
  const index = { nn: 0, nt: 1, nnR: 2, nnRT: 3 } as const;
  /**
   * `count` independent products of one shape (Winograd's 16 or 36 planes) shared out by planes,
   * not rows: one hand-over per batch instead of one per product (each was a wake-up and a wait
   * for the slower half), and each thread streams only its planes' B (the transformed filter: 9.4
   * MB at 3x3x256x256 F(4x4), which both threads read whole when every product was split by rows).
   * Both threads take the next plane from a shared counter, so a helper that starts late or loses
   * its core leaves its planes to the caller instead of making it wait.
   */
  const batch: BatchFn = (name, count, sa, sb, sc, a, b, c, blocks, k, n, scratch) => {
    const fn = g[name];
    if (count < 2 || !ready()) {
      for (let i = 0; i < count; i++) products[name](a + i * sa, b + i * sb, c + i * sc, blocks, k, n, scratch);
      return;
    }
    if (poolOptions.adaptive && !governor.split(performance.now())) {
      poolStats.solo++;
      productsSolo = true;
      for (let i = 0; i < count; i++) fn(a + i * sa, b + i * sb, c + i * sc, blocks, k, n, scratch);
      return;
    }
    poolStats.split++;
    productsSolo = false;
    const p = pool!;
    const args = [a, b, c, blocks, k, n, (scratch ?? 0) + k * 32, count, sa, sb, sc];
    for (let i = 0; i < args.length; i++) p.ctrl[ARGS + i] = args[i]!;
    p.ctrl[FN] = BATCH0 + index[name];
    Atomics.store(p.ctrl, NEXT, 0);
    let own = 0;
    const t = handOver(
      p,
      () => {
        for (let i; (i = Atomics.add(p.ctrl, NEXT, 1)) < count; own++) fn(a + i * sa, b + i * sb, c + i * sc, blocks, k, n, scratch);
      },
      // the helper died: the planes it had not taken are taken here; one it was computing is
      // lost with it, so redo every plane (they are independent: same results)
      () => {
        for (let i = 0; i < count; i++) fn(a + i * sa, b + i * sb, c + i * sc, blocks, k, n, scratch);
      },
      // taken back: the caller drained the counter, nothing is left
      poolOptions.takeBack ? () => undefined : undefined,
    );
    // the caller's rate over all planes against own + wait (a caller that took every plane, the
    // helper without a core, still waited for its hand-back)
    observe(t, Math.max(own, 1), count - own);
  };
  const maps = memory != null && pool ? createWinogradSimd(memory) : null;
  const transpose = memory != null && pool ? createTranspose(memory) : null;
  if (pool && maps && transpose) stagedRunners.set(memory!, stagedRun(pool, g, maps, transpose, ready, governor, observe));
  return { ...products, batch, fma: g.fma, parallel: ready };
}

/**
 * A group of a staged call list: its calls run in order on one thread, each [function, ...args]
 * (functions: STAGED_FN); `stage`: groups of a stage start only once every group of the earlier
 * stages has finished (groups must come in stage order); `weight`: its share of the work in any
 * unit, for the load rule.
 */
export interface StagedGroup {
  stage: number;
  calls: number[][];
  weight: number;
}
/** Function numbers of staged calls: the products, the Winograd transforms in NAMES order, the SIMD transposition. */
export const STAGED_FN = { nn: 0, nt: 1, nnR: 2, nnRT: 3, map: (n: MapName): number => 4 + NAMES.indexOf(n), transpose: 4 + NAMES.length };
export type StagedRun = (groups: StagedGroup[]) => void;
/** Staged lists run split and whole (tests check which path ran). */
export const stagedStats = { split: 0, whole: 0 };
const stagedRunners = new WeakMap<WasmMemory, StagedRun>();
/** The staged-list runner of a shared heap whose pool runs (null: none; callers keep their per-phase hand-overs). */
export function stagedRunner(memory: WasmMemory | undefined): StagedRun | null {
  return memory != null ? (stagedRunners.get(memory) ?? null) : null;
}

/**
 * A whole Winograd call (transforms, products, transforms) as one hand-over: both threads take
 * groups from a counter, stage after stage (a thread that finds the next stage's prerequisites
 * unfinished spins briefly, then sleeps until a group finishes), instead of one hand-over per
 * phase, each paying the helper's wake-up and a fixed half's imbalance. The helper's products use
 * the second half of their scratch, as in `batch`. Every output is computed by the same call as on
 * one thread: the same bits. A helper that has not started when the caller ran out of groups is
 * taken back as elsewhere; one that died: every group again here (they overwrite their outputs).
 */
function stagedRun(pool: Pool, g: GemmSimd, maps: WinogradSimd, transpose: (...a: number[]) => void, ready: () => boolean, governor: PoolGovernor, observe: (t: HandOverTimes, own: number, helper: number) => void): StagedRun {
  const raw = [g.nn, g.nt, g.nnR, g.nnRT, ...NAMES.map((n) => maps[n]), transpose] as unknown as ((...a: number[]) => void)[];
  const runCall = (c: number[]) => raw[c[0]!]!(c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!, c[14]!, c[15]!);
  const whole = (groups: StagedGroup[]) => {
    stagedStats.whole++;
    for (const gr of groups) for (const call of gr.calls) runCall(call);
  };
  return (groups) => {
    let entries = 0, total = 0;
    for (const gr of groups) {
      entries += gr.calls.length;
      total += gr.weight;
    }
    if (groups.length < 2 || entries > LIST_ENTRIES || groups.length > LIST_ENTRIES || !ready() || Atomics.load(pool.ctrl, MAPS_READY) !== 1) return whole(groups);
    if (poolOptions.adaptive && !governor.split(performance.now())) {
      poolStats.solo++;
      productsSolo = true;
      return whole(groups);
    }
    poolStats.split++;
    productsSolo = false;
    stagedStats.split++;
    const L = pool.list, c = pool.ctrl, n = groups.length;
    const gs = LIST_ENTRIES * LIST_ENTRY, ns = gs + LIST_ENTRIES + 1;
    for (let i = 0, e = 0, need = 0; i <= n; i++) {
      L[gs + i] = e;
      if (i === n) break;
      const gr = groups[i]!;
      if (i > 0 && gr.stage !== groups[i - 1]!.stage) need = i;
      L[ns + i] = need;
      for (const call of gr.calls) {
        const o = e++ * LIST_ENTRY;
        for (let j = 0; j < LIST_ENTRY; j++) L[o + j] = call[j] ?? 0;
      }
    }
    c[ARGS] = n;
    c[ARGS + 1] = gs;
    c[ARGS + 2] = ns;
    c[FN] = STAGED;
    Atomics.store(c, LIST_NEXT, 0);
    Atomics.store(c, GROUPS_DONE, 0);
    let own = 0, died = false, blocked = 0;
    const t = handOver(
      pool,
      () => {
        for (let i; (i = Atomics.add(c, LIST_NEXT, 1)) < n; ) {
          if (Atomics.load(c, GROUPS_DONE) < L[ns + i]!) {
            // waiting for the helper's groups of the earlier stage: for the load rule this is
            // waiting, not the caller's own work
            const b0 = performance.now();
            for (let d, spin = 0; (d = Atomics.load(c, GROUPS_DONE)) < L[ns + i]!; ) {
              if (++spin <= 4096) continue;
              if (Atomics.load(c, READY) === -1) return void (died = true);
              Atomics.wait(c, GROUPS_DONE, d, 1);
            }
            blocked += performance.now() - b0;
          }
          for (const call of groups[i]!.calls) runCall(call);
          own += groups[i]!.weight;
          Atomics.add(c, GROUPS_DONE, 1);
          Atomics.notify(c, GROUPS_DONE);
        }
      },
      () => (died = true),
      // taken back: the caller drained the counter, nothing is left
      poolOptions.takeBack ? () => undefined : undefined,
    );
    if (died) return whole(groups);
    // a caller that took no group (it lost its core to the woken helper right after the wake-up)
    // measured the whole list's time as its own: a sample of no speedup, not an infinite one
    const ts = { ...t, own: t.own - blocked, wait: t.wait + blocked };
    if (own === 0) observe(ts, total, 0);
    else observe(ts, own, total - own);
  };
}

/**
 * Minimum map iterations (tiles x channel vectors) for a transform call to be split: below it the
 * helper's wake-up (~5-20 us) costs more than half the call.
 */
export const transformPoolOptions = { minIterations: 512 };
/** Transform calls split and kept whole (tests check the split path was taken). */
export const transformPoolStats = { split: 0, whole: 0 };

/**
 * The Winograd transforms on two threads when the heap is shared and the pool runs: each call is
 * split by rows of tiles, else by tiles, else by channel vectors (disjoint outputs, the same code
 * per element: bit-identical to one thread). They follow the products' load rule: while products
 * stay on one thread (the helper had no core), so do the transforms.
 */
export function pooledMaps(maps: WinogradSimd, memory: WasmMemory | undefined): WinogradSimd {
  const pool = memory != null && isSharedMemory(memory) ? (pools.get(memory) ?? null) : null;
  if (!pool) return maps;
  const wrap = (fn: MapFn, idx: number): MapFn => (...args) => {
    const [src, dst, n, c4, , , , , sOuter, dOuter, sInner, dInner, rows, sRow, dRow] = args;
    if (rows * n * c4 < transformPoolOptions.minIterations || Atomics.load(pool.ctrl, MAPS_READY) !== 1 || (poolOptions.adaptive && productsSolo)) {
      transformPoolStats.whole++;
      fn(...args);
      return;
    }
    transformPoolStats.split++;
    // the caller takes the larger half (the helper starts later)
    const own = args.slice() as Parameters<MapFn>;
    const second = args.slice() as Parameters<MapFn>;
    if (rows >= 2) {
      const h = rows - (rows >> 1);
      own[12] = h;
      Object.assign(second, { 0: src + h * sRow, 1: dst + h * dRow, 12: rows - h });
    } else if (n >= 2) {
      const h = n - (n >> 1);
      own[2] = h;
      Object.assign(second, { 0: src + h * sOuter, 1: dst + h * dOuter, 2: n - h });
    } else {
      const h = c4 - (c4 >> 1);
      own[3] = h;
      Object.assign(second, { 0: src + h * sInner, 1: dst + h * dInner, 3: c4 - h });
    }
    const p = pool;
    for (let i = 0; i < NPARAMS; i++) p.ctrl[ARGS + i] = second[i]!;
    p.ctrl[FN] = MAPS0 + idx;
    // the helper died: its half here (it writes nothing else)
    handOver(p, () => fn(...own), () => fn(...second), poolOptions.takeBack ? () => fn(...second) : undefined);
  };
  return Object.fromEntries(NAMES.map((nm, i) => [nm, wrap(maps[nm], i)])) as WinogradSimd;
}
