/**
 * Multi-threaded tfjs-backend-wasm in Node (XNNPACK's pthreadpool on node:worker_threads).
 *
 * Why the stock package runs one thread in Node (tfjs-backend-wasm 4.22, read from its dist and
 * wasm-out files; measurements in README.md):
 *  1. flags_wasm.js: WASM_HAS_MULTITHREAD_SUPPORT returns false whenever IS_NODE, so init() loads
 *     tfjs-backend-wasm-simd.wasm (no threads at all).
 *  2. Forcing the flag, init() hands emscripten a `locateFile` that turns the pthread worker script
 *     into a `blob:` URL and a `mainScriptUrlOrBlob` that is a Blob; node:worker_threads refuses
 *     blob: URLs and the worker's importScripts reads files with fs, so neither loads.
 *  3. Even with both mapped to real files, the pool is capped at ONE thread on a 2-core machine:
 *     backend.cc computes `num_cores = emscripten_num_logical_cores() / 2` (it assumes two
 *     hyper-threads per core) in a static initialiser, and init_with_threads_count(n) uses
 *     min(max(n,1), 8, num_cores). In Node emscripten_num_logical_cores() is os.cpus().length,
 *     so 2 cpus -> num_cores = 1 -> pthreadpool_create(1), whatever setThreadsCount says.
 *     (This is why "it initialises but still reports 1 thread".)
 *
 * What this module does instead of tfjs's init() (the rest of the backend is the package's own
 * BackendWasm, kernels and all):
 *  - instantiates wasm-out/tfjs-backend-wasm-threaded-simd.js's factory itself, with
 *    `locateFile(worker.js)` = a data: URL bootstrap (ESM) that gives the emscripten worker the
 *    CommonJS globals it expects and evals the package's own worker source, and
 *    `mainScriptUrlOrBlob` = the absolute path of the threaded .js file;
 *  - `instantiateWasm` wraps the import `emscripten_num_logical_cores` to answer 2 x the wanted
 *    thread count, so backend.cc's `/ 2` yields exactly that count;
 *  - after init: unrefs the worker running the pool thread (emscripten ref()s it, which would
 *    keep the process alive) and terminates the idle pre-spawned workers (PTHREAD_POOL_SIZE = 8).
 * If anything fails or times out it falls back to the stock single-threaded factory.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAdamSimd } from '../kernels/adam-simd';

const nodeRequire = createRequire(import.meta.url);

type WasmPkg = typeof import('@tensorflow/tfjs-backend-wasm');

interface EmWorker {
  ref?: () => void;
  unref?: () => void;
  terminate: () => unknown;
}
interface EmPThread {
  unusedWorkers: EmWorker[];
  runningWorkers: EmWorker[];
  terminateAllThreads: () => void;
}
interface EmModule {
  PThread?: EmPThread;
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: unknown[]) => unknown;
  tfjs?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface WasmThreadsState {
  /** Threads asked for (1 = single-threaded stock path). */
  requested: number;
  /** XNNPACK pool size reported by the backend after init (getThreadsCount()), or null before. */
  actual: number | null;
  /** True when the threaded binary is running. */
  threaded: boolean;
  /** Why (for doctor / logs). */
  reason: string;
}

const state: WasmThreadsState = { requested: 1, actual: null, threaded: false, reason: 'not initialised' };
let installed = false;
let activeModule: EmModule | null = null;

export function wasmThreadsState(): WasmThreadsState {
  return { ...state };
}

/**
 * Whether FusedAdam (kernels/fused-adam.ts, used by every model's optimizer) can run its SIMD
 * update on a SHARED heap, as the threaded build has. Its hand-assembled module declares a
 * memory import that must match the heap's sharing; where it could not, FusedAdam fell back to its
 * scalar JS loop: measured +40-60% per pix2pix step, more than the pool gains. adam-simd imports a
 * shared memory when the heap is shared, so this is true; the probe (a throwaway shared memory of
 * the threaded build's maximum) keeps the default below at 1 thread should that ever regress.
 */
export function fusedAdamWorksOnSharedHeap(): boolean {
  try {
    const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer } } }).WebAssembly;
    const mem = new WA.Memory({ initial: 1, maximum: 65536, shared: true });
    return createAdamSimd(mem) != null;
  } catch {
    return false;
  }
}

/**
 * Threads to ask for: ATELIER_WASM_THREADS=n (>=1) if set (1 = the stock single-threaded path,
 * more is capped at 8, the emscripten pool size). Otherwise min(2, cpus), except
 *  - under vitest (VITEST set): 1, since the unit project runs two test files at once on this
 *    2-core machine and a 2-thread pool per file would oversubscribe it;
 *  - while FusedAdam cannot use the shared heap (see fusedAdamWorksOnSharedHeap): 1, since
 *    training would get slower, not faster.
 */
