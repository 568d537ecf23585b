/**
 * Call lists shared out over the products' helper thread (pool-calls.ts), on a shared memory of
 * their own: a test module registered before the pool starts adds runs of floats; groups that
 * accumulate into the same outputs in a fixed order give the same bits split over two threads as
 * on the caller alone, and the sums a scalar loop gives.
 */
import { describe, expect, it } from 'vitest';
import { CallList, callListOptions, callListStats, registerPoolModule } from '../../../../src/main/engine/kernels/pool-calls';
import { BLOCK, END, I32, LOOP, get, memoryImport, section, set, str, uleb, vec, type WasmMemory } from '../../../../src/main/engine/kernels/wasm-asm';
import { runList } from '../../../../src/main/engine/kernels/runs-simd';
import type { BackendWasm } from '../../../../src/main/engine/kernels/wasm-util';
import { rand, memoryWithPool } from './helpers';

interface Mem extends WasmMemory {
  buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (d: object) => Mem;
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: Record<string, (...a: number[]) => void> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** acc(dst, src, n): dst[i] += src[i] for n floats (scalar), byte offsets. */
function accModule(shared: boolean): { bytes: Uint8Array; names: string[] } {
  const [D, S, N] = [0, 1, 2];
  const inc = (l: number) => [...get(l), 0x41, 4, 0x6a, ...set(l)];
  const body = [
    ...vec([]),
    ...BLOCK, ...get(N), 0x45, 0x0d, 0, ...LOOP,
    ...get(D), ...get(D), 0x2a, 2, 0, ...get(S), 0x2a, 2, 0, 0x92, 0x38, 2, 0,
    ...inc(D), ...inc(S),
    ...get(N), 0x41, 1, 0x6b, 0x22, N, 0x0d, 0, ...END, ...END, ...END,
  ];
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), 0]])),
    ...memoryImport(shared),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...str('acc'), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
  return { bytes, names: ['acc'] };
}
const MODULE = registerPoolModule({ make: accModule });

describe('call lists on two threads', () => {
  it('split lists equal whole lists and scalar sums, groups in order', async () => {
    const { mem } = await memoryWithPool(); // the helper, with the registered module
    const own = new WA.Instance(new WA.Module(accModule(true).bytes), { env: { memory: mem } }).exports;
    const f = new Float32Array(mem.buffer);
    // 40 groups, each adding 5 source runs of 33 floats into its own output run
    const groups = 40, adds = 5, len = 33;
    const src = 1024, outA = src + groups * adds * len * 4 + 64, outB = outA + groups * len * 4 + 64;
    const xs = rand(groups * adds * len, 71, 1e3);
    f.set(xs, src / 4);
    const make = (out: number) => {
      const list = new CallList(mem, MODULE, [own.acc!]);
      for (let k = 0; k < groups; k++) {
        list.group();
        for (let a = 0; a < adds; a++) list.call(0, out + k * len * 4, src + (k * adds + a) * len * 4, len);
      }
      return list;
    };
    f.fill(0, outA / 4, outB / 4 + groups * len);
    const n = { ...callListStats };
    callListOptions.minGroups = Infinity;
    make(outA).run();
    callListOptions.minGroups = 2;
    make(outB).run();
    expect([callListStats.whole - n.whole, callListStats.split - n.split]).toEqual([1, 1]);
    const a = f.slice(outA / 4, outA / 4 + groups * len);
    const b = f.slice(outB / 4, outB / 4 + groups * len);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    for (let k = 0; k < groups; k++) {
      for (let i = 0; i < len; i++) {
        let s = 0;
        for (let q = 0; q < adds; q++) s = Math.fround(s + xs[(k * adds + q) * len + i]!);
        expect(a[k * len + i], `group ${k} float ${i}`).toBe(s);
      }
    }
  });

  it('im2col / col2im runs: copies by chunks and adds by key, split equal whole and a JS reference', async () => {
    const { mem } = await memoryWithPool();
    // a stand-in backend: the heap and a bump allocator for the run list
    let top = 1 << 20;
    const backend = { wasm: { asm: { memory: mem }, _malloc: (b: number) => ((top += b + 64), top - b - 64), _free: () => {} } } as unknown as BackendWasm;
    const f = new Float32Array(mem.buffer);
    const src = 64 * 1024, dst = 256 * 1024; // byte offsets; floats at /4
    const xs = rand(8192, 81);
    f.set(xs, src / 4);
    // runs: (dst float, src float, floats), overlapping destinations across runs of one key
    const runs: [number, number, number, number][] = [];
    for (let i = 0; i < 600; i++) {
      const key = i % 7;
      runs.push([key * 96 + ((i * 13) % 12) * 4, (i * 36) % 8000, 4 * (1 + (i % 5)), key]);
    }
    const apply = (kind: 'copy' | 'add', split: boolean, at: number) => {
      callListOptions.minGroups = split ? 2 : Infinity;
      const list = runList(backend, runs.length)!;
      const view = new Float32Array(mem.buffer);
      view.fill(0, at / 4, at / 4 + 7 * 96 + 64);
      // copies need disjoint destinations: one run per destination slot
      const rs = kind === 'copy' ? runs.map((r, i) => [at / 4 + i * 20, r[1], r[2], 0] as const).slice(0, 300) : runs.map((r) => [at / 4 + r[0], r[1], r[2], r[3]] as const);
      for (const [d, s0, n, k] of rs) list.push(d * 4, src + s0 * 4, n, k);
      const before = { ...callListStats };
      list.apply(backend, kind);
      expect(callListStats.split - before.split).toBe(split ? 1 : 0);
      return { out: new Float32Array(mem.buffer).slice(at / 4, at / 4 + (kind === 'copy' ? 300 * 20 : 7 * 96 + 64)), rs };
    };
    for (const kind of ['copy', 'add'] as const) {
      const whole = apply(kind, false, dst);
      const split = apply(kind, true, dst + 64 * 1024);
      expect(Buffer.from(split.out.buffer).equals(Buffer.from(whole.out.buffer)), kind).toBe(true);
      const ref = new Float32Array(whole.out.length);
      for (const [d, s0, n] of whole.rs) for (let i = 0; i < n; i++) ref[d - dst / 4 + i] = kind === 'copy' ? xs[s0 + i]! : Math.fround(ref[d - dst / 4 + i]! + xs[s0 + i]!);
      expect(Array.from(whole.out), kind).toEqual(Array.from(ref));
    }
    callListOptions.minGroups = 2;
  });
});
