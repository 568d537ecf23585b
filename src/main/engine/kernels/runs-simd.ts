/**
 * Copies and adds of many short contiguous runs of floats on the wasm heap in one call: im2col
 * (a patch row is KH runs of KW*CI floats, one per filter row) and col2im (the same runs added
 * back into dx). In JS each run was a `set(subarray(...))` (~0.2-1 us: a view allocated per run)
 * or, for col2im, a scalar loop (~1 ns per float): at 128 px CycleGAN's stride-2 layers spent
 * ~0.25 s per step of one thread there. Here JS only lists the runs (Int32 triples: destination
 * and source byte offsets, length in f32x4 vectors) and one hand-assembled SIMD function walks
 * the list, so the run lengths must be multiples of 4 floats.
 *
 *   copyRuns(list, count): dst[0 .. 4*n4) = src[0 .. 4*n4) for each entry
 *   addRuns(list, count):  dst[0 .. 4*n4) += src[0 .. 4*n4) for each entry, in list order
 *
 * Entries are applied in order, so overlapping destinations (col2im) sum in a fixed order.
 */
import { BLOCK, END, I32, LOOP, get, instantiateOn, isSharedMemory, set, simd, uleb, vec, perMemory, fnType, wasmModule } from './wasm-asm';
import { CallList, registerPoolModule } from './pool-calls';
import { type BackendWasm, heapMemory } from './wasm-util';

/** The helper thread gets the same module (pool-calls.ts): copy lists split by chunks, add lists by key. */
const POOL_MODULE = registerPoolModule({ make: (shared) => ({ bytes: runsModule(shared), names: ['copyRuns', 'addRuns'] }) });

function runsFunc(add: boolean): number[] {
  const [LIST, COUNT] = [0, 1];
  const D = 2, S = 3, N = 4; // i32 locals
  const load = [...simd(0x00), 4, 0];
  const store = [...simd(0x0b), 4, 0];
  const i32load = (offset: number) => [0x28, 2, ...uleb(offset)];
  const inc = (l: number, by: number) => [...get(l), 0x41, ...uleb(by), 0x6a, ...set(l)];
  const dec = (l: number) => [...get(l), 0x41, 1, 0x6b, 0x22, ...uleb(l), 0x0d, 0];
  const b: number[] = [];
  b.push(...BLOCK, ...get(COUNT), 0x45, 0x0d, 0, ...LOOP);
  b.push(...get(LIST), ...i32load(0), ...set(D), ...get(LIST), ...i32load(4), ...set(S), ...get(LIST), ...i32load(8), ...set(N));
  b.push(...BLOCK, ...get(N), 0x45, 0x0d, 0, ...LOOP);
  if (add) b.push(...get(D), ...get(D), ...load, ...get(S), ...load, ...simd(0xe4), ...store);
  else b.push(...get(D), ...get(S), ...load, ...store);
  b.push(...inc(D, 16), ...inc(S, 16), ...dec(N), ...END, ...END);
  b.push(...inc(LIST, 12), ...dec(COUNT), ...END, ...END);
  b.push(...END);
  return [...vec([[3, I32]]), ...b];
}

export function runsModule(shared: boolean): Uint8Array {
  return wasmModule(shared, [fnType([I32, I32])], [
    { name: 'copyRuns', body: runsFunc(false) },
    { name: 'addRuns', body: runsFunc(true) },
  ]);
}

interface RunsFns {
  copyRuns(list: number, count: number): void;
  addRuns(list: number, count: number): void;
}
interface WasmMalloc {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}
interface RunsCtx {
  fns: RunsFns;
  /** The list's heap buffer (kept between calls, grown as needed). */
  ptr: number;
  bytes: number;
}
/** ATELIER_SIMD_RUNS=0: im2col / col2im copy in JS (A/B). */
export const runsOptions = { enabled: process.env.ATELIER_SIMD_RUNS !== '0' };
/** Calls that ran through the SIMD runs (tests check the path was taken). */
export const runsCalls = { copy: 0, add: 0 };

