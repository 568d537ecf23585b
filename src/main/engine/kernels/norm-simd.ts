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
 *
 * Instance norm followed by ReLU / LeakyReLU (norm-pad.ts's AtelierInstanceNormAct): xhat is not
 * kept but made again from x, the mean m and rstd r, by the same float32 operations as combine
 * ((x - m - x * 0) * r = (x - m) * r), and g = xhat > 0 ? dy : alpha * dy as the LeakyRelu
 * gradient kernel computes it; alpha travels as its float32 bit pattern (all-integer signatures):
 *   actCombine(x, m, r, o, rows, c4, alpha)              o = max(xhat, alpha * xhat)
 *   actMoments(dy, x, m, r, acc1, acc2, rows, c4, alpha)  acc1[c] += g, acc2[c] += g * xhat (f64)
 *   actGradCombine(dy, x, m, r, p, q, o, rows, c4, alpha) o = (g - p[c] - xhat * q[c]) * r[c]
 */
import { BLOCK, END, I32, LOOP, V128, countDown, get, set, simd, tee, uleb, vec, fnType, wasmModule } from './wasm-asm';

export interface NormSimd {
  moments(a: number, b: number, acc1: number, acc2: number, rows: number, c4: number): void;
  combine(a: number, b: number, p: number, q: number, r: number, o: number, rows: number, c4: number): void;
  actCombine(x: number, m: number, r: number, o: number, rows: number, c4: number, alphaBits: number): void;
  actMoments(dy: number, x: number, m: number, r: number, acc1: number, acc2: number, rows: number, c4: number, alphaBits: number): void;
  actGradCombine(dy: number, x: number, m: number, r: number, p: number, q: number, o: number, rows: number, c4: number, alphaBits: number): void;
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
  const fmax = simd(0xe9), fgt = simd(0x44), bitselect = simd(0x52), splat = simd(0x13);
  const zero = [...simd(0x0c), ...new Array(16).fill(0)];
  const alphaSplat = (bits: number) => [...get(bits), 0xbe /* f32.reinterpret_i32 */, ...splat];
  /** xhat = (x - m) * r on the stack (x, m, r: pointer locals) */
  const xhat = (x: number, m: number, r: number) => [...get(x), ...load(), ...get(m), ...load(), ...fsub, ...get(r), ...load(), ...fmul];
  /** g = xhat > 0 ? dy : dy * alpha (dy pointer, xhat and alpha vector locals; g: a v128 local) */
  const gate = (dy: number, xh: number, va: number, g: number) => [
    ...get(dy), ...load(), ...tee(g), ...get(g), ...get(va), ...fmul, ...get(xh), ...zero, ...fgt, ...bitselect, ...set(g),
  ];
  // actCombine: params x 0, m 1, r 2, o 3, rows 4, c4 5, alpha 6; locals pm 7, pr 8, j 9 (i32), va 10, xh 11 (v128)
  const actCombine = [
    ...vec([[3, I32], [2, V128]]),
    ...alphaSplat(6), ...set(10),
    ...BLOCK, ...get(4), 0x45, 0x0d, 0, ...get(5), 0x45, 0x0d, 0, ...LOOP,
    ...get(1), ...set(7), ...get(2), ...set(8), ...get(5), ...set(9),
    ...LOOP,
    ...get(3), ...xhat(0, 7, 8), ...tee(11), ...get(11), ...get(10), ...fmul, ...fmax, ...store(),
    ...add(0, 16), ...add(3, 16), ...add(7, 16), ...add(8, 16),
    ...countDown(9), ...END,
    ...countDown(4), ...END, ...END, ...END,
  ];
  // actMoments: params dy 0, x 1, m 2, r 3, acc1 4, acc2 5, rows 6, c4 7, alpha 8;
  // locals pm 9, pr 10, p1 11, p2 12, j 13 (i32), va 14, xh 15, g 16, glo 17, ghi 18 (v128)
  const actMoments = [
    ...vec([[5, I32], [5, V128]]),
    ...alphaSplat(8), ...set(14),
    ...BLOCK, ...get(6), 0x45, 0x0d, 0, ...get(7), 0x45, 0x0d, 0, ...LOOP,
    ...get(2), ...set(9), ...get(3), ...set(10), ...get(4), ...set(11), ...get(5), ...set(12), ...get(7), ...set(13),
    ...LOOP,
    ...xhat(1, 9, 10), ...set(15),
    ...gate(0, 15, 14, 16),
    ...get(16), ...promoteLow, ...set(17),
    ...get(16), ...get(16), ...high, ...promoteLow, ...set(18),
    ...accumulate(11, 0, get(17)),
    ...accumulate(11, 16, get(18)),
    ...accumulate(12, 0, [...get(17), ...get(15), ...promoteLow, ...dmul]),
    ...accumulate(12, 16, [...get(18), ...get(15), ...get(15), ...high, ...promoteLow, ...dmul]),
    ...add(0, 16), ...add(1, 16), ...add(9, 16), ...add(10, 16), ...add(11, 32), ...add(12, 32),
    ...countDown(13), ...END,
    ...countDown(6), ...END, ...END, ...END,
  ];
  // actGradCombine: params dy 0, x 1, m 2, r 3, p 4, q 5, o 6, rows 7, c4 8, alpha 9;
  // locals pm 10, pr 11, pp 12, pq 13, j 14 (i32), va 15, xh 16, g 17 (v128)
  const actGradCombine = [
    ...vec([[5, I32], [3, V128]]),
    ...alphaSplat(9), ...set(15),
    ...BLOCK, ...get(7), 0x45, 0x0d, 0, ...get(8), 0x45, 0x0d, 0, ...LOOP,
    ...get(2), ...set(10), ...get(3), ...set(11), ...get(4), ...set(12), ...get(5), ...set(13), ...get(8), ...set(14),
    ...LOOP,
    ...xhat(1, 10, 11), ...set(16),
    ...gate(0, 16, 15, 17),
    ...get(6),
    ...get(17), ...get(12), ...load(), ...fsub,
    ...get(16), ...get(13), ...load(), ...fmul, ...fsub,
    ...get(11), ...load(), ...fmul,
    ...store(),
    ...add(0, 16), ...add(1, 16), ...add(6, 16), ...add(10, 16), ...add(11, 16), ...add(12, 16), ...add(13, 16),
    ...countDown(14), ...END,
    ...countDown(7), ...END, ...END, ...END,
  ];
  const i32s = (n: number) => fnType(new Array(n).fill(I32));
  return wasmModule(shared, [i32s(6), i32s(8), i32s(7), i32s(9), i32s(10)], [
    { name: 'moments', type: 0, body: moments },
    { name: 'combine', type: 1, body: combine },
    { name: 'actCombine', type: 2, body: actCombine },
    { name: 'actMoments', type: 3, body: actMoments },
    { name: 'actGradCombine', type: 4, body: actGradCombine },
  ]);
}