export function wantedWasmThreads(
  env: NodeJS.ProcessEnv = process.env,
  cpus = os.cpus().length,
  sharedHeapOk: () => boolean = fusedAdamWorksOnSharedHeap,
): { threads: number; why: string } {
  const raw = (env.ATELIER_WASM_THREADS ?? '').trim();
  const auto = Math.max(1, Math.min(2, cpus));
  if (raw) {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1) return { threads: Math.min(n, 8), why: `ATELIER_WASM_THREADS=${raw}` };
    console.warn(`[atelier] ATELIER_WASM_THREADS="${raw}" is not a positive integer; ignored`);
  }
  if (env.VITEST) return { threads: 1, why: 'under vitest (set ATELIER_WASM_THREADS to change)' };
  if (auto > 1 && !sharedHeapOk()) return { threads: 1, why: 'FusedAdam cannot use the shared heap yet (set ATELIER_WASM_THREADS=2 to force)' };
  return { threads: auto, why: `default min(2, ${cpus} cpus)` };
}

function wasmPackageDir(): string {
  return path.dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

/** The WebAssembly global (the node tsconfig has no DOM lib, so no WebAssembly types). */
const WASM = (globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }> };
}).WebAssembly;

const BOOT_FAIL = 'ATELIER_WASM_THREAD_BOOT_FAILED';

/** The ESM bootstrap each emscripten pthread worker runs (node:worker_threads, data: URL). */
function workerBootstrapUrl(workerJs: string): URL {
  const src = [
    `import { createRequire } from 'node:module';`,
    `const file = ${JSON.stringify(workerJs)};`,
    `const req = createRequire(file);`,
    // The emscripten worker source is written for CommonJS: give it require and __filename.
    `globalThis.require = req;`,
    `globalThis.__filename = file;`,
    `globalThis.__dirname = ${JSON.stringify(path.dirname(workerJs))};`,
    `const { parentPort } = req('node:worker_threads');`,
    `const fail = (e) => parentPort.postMessage({ cmd: 'printErr', text: ${JSON.stringify(BOOT_FAIL)} + ' ' + String(e && e.stack || e) });`,
    `try {`,
    // Like tfjs's init(): the template literal turned the source's "\\n" escapes into newlines.
    `  const { wasmWorkerContents } = req(file);`,
    `  (0, eval)(wasmWorkerContents.replace(/\\n/g, '\\\\n'));`,
    // A failure while loading would otherwise be an uncaught 'error' event that emscripten
    // rethrows on the main thread (killing the process): report it so the caller falls back.
    `  const onmessage = globalThis.onmessage;`,
    `  globalThis.onmessage = (e) => {`,
    `    if (e && e.data && e.data.cmd === 'load') { try { onmessage(e); } catch (err) { fail(err); } }`,
    `    else onmessage(e);`,
    `  };`,
    `} catch (e) { fail(e); }`,
  ].join('\n');
  return new URL('data:text/javascript,' + encodeURIComponent(src));
}

const CWRAPS = (m: EmModule): Record<string, unknown> => ({
  init: m.cwrap('init', null, []),
  initWithThreadsCount: m.cwrap('init_with_threads_count', null, ['number']),
  getThreadsCount: m.cwrap('get_threads_count', 'number', []),
  registerTensor: m.cwrap('register_tensor', null, ['number', 'number', 'number']),
  disposeData: m.cwrap('dispose_data', null, ['number']),
  dispose: m.cwrap('dispose', null, []),
});

