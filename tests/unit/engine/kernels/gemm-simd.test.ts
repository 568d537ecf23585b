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

describe('gemm-simd nn / nnR on column ranges in place (lda, ldn)', () => {
  const saved = { ...gemmTuning };
  afterEach(() => Object.assign(gemmTuning, saved));

  /**
   * nnR over columns [k0, k1) of a row-major A [P, KF] (lda KF) and the matching rows of B; nnR over
   * columns [n0, n1) of B [K, NF] into the same columns of C [P, NF] (ldn NF, other columns left
   * alone); nn over interleaved A's k range (lda KF): each equals the product of the copied ranges
   * bit for bit.
   */
  it('equals the product of the copied ranges, and leaves the other columns of C alone', () => {
    gemmTuning.kchunk = 24;
    gemmTuning.mchunk = 3;
    const mem = new WA.Memory({ initial: 64 });
    const g = new WA.Instance(new WA.Module(gemmModule(false, false)), { env: { memory: mem } }).exports as Record<string, Fn & ((...a: number[]) => void)>;
    const f = new Float32Array(mem.buffer);
    const blocks = 7, P = 28, KF = 96, NF = 48;
    const [k0, k1, n0, n1] = [32, 72, 16, 40];
    let at = 16;
    const take = (n: number) => ((at += n + 16), at - n - 16);
    const A = take(P * KF), Ai = take(P * KF), B = take(KF * NF), C = take(P * NF), Cn = take(P * NF), S = take(2 * KF * 8);
    const Ak = take(P * (k1 - k0)), Aki = take(P * (k1 - k0)), Bk = take((k1 - k0) * NF), Bn = take(KF * (n1 - n0));
    const R1 = take(P * NF), R2 = take(P * (n1 - n0)), R3 = take(P * NF), C3 = take(P * NF);
    f.set(rand(P * KF, 3), A);
    f.set(rand(KF * NF, 4), B);
    const KR = k1 - k0, NR = n1 - n0;
    for (let p = 0; p < P; p++) {
      for (let k = 0; k < KF; k++) f[Ai + (p >> 2) * KF * 4 + k * 4 + (p & 3)] = f[A + p * KF + k]!;
      for (let k = 0; k < KR; k++) {
        f[Ak + p * KR + k] = f[A + p * KF + k0 + k]!;
        f[Aki + (p >> 2) * KR * 4 + k * 4 + (p & 3)] = f[A + p * KF + k0 + k]!;
      }
    }
    f.copyWithin(Bk, B + k0 * NF, B + k1 * NF);
    for (let k = 0; k < KF; k++) for (let n = 0; n < NR; n++) f[Bn + k * NR + n] = f[B + k * NF + n0 + n]!;
    f.fill(7, C, C + P * NF);
    f.fill(7, Cn, Cn + P * NF);
    g.nnR!(4 * (A + k0), 4 * (B + k0 * NF), 4 * C, blocks, KR, NF, 4 * S, KF, 0);
    g.nnR!(4 * Ak, 4 * Bk, 4 * R1, blocks, KR, NF, 4 * S);
    g.nnR!(4 * A, 4 * (B + n0), 4 * (Cn + n0), blocks, KF, NR, 4 * S, 0, NF);
    g.nnR!(4 * A, 4 * Bn, 4 * R2, blocks, KF, NR, 4 * S);
    g.nn!(4 * (Ai + 4 * k0), 4 * (B + k0 * NF), 4 * C3, blocks, KR, NF, 4 * S, KF, 0);
    g.nn!(4 * Aki, 4 * Bk, 4 * R3, blocks, KR, NF, 4 * S);
    const eq = (x: number, y: number, n: number) => Buffer.from(f.slice(x, x + n).buffer).equals(Buffer.from(f.slice(y, y + n).buffer));
    expect(eq(C, R1, P * NF)).toBe(true);
    expect(eq(C3, R1, P * NF)).toBe(true);
    expect(eq(C3, R3, P * NF)).toBe(true);
    for (let p = 0; p < P; p++) {
      expect(eq(Cn + p * NF + n0, R2 + p * NR, NR)).toBe(true);
      for (let n = 0; n < NF; n++) if (n < n0 || n >= n1) expect(f[Cn + p * NF + n]).toBe(7);
    }
  });
});