const contextOn = perMemory((memory): RunsCtx => ({ fns: instantiateOn(memory, runsModule(isSharedMemory(memory))) as unknown as RunsFns, ptr: 0, bytes: 0 }));
const ctxFor = (backend: BackendWasm): RunsCtx | null => contextOn(heapMemory(backend));

/**
 * A list of runs built in JS, then applied by one SIMD call. Offsets are heap byte offsets (a
 * heap view's byteOffset plus 4 per float); lengths in floats, multiples of 4. Make it with
 * `runList` BEFORE taking the heap views the runs are computed from: reserving the list's heap
 * space may grow the heap (which detaches earlier views of a non-shared heap).
 */
export class RunList {
  private readonly list: Int32Array;
  private readonly keys: Int32Array;
  count = 0;

  constructor(private readonly ctx: RunsCtx, readonly capacity: number) {
    this.list = new Int32Array(capacity * 3);
    this.keys = new Int32Array(capacity);
  }

  /** `key`: for adds, runs with different keys must write disjoint floats (e.g. dx row bands). */
  push(dst: number, src: number, floats: number, key = 0): void {
    const k = this.count++;
    const i = k * 3;
    this.list[i] = dst;
    this.list[i + 1] = src;
    this.list[i + 2] = floats >> 2;
    this.keys[k] = key;
  }

  /**
   * Apply the runs (copy or add) on the heap. Copies (disjoint destinations) are shared out over
   * the helper thread in contiguous chunks; adds by key (one group per key, list order kept
   * within it, so every float sums in list order: bit-identical to one pass). Allocates nothing.
   */
  apply(backend: BackendWasm, kind: 'copy' | 'add'): void {
    if (this.count > this.capacity) throw new Error('runs: more runs than reserved');
    const n = this.count;
    if (n === 0) return;
    const memory = heapMemory(backend) as { buffer: ArrayBuffer };
    const heap = new Int32Array(memory.buffer, this.ctx.ptr, n * 3);
    const calls = new CallList(memory, POOL_MODULE, [this.ctx.fns.copyRuns, this.ctx.fns.addRuns]);
    if (kind === 'copy') {
      heap.set(this.list.subarray(0, n * 3));
      const per = Math.max(256, Math.ceil(n / 16));
      for (let e = 0; e < n; e += per) calls.group().call(0, this.ctx.ptr + e * 12, Math.min(per, n - e));
      runsCalls.copy++;
    } else {
      // stable partition by key (keys are small non-negative band numbers)
      let maxKey = 0;
      for (let k = 0; k < n; k++) maxKey = Math.max(maxKey, this.keys[k]!);
      const at = new Int32Array(maxKey + 2);
      for (let k = 0; k < n; k++) at[this.keys[k]! + 1]++;
      for (let b = 0; b <= maxKey; b++) at[b + 1]! += at[b]!;
      const starts = at.slice();
      for (let k = 0; k < n; k++) {
        const d = at[this.keys[k]!]++ * 3;
        heap[d] = this.list[k * 3]!;
        heap[d + 1] = this.list[k * 3 + 1]!;
        heap[d + 2] = this.list[k * 3 + 2]!;
      }
      for (let b = 0; b <= maxKey; b++) if (starts[b + 1]! > starts[b]!) calls.group().call(1, this.ctx.ptr + starts[b]! * 12, starts[b + 1]! - starts[b]!);
      runsCalls.add++;
    }
    calls.run();
  }
}

/** A list for up to `capacity` runs, its heap space reserved now; null where SIMD is unavailable. */
export function runList(backend: BackendWasm, capacity: number): RunList | null {
  const ctx = runsOptions.enabled ? ctxFor(backend) : null;
  if (!ctx) return null;
  const bytes = Math.max(capacity * 12, 64 * 1024);
  if (ctx.bytes < bytes) {
    const wasm = backend.wasm as unknown as WasmMalloc;
    if (ctx.ptr) wasm._free(ctx.ptr);
    ctx.ptr = 0;
    ctx.bytes = 0;
    const ptr = wasm._malloc(bytes) >>> 0;
    if (ptr === 0) return null;
    ctx.ptr = ptr;
    ctx.bytes = bytes;
  }
  return new RunList(ctx, capacity);
}