/** Instantiate the threaded-SIMD emscripten module in Node with `threads` logical cores visible. */
async function initThreadedModule(threads: number, timeoutMs: number): Promise<EmModule> {
  const pkg = wasmPackageDir();
  const mainJs = path.join(pkg, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const workerJs = path.join(pkg, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js');
  const wasmFile = path.join(pkg, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm');
  for (const f of [mainJs, workerJs, wasmFile]) if (!fs.existsSync(f)) throw new Error(`missing ${f}`);
  const factory = nodeRequire(mainJs) as (cfg: Record<string, unknown>) => Promise<EmModule>;
  const bytes = fs.readFileSync(wasmFile);

  const cfg: Record<string, unknown> = {
    locateFile: (p: string, prefix: string) => {
      if (p.endsWith('.worker.js')) return workerBootstrapUrl(workerJs);
      if (p.endsWith('.wasm')) return wasmFile;
      return prefix + p;
    },
    mainScriptUrlOrBlob: mainJs,
    instantiateWasm: (info: Record<string, Record<string, unknown>>, receive: (instance: unknown, module: unknown) => void) => {
      const env = info.env!;
      // backend.cc: num_cores = emscripten_num_logical_cores() / 2, pool = min(n, 8, num_cores).
      env.emscripten_num_logical_cores = () => threads * 2;
      WASM.instantiate(bytes, info)
        .then((r) => receive(r.instance, r.module))
        .catch((e: unknown) => onFail(e));
      return {};
    },
    print: (s: string) => console.log(s),
    printErr: (s: string) => {
      if (s.includes(BOOT_FAIL)) onFail(new Error(`pthread worker failed to load: ${s.slice(s.indexOf(BOOT_FAIL) + BOOT_FAIL.length).trim().split('\n')[0]}`));
      else console.warn(`[wasm] ${s}`);
    },
  };
  let onFail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    onFail = reject;
    cfg.onAbort = (what: unknown) => reject(new Error(`threaded wasm aborted: ${String(what)}`));
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`threaded wasm did not start within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  // emscripten reads require('worker_threads').Worker into global.Worker and creates its
  // PTHREAD_POOL_SIZE workers synchronously inside factory(): for just that call, hand it a Worker
  // that does not inherit this process's execArgv (e.g. `--import tsx`, which would start a
  // loader in each of the 8 workers). Restored right after; the pool never spawns more workers.
  const wt = nodeRequire('node:worker_threads') as typeof import('node:worker_threads');
  const NodeWorker = wt.Worker;
  const hadGlobalWorker = Object.prototype.hasOwnProperty.call(globalThis, 'Worker');
  const prevGlobalWorker = (globalThis as Record<string, unknown>).Worker;
  class PoolWorker extends NodeWorker {
    constructor(file: string | URL, options: import('node:worker_threads').WorkerOptions = {}) {
      super(file, { ...options, execArgv: [] });
    }
  }
  let ready: Promise<EmModule>;
  try {
    (wt as { Worker: unknown }).Worker = PoolWorker;
    ready = factory(cfg);
    ready.catch(() => {}); // a late rejection after a timeout/fallback must not go unhandled
  } finally {
    (wt as { Worker: unknown }).Worker = NodeWorker;
  }
  try {
    const m = await Promise.race([ready, failed, timeout]);
    // emscripten's factory promise resolves with the module object that is `cfg`.
    m.tfjs = CWRAPS(m);
    return m;
  } catch (e) {
    try {
      (cfg as EmModule).PThread?.terminateAllThreads();
    } catch {
      /* best effort */
    }
    throw e;
  } finally {
    if (timer) clearTimeout(timer);
    if (hadGlobalWorker) (globalThis as Record<string, unknown>).Worker = prevGlobalWorker;
    else delete (globalThis as Record<string, unknown>).Worker;
  }
}

/**
 * The single-threaded build EXPORTS its memory (Module.asm.memory); the threaded one IMPORTS a
 * shared memory (Module.wasmMemory) and its exports have none. Code that finds the heap through
 * `backend.wasm.asm.memory` (kernels/fused-adam.ts) would then see nothing: expose it there too.
 * (The exports object is frozen: replace it by a copy with the same function references.)
 */
function exposeMemory(m: EmModule): void {
  const asm = m.asm as Record<string, unknown> | undefined;
  if (asm && !asm.memory && m.wasmMemory) m.asm = { ...asm, memory: m.wasmMemory };
}

/** After BackendWasm created the pool: unref its workers (process exit) and drop idle ones. */
function settleWorkers(m: EmModule): void {
  const pt = m.PThread;
  if (!pt) return;
  for (const w of pt.runningWorkers) w.unref?.();
  for (const w of pt.unusedWorkers) void w.terminate();
  pt.unusedWorkers = [];
}

/**
 * Replace the 'wasm' backend factory with one that starts the threaded build (before the first
 * `tf.setBackend('wasm')`). `threads` <= 1 leaves the stock factory alone. Idempotent.
 * Returns false if the wasm backend was already initialised (then nothing changes).
 */
export function installWasmThreads(
  wasm: WasmPkg,
  want: number | { threads: number; why: string },
  opts: { timeoutMs?: number } = {},
): boolean {
  const threads = typeof want === 'number' ? want : want.threads;
  const why = typeof want === 'number' ? 'requested' : want.why;
  state.requested = Math.max(1, Math.floor(threads));
  if (installed) return true;
  if (state.requested <= 1) {
    state.reason = `single thread (${why})`;
    wasm.setThreadsCount(1);
    return true;
  }
  const engine = tf.engine() as unknown as { registry: Record<string, unknown> };
  if (engine.registry['wasm']) return false; // already initialised: too late
  const stock = tf.findBackendFactory('wasm');
  if (!stock) return false;
  const timeoutMs = opts.timeoutMs ?? 20_000; // init takes 0.7 s here, ~4 s under heavy load
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      try {
        const m = await initThreadedModule(state.requested, timeoutMs);
        wasm.setThreadsCount(state.requested);
        const backend = new wasm.BackendWasm(m as never);
        settleWorkers(m);
        exposeMemory(m);
        activeModule = m;
        state.actual = wasm.getThreadsCount();
        state.threaded = true;
        state.reason = `threaded SIMD build, ${state.actual} threads (${why})`;
        return backend;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        console.warn(`[atelier] multi-threaded wasm failed (${msg.split('\n')[0]}); using one thread`);
        wasm.setThreadsCount(1);
        const b = (await stock()) as tf.KernelBackend;
        state.actual = wasm.getThreadsCount();
        state.threaded = false;
        state.reason = `threaded build failed (${msg.split('\n')[0]}); single thread`;
        return b;
      }
    },
    2,
  );
  installed = true;
  return true;
}

/** Stop the pool threads (tests; the process also exits without it since workers are unref'd). */
export function stopWasmThreads(): void {
  activeModule?.PThread?.terminateAllThreads();
  activeModule = null;
}
