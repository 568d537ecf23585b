/**
 * Winograd calls as one staged hand-over (gemm-pool.ts stagedRun, winograd.ts): the runner's
 * groups, stages and products equal the same calls on one thread bit for bit; splitMap's parts
 * equal the whole map call; and the residual blocks' forward, fused input gradient and filter
 * gradient on the 2-thread backend (a child process: the threaded backend is per process), and
 * the stride-2 and 4x4 layers that go by winograd.ts, give the same bits staged and per phase,
 * within 1e-4 of the cpu backend, without leaks.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { STAGED_FN, type StagedGroup, stagedRunner, stagedStats } from '../../../../src/main/engine/kernels/gemm-pool';
import { createWinogradSimd } from '../../../../src/main/engine/kernels/winograd-simd';
import { splitMap } from '../../../../src/main/engine/kernels/winograd';
import type { WasmMemory } from '../../../../src/main/engine/kernels/wasm-asm';
import { rand, memoryWithPool } from './helpers';

interface Mem extends WasmMemory {
  buffer: ArrayBuffer;
}
const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => Mem } }).WebAssembly;
const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('staged Winograd hand-overs', () => {
  it('splitMap parts write what the whole map call writes', () => {
    const mem = new WA.Memory({ initial: 64, maximum: 256, shared: false });
    const tw = createWinogradSimd(mem)!;
    const f = new Float32Array(mem.buffer);
    // the input map of F(4x4) over 3 rows of 5 tiles of 4 channel vectors (6x6 patches, 36 planes)
    const [rows, n, c4] = [3, 5, 4];
    const C = c4 * 4, colB = C * 4, WP = 4 * n + 2, rowB = WP * colB, plane = rows * n * colB + 64;
    const src = 64, dA = src + (4 * rows + 2) * rowB + 64, dB = dA + 36 * plane + 64;
    f.set(rand((4 * rows + 2) * WP * C, 7), src / 4);
    const args = (dst: number) => [src, dst, n, c4, rowB, colB, 6 * plane, plane, 4 * colB, colB, 16, 16, rows, 4 * rowB, n * colB];
    tw.input4(...(args(dA) as Parameters<typeof tw.input4>));
    for (const parts of [2, 3, 8, 40]) {
      f.fill(0, dB / 4, dB / 4 + 36 * plane / 4);
      const calls = splitMap(args(dB), parts);
      expect(calls.length, `${parts} parts`).toBeGreaterThan(1);
      for (const a of calls) tw.input4(...(a as Parameters<typeof tw.input4>));
      expect(same(f.subarray(dA / 4, dA / 4 + 36 * plane / 4), f.subarray(dB / 4, dB / 4 + 36 * plane / 4)), `${parts} parts`).toBe(true);
    }
    // one row of one tile: by channel vectors
    expect(splitMap([0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 16, 16, 1, 0, 0], 4).map((a) => a[3])).toEqual([2, 2, 2, 2]);
  });

  it('a staged list on two threads equals its calls on one thread, stage by stage', async () => {
    const { mem, g } = await memoryWithPool(128);
    const run = stagedRunner(mem);
    expect(run).not.toBeNull();
    const tw = createWinogradSimd(mem)!;
    const f = new Float32Array(mem.buffer);
    // stage 0: F(4x4)'s input map of an image x of 10 x 18 pixels of 16 channels (2 rows of 4
    // tiles, one group per row) into 36 planes y; stage 1: the 36 plane products y[i] . b[i]
    // ([8, 16] . [16, 8]) into p; stage 2: the output map of p into z. Each stage reads what the
    // one before wrote, so a stage started early would change the bits.
    const rows = 2, n = 4, c4 = 4, C = 16, T = rows * n, WP = 4 * n + 2;
    const colB = C * 4, rowB = WP * colB, yPlane = T * colB, pPlane = T * 8 * 4;
    const x = 64, b = x + (4 * rows + 2) * rowB + 64, scr = b + 36 * 16 * 8 * 4 + 64;
    const out = (base: number) => {
      const y = base, p = y + 36 * yPlane, z = p + 36 * pPlane;
      return { y, p, z, end: z + 16 * T * 8 * 4 };
    };
    const A = out(scr + 4 * 16 * 32 + 64), Bo = out(A.end + 64);
    f.set(rand((4 * rows + 2) * WP * C, 11), x / 4);
    f.set(rand(36 * 16 * 8, 12, 0.5), b / 4);
    const oRow = 4 * n * 8 * 4;
    const groups = (o: ReturnType<typeof out>): StagedGroup[] => [
      ...[0, 1].map((r) => ({ stage: 0, calls: [[STAGED_FN.map('input4'), x + r * 4 * rowB, o.y + r * n * colB, n, c4, rowB, colB, 6 * yPlane, yPlane, 4 * colB, colB, 16, 16, 1, 0, 0]], weight: 1 })),
      ...Array.from({ length: 36 }, (_, i) => ({ stage: 1, calls: [[STAGED_FN.nnR, o.y + i * yPlane, b + i * 16 * 8 * 4, o.p + i * pPlane, T >> 2, C, 8, scr]], weight: 2 })),
      ...[0, 1].map((r) => ({ stage: 2, calls: [[STAGED_FN.map('output4'), o.p + r * n * 32, o.z + r * 4 * oRow, n, 2, 6 * pPlane, pPlane, oRow, 32, 32, 4 * 32, 16, 16, 1, 0, 0]], weight: 1 })),
    ];
    // one thread: the same calls in order on the caller's own functions
    for (const gr of groups(A)) {
      for (const [fn, ...a] of gr.calls) {
        if (fn === STAGED_FN.nnR) g.nnR(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!);
        else if (fn === STAGED_FN.map('input4')) tw.input4(...(a as Parameters<typeof tw.input4>));
        else tw.output4(...(a as Parameters<typeof tw.output4>));
      }
    }
    const split = stagedStats.split;
    for (let k = 0; k < 5; k++) {
      f.fill(0, Bo.y / 4, Bo.end / 4);
      run!(groups(Bo));
      expect(same(f.subarray(A.y / 4, A.end / 4), f.subarray(Bo.y / 4, Bo.end / 4)), `run ${k}`).toBe(true);
    }
    expect(stagedStats.split - split).toBe(5);
    expect(f.subarray(A.z / 4, A.end / 4).some((v) => v !== 0)).toBe(true);
  });

  for (const stagedT of ['0', '1']) it(`the residual kernels on two threads: staged = per phase bit for bit, within 1e-4 of cpu, no leaks (tap transpositions staged: ${stagedT})`, async () => {
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'winograd-staged-child.ts')], {
        cwd: ROOT,
        env: { ...process.env, VITEST: '', ATELIER_BACKEND: 'wasm', ATELIER_WASM_THREADS: '2', ATELIER_POOL_ADAPT: '0', STAGED_T: stagedT },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '', err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, out, err }));
    });
    expect(r.code, r.err.slice(-2000)).toBe(0);
    const res = JSON.parse(r.out.trim().split('\n').pop()!) as { threads: number; tensorDrift: number; out: Record<string, { staged: number[]; perPhase: number[]; cpu: number[]; split: number }> };
    expect(res.threads).toBe(2);
    expect(res.tensorDrift).toBe(0);
    expect(Object.keys(res.out)).toHaveLength(6);
    for (const [shape, v] of Object.entries(res.out)) {
      // the residual kernels: one hand-over each; the other layers: at least their forward's
      if (/s[12]$/.test(shape)) expect(v.split, `${shape}: staged hand-overs`).toBeGreaterThan(0);
      else expect(v.split, `${shape}: staged hand-overs`).toBe(3);
      expect(v.staged.length, shape).toBe(v.cpu.length);
      expect(same(new Float32Array(v.staged), new Float32Array(v.perPhase)), `${shape}: staged vs per phase`).toBe(true);
      const scale = v.cpu.reduce((m, a) => Math.max(m, Math.abs(a)), 1);
      const diff = v.staged.reduce((m, a, i) => Math.max(m, Math.abs(a - v.cpu[i]!)), 0);
      expect(diff / scale, `${shape}: vs cpu`).toBeLessThan(1e-4);
    }
  }, 180_000);
});
