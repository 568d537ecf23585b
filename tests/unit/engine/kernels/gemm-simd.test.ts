import { afterEach, describe, expect, it } from 'vitest';
import { gemmModule, gemmTuning, relaxedSimd } from '../../../../src/main/engine/kernels/gemm-simd';
import { rand } from './helpers';

interface WasmApi {
  Memory: new (d: object) => { buffer: ArrayBuffer };
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
type Fn = (a: number, b: number, c: number, blocks: number, k: number, n: number, s?: number) => void;

/** The products of gemm-simd.ts (A interleaved or row-major, B or its transpose) against a float64 reference, with k and row-block chunks small enough to leave remainders. */
function check(fma: boolean, blocks: number, K: number, N: number) {
  const mem = new WA.Memory({ initial: 32 });
  const build = () => new WA.Instance(new WA.Module(gemmModule(false, fma)), { env: { memory: mem } }).exports as Record<string, Fn>;
  const g = build();
  const tuning = { ...gemmTuning };
  Object.assign(gemmTuning, { kchunk: 1 << 30, mchunk: 1 << 30 });
  const unchunked = build(); // one k chunk, one row-block chunk
  Object.assign(gemmTuning, tuning);
  const f = new Float32Array(mem.buffer);
  const P = blocks * 4;
  const A = 16, B = A + P * K + 16, Bt = B + K * N + 16, C1 = Bt + K * N + 16, C2 = C1 + P * N + 16, C3 = C2 + P * N + 16, C4 = C3 + P * N + 16, S = C4 + P * N + 16;
  const a = rand(P * K, 1);
  const b = rand(K * N, 2);
  f.set(a, A); // interleaved by 4 rows: a[blk][k][r]
  const Ar = S + 2 * K * 8 + 16; // the same A row-major
  for (let p = 0; p < P; p++) for (let k = 0; k < K; k++) f[Ar + p * K + k] = a[(p >> 2) * K * 4 + k * 4 + (p & 3)]!;
  f.set(b, B);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) f[Bt + n * K + k] = b[k * N + n]!;
  g.nn!(A * 4, B * 4, C1 * 4, blocks, K, N, S * 4);
  g.nnR!(Ar * 4, B * 4, C2 * 4, blocks, K, N, S * 4);
  g.nnRT!(Ar * 4, Bt * 4, C4 * 4, blocks, K, N, S * 4);
  unchunked.nn!(A * 4, B * 4, C3 * 4, blocks, K, N, S * 4);
  let err = 0;
  for (let p = 0; p < P; p++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[(p >> 2) * K * 4 + k * 4 + (p & 3)]! * b[k * N + n]!;
      err = Math.max(err, ...[C1, C2, C3, C4].map((c) => Math.abs(s - f[c + p * N + n]!)));
    }
  }
  expect(err).toBeLessThan(1e-4 * Math.sqrt(K));
  // nnR and nnRT read the same numbers in the same order as nn: identical results
  const same = (x: number, y: number) => Buffer.from(f.slice(x, x + P * N).buffer).equals(Buffer.from(f.slice(y, y + P * N).buffer));
  expect(same(C1, C2) && same(C1, C4)).toBe(true);
  // chunks continue the stored sums in the same order as one pass: identical results
  expect(same(C1, C3)).toBe(true);
}

describe('gemm-simd products (k and row-block chunks, row-major A, transposed B, fused multiply-add)', () => {
  const saved = { ...gemmTuning };
  afterEach(() => Object.assign(gemmTuning, saved));

  for (const fma of [false, true]) {
    const noFma = fma && !relaxedSimd();
    it.skipIf(noFma)(`${fma ? 'relaxed_madd' : 'mul + add'}: nn, nnR, nnRT match a reference and an unchunked nn across chunk edges${noFma ? ' (skipped: this runtime has no WebAssembly relaxed SIMD)' : ''}`, () => {
      gemmTuning.kchunk = 24;
      gemmTuning.mchunk = 3;
      for (const [blocks, K, N] of [[1, 8, 8], [7, 50, 16], [3, 24, 24], [10, 97, 40]] as const) check(fma, blocks, K, N);
      Object.assign(gemmTuning, saved);
      check(fma, 70, 300, 16); // default chunks: 2 k chunks, 2 row-block chunks
    });
  }
});
