import { describe, expect, it } from 'vitest';
import { createGemmSimd, type GemmSimd } from '../../../../src/main/engine/kernels/gemm-simd';
import type { WasmMemory } from '../../../../src/main/engine/kernels/wasm-asm';
import { POOL_WORDS, chunkBlocks, handOver, poolOptions, poolStats, type Pool } from '../../../../src/main/engine/kernels/gemm-pool';
import { rand } from './helpers';

interface Mem extends WasmMemory {
  buffer: ArrayBuffer;
}
const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => Mem } }).WebAssembly;

/** Lay out the same operands in a memory, run all five products, return the outputs. */
function runAll(g: GemmSimd, mem: Mem, blocks: number, K: number, N: number): Float32Array[] {
  const f = new Float32Array(mem.buffer);
  const P = blocks * 4;
  // regions (floats): A [P*K], B [K*N], C [P*N], scratch [2*K*8], W [N*K] (nt: M = N), C2 [P*N], C3 [K4..]
  let at = 16;
  const take = (n: number) => {
    const o = at;
    at += n + 16;
    return o;
  };
  const A = take(P * K), B = take(K * N), C = take(P * N), S = take(2 * K * 8), C2 = take(P * N), A3 = take(K * P), C3 = take(K * N), C4 = take(P * N), C5 = take(P * N), S2 = take(2 * P * 8);
  f.set(rand(P * K, 1), A);
  f.set(rand(K * N, 2), B);
  f.set(rand(K * P, 3), A3);
  g.nn(A * 4, B * 4, C * 4, blocks, K, N, S * 4);
  g.nt(A * 4, B * 4, C2 * 4, blocks, K, N); // A [P,K] rows . B viewed as [N rows, K] (K % 4, N even)
  g.nn(A3 * 4, C * 4, C3 * 4, K / 4, P, N, S2 * 4); // [K, P] interleaved . C [P, N]
  g.nnR(A * 4, B * 4, C4 * 4, blocks, K, N, S * 4); // A viewed row-major
  g.nnRT(A * 4, B * 4, C5 * 4, blocks, K, N, S * 4); // and B viewed as Bt [N, K]
  return [f.slice(C, C + P * N), f.slice(C2, C2 + P * N), f.slice(C3, C3 + K * N), f.slice(C4, C4 + P * N), f.slice(C5, C5 + P * N)];
}

describe('gemm products split over two threads on a shared memory', () => {
  it('are bit-identical to one thread', async () => {
    const shared = new WA.Memory({ initial: 64, maximum: 256, shared: true });
    const plain = new WA.Memory({ initial: 64 });
    const gs = createGemmSimd(shared)!;
    const gp = createGemmSimd(plain)!;
    expect(gs).not.toBeNull();
    expect(gp.parallel).toBeUndefined();
    const t0 = Date.now();
    while (!gs.parallel?.() && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 20));
    expect(gs.parallel?.()).toBe(true);
    const chunked = poolStats.chunked;
    // the last two: chunks of row blocks from the shared counter (38 and 64 blocks, the last chunk partial)
    for (const [blocks, K, N] of [[5, 64, 16], [2, 8, 8], [7, 36, 24], [1, 16, 8], [70, 300, 16], [300, 40, 16], [1030, 8, 8]] as const) {
      const a = runAll(gs, shared, blocks, K, N);
      const b = runAll(gp, plain, blocks, K, N);
      a.forEach((x, i) => expect(Buffer.from(x.buffer).equals(Buffer.from(b[i]!.buffer))).toBe(true));
      // and the products are right (nn against a scalar reference)
      const A = rand(blocks * 4 * K, 1);
      const B = rand(K * N, 2);
      let err = 0;
      for (let p = 0; p < blocks * 4; p++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += A[(p >> 2) * K * 4 + k * 4 + (p & 3)]! * B[k * N + n]!;
          err = Math.max(err, Math.abs(s - a[0]![p * N + n]!));
        }
      }
      expect(err).toBeLessThan(1e-4);
    }
    expect(poolStats.chunked - chunked).toBeGreaterThan(0);
  });

  it('chunks products of many row blocks, halves the others', () => {
    const o = { enabled: true, target: 8, minBlocks: 16, maxBlocks: 64, minChunks: 3 };
    expect(chunkBlocks(1024, o)).toBe(64); // 16 chunks of nn's own row-block chunk
    expect(chunkBlocks(256, o)).toBe(32);
    expect(chunkBlocks(57, o)).toBe(16); // 4 chunks, the last of 9 blocks
    expect(chunkBlocks(40, o)).toBe(16);
    expect(chunkBlocks(32, o)).toBe(0); // two chunks: halves
    expect(chunkBlocks(1024, { ...o, enabled: false })).toBe(0);
  });

  it('a batch of products shared out by planes equals the products one by one on one thread', async () => {
    const shared = new WA.Memory({ initial: 256, maximum: 512, shared: true });
    const plain = new WA.Memory({ initial: 256 });
    const gs = createGemmSimd(shared)!;
    const gp = createGemmSimd(plain)!;
    const t0 = Date.now();
    while (!gs.parallel?.() && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 20));
    expect(gs.batch).toBeDefined();
    for (const [name, count, blocks, K, N] of [['nnR', 36, 16, 64, 24], ['nn', 7, 5, 40, 16], ['nnRT', 2, 3, 12, 8], ['nnR', 1, 2, 8, 8]] as const) {
      // planes of A, B, C with odd gaps between them (as Winograd's skewed planes)
      const sa = (4 * blocks * K + 20) * 4, sb = (K * N + 12) * 4, sc = (4 * blocks * N + 4) * 4;
      const A = 64, B = A + count * sa, C = B + count * sb, S = C + count * sc;
      const run = (mem: Mem, batch: boolean) => {
        const f = new Float32Array(mem.buffer);
        f.fill(0);
        for (let i = 0; i < count; i++) {
          f.set(rand(4 * blocks * K, 10 + i), (A + i * sa) / 4);
          f.set(rand(K * N, 50 + i), (B + i * sb) / 4);
        }
        const g = batch ? gs : gp;
        if (batch) g.batch!(name, count, sa, sb, sc, A, B, C, blocks, K, N, S);
        else for (let i = 0; i < count; i++) g[name](A + i * sa, B + i * sb, C + i * sc, blocks, K, N, S);
        return f.slice(C / 4, (C + count * sc) / 4);
      };
      const split = poolStats.split + poolStats.solo;
      const a = run(shared, true);
      if (count > 1) expect(poolStats.split + poolStats.solo, name).toBe(split + 1); // one hand-over (or one solo batch under load)
      const b = run(plain, false);
      expect(a.some((x) => x !== 0)).toBe(true);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `${name} x${count}`).toBe(true);
    }
  });

  it('drops to one thread when the helper lags (load rule), with the same results', async () => {
    const saved = { ...poolOptions.adapt };
    const shared = new WA.Memory({ initial: 64, maximum: 256, shared: true });
    const plain = new WA.Memory({ initial: 64 });
    const gs = createGemmSimd(shared)!;
    const gp = createGemmSimd(plain)!;
    const t0 = Date.now();
    while (!gs.parallel?.() && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 20));
    try {
      // every window counts as losing, one window is one call: the first split call backs off,
      // the next calls run alone
      poolOptions.adaptive = true;
      Object.assign(poolOptions.adapt, { windowMs: 0, enterBelow: Infinity, losingWindows: 1, soloMs: 60_000, maxSoloMs: 60_000 });
      const before = { ...poolStats };
      const a = runAll(gs, shared, 70, 300, 16);
      expect(poolStats.backoffs - before.backoffs).toBe(1);
      expect(poolStats.split - before.split).toBe(1);
      expect(poolStats.solo - before.solo).toBe(4);
      const b = runAll(gp, plain, 70, 300, 16);
      a.forEach((x, i) => expect(Buffer.from(x.buffer).equals(Buffer.from(b[i]!.buffer))).toBe(true));
    } finally {
      Object.assign(poolOptions.adapt, saved);
      poolOptions.adaptive = process.env.ATELIER_POOL_ADAPT !== '0';
    }
  });
});

