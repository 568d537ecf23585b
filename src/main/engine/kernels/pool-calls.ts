/**
 * Lists of calls into generated SIMD functions shared out over the products' helper thread
 * (gemm-pool.ts), for kernels whose work is many independent calls: the narrow convolutions'
 * per-tap sums and row bands (narrow-conv.ts), im2col's copies (runs-simd.ts). Those ran on the
 * calling thread while the second core idled between the split products.
 *
 * A list is made of groups; a group's calls run in order on one thread (calls that add into the
 * same outputs belong to one group), and groups run in any order on either thread, taken from a
 * shared counter, so a helper that starts late or has no core leaves its share to the caller.
 * Groups must write disjoint outputs: then every output is computed by the same calls in the same
 * order as on one thread, and results are bit-identical. The lists follow the products' load rule
 * (on one thread while splitting products loses) and run whole on the caller without a pool.
 */
import { LIST, LIST_ENTRIES, LIST_ENTRY, LIST_NEXT, LIST_READY, POOL_WORDS, type PoolModule, handOver, keepSolo, poolModules, poolOf, poolOptions } from './gemm-pool';
import type { WasmMemory } from './wasm-asm';

type Fn = (...args: number[]) => void;
const { FN, ARGS, READY } = POOL_WORDS;

/** Register a module the helper instantiates; call at import time (before the pool starts). Returns its id. */
export function registerPoolModule(m: PoolModule): number {
  poolModules.push(m);
  return poolModules.length - 1;
}

/** Lists run split and whole (tests check which path ran). */
export const callListStats = { split: 0, whole: 0 };
/** Minimum groups for a list to be split (fewer: the helper's wake-up is not worth it). */
export const callListOptions = { minGroups: 2 };

export class CallList {
  private fns: number[] = [];
  private args: number[][] = [];
  private starts: number[] = [];

  /** own: the caller's functions, indexed as the module's names (the list's function numbers). */
  constructor(private readonly memory: WasmMemory | undefined, private readonly module: number, private readonly own: Fn[]) {}

  /** Start a group: the calls added until the next group() run in order on one thread. */
  group(): this {
    this.starts.push(this.fns.length);
    return this;
  }

  call(fn: number, ...args: number[]): this {
    if (this.starts.length === 0) this.starts.push(0);
    this.fns.push(fn);
    this.args.push(args);
    return this;
  }

  private runGroup(g: number, end: number[]): void {
    for (let e = this.starts[g]!, stop = end[g]!; e < stop; e++) this.own[this.fns[e]!]!(...this.args[e]!);
  }

  run(): void {
    const n = this.starts.length;
    const ends = this.starts.map((_, g) => (g + 1 < n ? this.starts[g + 1]! : this.fns.length));
    const pool = poolOf(this.memory);
    const base = pool?.bases[this.module];
    if (!pool || base == null || n < callListOptions.minGroups || Atomics.load(pool.ctrl, READY) !== 1 || Atomics.load(pool.ctrl, LIST_READY) !== 1 || keepSolo()) {
      callListStats.whole++;
      for (let g = 0; g < n; g++) this.runGroup(g, ends);
      return;
    }
    callListStats.split++;
    // chunks of whole groups that fit the shared list
    for (let g0 = 0; g0 < n; ) {
      let g1 = g0;
      while (g1 < n && ends[g1]! - this.starts[g0]! <= LIST_ENTRIES) g1++;
      if (g1 === g0) {
        this.runGroup(g0++, ends); // one group longer than the list: here
        continue;
      }
      this.runShared(pool, base, g0, g1, ends);
      g0 = g1;
    }
  }

  private runShared(pool: NonNullable<ReturnType<typeof poolOf>>, base: number, g0: number, g1: number, ends: number[]): void {
    const L = pool.list;
    const e0 = this.starts[g0]!;
    for (let e = e0; e < ends[g1 - 1]!; e++) {
      const o = (e - e0) * LIST_ENTRY;
      L[o] = base + this.fns[e]!;
      const a = this.args[e]!;
      for (let i = 0; i < LIST_ENTRY - 1; i++) L[o + 1 + i] = a[i] ?? 0;
    }
    const gs = LIST_ENTRIES * LIST_ENTRY;
    for (let g = g0; g <= g1; g++) L[gs + g - g0] = (g < g1 ? this.starts[g]! : ends[g1 - 1]!) - e0;
    const c = pool.ctrl;
    c[ARGS] = g1 - g0;
    c[ARGS + 1] = gs;
    c[FN] = LIST;
    Atomics.store(c, LIST_NEXT, 0);
    let died = false;
    handOver(
      pool,
      () => {
        for (let g; (g = Atomics.add(c, LIST_NEXT, 1)) < g1 - g0; ) this.runGroup(g0 + g, ends);
      },
      () => (died = true),
      // taken back: the caller drained the counter, nothing is left
      poolOptions.takeBack ? () => undefined : undefined,
    );
    // a group the helper took may be half done (groups may accumulate): its outputs cannot be trusted
    if (died) throw new Error('pool helper thread died during a call list');
  }
}
