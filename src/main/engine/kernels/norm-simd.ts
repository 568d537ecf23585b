/**
 * WebAssembly SIMD passes for instance normalisation (norm-pad.ts), hand-assembled like
 * elementwise.ts. Both work on one sample's [rows, 4*c4] block (channels innermost); pointers are
 * heap byte offsets.
 *
 *   moments(a, b, acc1, acc2, rows, c4)   acc1[c] += a[r,c], acc2[c] += a[r,c] * b[r,c]
 *       acc1, acc2: float64 [4*c4], zeroed by the caller. The products and sums are float64
 *       (f32 x f32 is exact in f64), so sum(x^2)/N - mean^2 has no float32 cancellation; with
 *       a = b = x these are the forward's sum and sum of squares, with a = dy, b = xhat the
 *       gradient's two sums: one read pass each way instead of the JS loops' two.
 *   combine(a, b, p, q, r, o, rows, c4)  o[r,c] = (a[r,c] - p[c] - b[r,c] * q[c]) * r[c]
 *       float32; forward: a = b = x, p = mean, q = 0, r = rstd; gradient: a = dy, b = xhat,
 *       p = mean(dy), q = mean(dy * xhat), r = rstd.
 */
import { BLOCK, END, I32, LOOP, V128, countDown, get, set, simd, uleb, vec, fnType, wasmModule } from './wasm-asm';

export interface NormSimd {
  moments(a: number, b: number, acc1: number, acc2: number, rows: number, c4: number): void;
  combine(a: number, b: number, p: number, q: number, r: number, o: number, rows: number, c4: number): void;
}

export function normModule(shared: boolean): Uint8Array {
  const load = (offset = 0) => [...simd(0x00), 4, ...uleb(offset)];
  const store = (offset = 0) => [...simd(0x0b), 4, ...uleb(offset)];
  const promoteLow = simd(0x5f); // f64x2.promote_low_f32x4
  // lanes 2, 3 to 0, 1 (i8x16.shuffle of the vector with itself)
  const high = [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
  const dadd = simd(0xf0), dmul = simd(0xf2);
  const fsub = simd(0xe5), fmul = simd(0xe6);
  const add = (local: number, n: number) => [...get(local), 0x41, ...uleb(n), 0x6a, ...set(local)];
  /** mem[ptr + off] (f64x2) += v (on the stack) */
  const accumulate = (ptr: number, off: number, v: number[]) => [...get(ptr), ...get(ptr), ...load(off), ...v, ...dadd, ...store(off)];

  // moments: params a 0, b 1, acc1 2, acc2 3, rows 4, c4 5; locals p1 6, p2 7, j 8 (i32),
  // alo 9, ahi 10, va 11, vb 12 (v128)
  const moments = [
    ...vec([[3, I32], [4, V128]]),
    ...BLOCK, ...get(4), 0x45, 0x0d, 0, ...get(5), 0x45, 0x0d, 0, ...LOOP,
    ...get(2), ...set(6), ...get(3), ...set(7), ...get(5), ...set(8),
    ...LOOP,
    ...get(0), ...load(), ...set(11), ...get(1), ...load(), ...set(12),
    ...get(11), ...promoteLow, ...set(9),
    ...get(11), ...get(11), ...high, ...promoteLow, ...set(10),
    ...accumulate(6, 0, get(9)),
    ...accumulate(6, 16, get(10)),
    ...accumulate(7, 0, [...get(9), ...get(12), ...promoteLow, ...dmul]),
    ...accumulate(7, 16, [...get(10), ...get(12), ...get(12), ...high, ...promoteLow, ...dmul]),
    ...add(0, 16), ...add(1, 16), ...add(6, 32), ...add(7, 32),
    ...countDown(8), ...END,
    ...countDown(4), ...END, ...END, ...END,
  ];
  // combine: params a 0, b 1, p 2, q 3, r 4, o 5, rows 6, c4 7; locals pp 8, pq 9, pr 10, j 11 (i32)
  const combine = [
    ...vec([[4, I32]]),
    ...BLOCK, ...get(6), 0x45, 0x0d, 0, ...get(7), 0x45, 0x0d, 0, ...LOOP,
    ...get(2), ...set(8), ...get(3), ...set(9), ...get(4), ...set(10), ...get(7), ...set(11),
    ...LOOP,
    ...get(5),
    ...get(0), ...load(), ...get(8), ...load(), ...fsub,
    ...get(1), ...load(), ...get(9), ...load(), ...fmul, ...fsub,
    ...get(10), ...load(), ...fmul,
    ...store(),
    ...add(0, 16), ...add(1, 16), ...add(5, 16), ...add(8, 16), ...add(9, 16), ...add(10, 16),
    ...countDown(11), ...END,
    ...countDown(6), ...END, ...END, ...END,
  ];
  const i32s = (n: number) => fnType(new Array(n).fill(I32));
  return wasmModule(shared, [i32s(6), i32s(8)], [
    { name: 'moments', type: 0, body: moments },
    { name: 'combine', type: 1, body: combine },
  ]);
}