describe('handOver (the one wake-and-wait every split call uses)', () => {
  const { SEQ, DONE, READY, CLAIM } = POOL_WORDS;
  const fakePool = (): Pool => ({ ctrl: new Int32Array(new SharedArrayBuffer(128)), seq: 0, list: new Int32Array(1), bases: [] });

  it('publishes a new sequence number, runs the caller\'s share and returns once the helper hands back', () => {
    const p = fakePool();
    Atomics.store(p.ctrl, READY, 1);
    let died = 0;
    // the "helper" finishes during the caller's share
    const t = handOver(p, () => Atomics.store(p.ctrl, DONE, Atomics.load(p.ctrl, SEQ)), () => died++);
    expect(p.seq).toBe(1);
    expect(Atomics.load(p.ctrl, SEQ)).toBe(1);
    expect(died).toBe(0);
    expect(t.own).toBeGreaterThanOrEqual(0);
    expect(t.wait).toBeGreaterThanOrEqual(0);
  });

  it('takes back a share the helper has not started: runs it on the caller, waits for nothing', () => {
    const p = fakePool();
    Atomics.store(p.ctrl, READY, 1);
    let took = 0, died = 0;
    // no helper ever claims the job: without the take-back this would wait for DONE forever
    const t = handOver(p, () => undefined, () => died++, () => took++);
    expect([took, died, t.tookBack, t.wait]).toEqual([1, 0, true, 0]);
    expect(Atomics.load(p.ctrl, CLAIM)).toBe(0); // a helper waking now skips the job
  });

  it('waits for a helper that claimed its share before the caller finished', () => {
    const p = fakePool();
    Atomics.store(p.ctrl, READY, 1);
    let took = 0;
    const helper = () => {
      expect(Atomics.compareExchange(p.ctrl, CLAIM, p.seq, -1)).toBe(p.seq);
      Atomics.store(p.ctrl, DONE, p.seq);
    };
    const t = handOver(p, helper, () => undefined, () => took++);
    expect([took, t.tookBack]).toEqual([0, false]);
  });

  it('makes up the share of a helper that died, and waits for nothing more', () => {
    const p = fakePool();
    Atomics.store(p.ctrl, READY, -1);
    let died = 0;
    handOver(p, () => undefined, () => died++);
    expect(died).toBe(1);
  });

  it('rethrows an error of the caller\'s share once the helper has handed back', () => {
    const p = fakePool();
    Atomics.store(p.ctrl, READY, 1);
    let died = 0;
    const own = () => {
      Atomics.store(p.ctrl, DONE, p.seq);
      throw new Error('boom');
    };
    expect(() => handOver(p, own, () => died++)).toThrow('boom');
    expect(died).toBe(0);
  });
});
