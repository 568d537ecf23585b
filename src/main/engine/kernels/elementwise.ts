/**
 * Element-wise kernels that are slow on stock wasm and frequent in a GAN step (measured per call
 * at 256 px on [1,128,128,64], ~1M floats): LeakyRelu ~5 ms and its gradient (Greater + Select +
 * Multiply, tfjs-core's formula) ~10 ms; Concat of two [1,256,256,3] images along channels
 * ~10 ms. LeakyRelu and its gradient are one SIMD pass each (hand-assembled like adam-simd.ts;
 * a JS loop over the heap measured ~6 ns per element, slower than stock), Concat block copies.
 */
import * as tf from '@tensorflow/tfjs';
import { BLOCK, END, F32, I32, LOOP, V128, get, instantiateOn, isSharedMemory, set, simd, sleb, uleb, vec, perMemory, fnType, wasmModule } from './wasm-asm';
import { type BackendWasm, type TensorInfo, heapF32 as heap, heapMemory, heapOffset, runStock } from './wasm-util';

/**
 * leaky(x, o, n4, alpha):       o = max(x, alpha * x)            (0 <= alpha <= 1)
 * leakyGrad(x, dy, o, n4, alpha): o = x > 0 ? dy : alpha * dy
 * over n4 groups of 4 floats; colSum(x, out, rows, c4): out[c] += x[r, c] for every row r of a
 * [rows, 4*c4] matrix (rows in order); relu(x, o, n4): o = max(x, 0); biasAdd(x, b, o, rows, c4):
 * o[r, c] = x[r, c] + b[c] over a [rows, 4*c4] matrix. Pointers are heap byte offsets.
 */
function elementwiseModule(shared: boolean): Uint8Array {
  const load = [...simd(0x00), 4, 0];
  const store = [...simd(0x0b), 4, 0];
  const splat = simd(0x13); // f32x4.splat
  const fmul = simd(0xe6);
  const fmax = simd(0xe9);
  const fgt = simd(0x44);
  const bitselect = simd(0x52);
  const zero = [...simd(0x0c), ...new Array(16).fill(0)];
  const add = (local: number, n: number) => [...get(local), 0x41, ...uleb(n), 0x6a, ...set(local)];
  // leaky: params x 0, o 1, n4 2, alpha 3 (f32); locals: a (v128) 4
  const leaky = [
    ...vec([[1, V128]]),
    ...get(3), ...splat, ...set(4),
    ...BLOCK, ...get(2), 0x45, 0x0d, 0, ...LOOP,
    ...get(1), ...get(0), ...load, ...get(0), ...load, ...get(4), ...fmul, ...fmax, ...store,
    ...add(0, 16), ...add(1, 16),
    ...get(2), 0x41, 1, 0x6b, 0x22, 2, 0x0d, 0, ...END, ...END, ...END,
  ];
  // leakyGrad: params x 0, dy 1, o 2, n4 3, alpha 4 (f32); locals: a 5, d 6 (v128)
  const grad = [
    ...vec([[2, V128]]),
    ...get(4), ...splat, ...set(5),
    ...BLOCK, ...get(3), 0x45, 0x0d, 0, ...LOOP,
    ...get(1), ...load, ...set(6),
    ...get(2), ...get(6), ...get(6), ...get(5), ...fmul, ...get(0), ...load, ...zero, ...fgt, ...bitselect, ...store,
    ...add(0, 16), ...add(1, 16), ...add(2, 16),
    ...get(3), 0x41, 1, 0x6b, 0x22, 3, 0x0d, 0, ...END, ...END, ...END,
  ];
  // colSum: params x 0, out 1, rows 2, c4 3; locals p 4, j 5 (i32). out (zeroed by the caller) += each row of x
  const fadd = simd(0xe4);
  const colSum = [
    ...vec([[2, I32]]),
    ...BLOCK, ...get(2), 0x45, 0x0d, 0, ...LOOP,
    ...get(1), ...set(4), ...get(3), ...set(5),
    ...LOOP,
    ...get(4), ...get(4), ...load, ...get(0), ...load, ...fadd, ...store,
    ...add(0, 16), ...add(4, 16),
    ...get(5), 0x41, 1, 0x6b, 0x22, 5, 0x0d, 0, ...END,
    ...get(2), 0x41, 1, 0x6b, 0x22, 2, 0x0d, 0, ...END, ...END, ...END,
  ];
  // relu: params x 0, o 1, n4 2; locals: z (v128) 3 (zero)
  const relu = [
    ...vec([[1, V128]]),
    ...BLOCK, ...get(2), 0x45, 0x0d, 0, ...LOOP,
    ...get(1), ...get(0), ...load, ...get(3), ...fmax, ...store,
    ...add(0, 16), ...add(1, 16),
    ...get(2), 0x41, 1, 0x6b, 0x22, 2, 0x0d, 0, ...END, ...END, ...END,
  ];
  // biasAdd: params x 0, b 1, o 2, rows 3, c4 4; locals p 5, j 6 (i32): each row of x plus b
  const biasAdd = [
    ...vec([[2, I32]]),
    ...BLOCK, ...get(3), 0x45, 0x0d, 0, ...LOOP,
    ...get(1), ...set(5), ...get(4), ...set(6),
    ...LOOP,
    ...get(2), ...get(0), ...load, ...get(5), ...load, ...fadd, ...store,
    ...add(0, 16), ...add(2, 16), ...add(5, 16),
    ...get(6), 0x41, 1, 0x6b, 0x22, 6, 0x0d, 0, ...END,
    ...get(3), 0x41, 1, 0x6b, 0x22, 3, 0x0d, 0, ...END, ...END, ...END,
  ];
  // tanh: params x 0, o 1, n4 2; locals v 3, d 4, a 5, k 6, r 7, e 8, s 9, lo 10 (v128). Each half
  // of 4 floats in float64 (then rounded to float32: the same as float32(Math.tanh(x)) but for
  // rare ties; tfjs's cpu backend and the stock kernel round Math.tanh too, and Adam turns even
  // 1e-7 differences of a tanh output into different steps for near-zero gradients). For
  // |x| >= 0.125: 1 - 2 / (e^(2|x|) + 1) with the sign of x, e^a = 2^k p(r) (k = nearest(a log2 e),
  // r = a - k ln 2 in two parts, p of degree 9: relative error ~1e-11), a clamped to 40; below, the
  // odd series to x^11 (relative error < 2e-14), where the first form would lose x's low bits
  const dc = (v: number) => [0x44, ...new Uint8Array(Float64Array.of(v).buffer), ...simd(0x14)];
  const dabs = simd(0xec), dadd = simd(0xf0), dsub = simd(0xf1), dmul = simd(0xf2), ddiv = simd(0xf3), dmin = simd(0xf4), dlt = simd(0x49), dnearest = simd(0x94);
  const truncSatZero = simd(0xfc), extendLow = simd(0xc7), i64splat = simd(0x12), i64add = simd(0xce), i64shl = simd(0xcb);
  const vand = simd(0x4e), vor = simd(0x50), promoteLow = simd(0x5f), demoteZero = simd(0x5e);
  const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes];
  const horner = (x: number, cs: number[]) => [...dc(cs[0]!), ...cs.slice(1).flatMap((c) => [...get(x), ...dmul, ...dc(c), ...dadd])];
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  /** tanh of the f64x2 in local d, left on the stack */
  const tanh2 = (d: number) => [
    ...get(d), ...dabs, ...dc(2), ...dmul, ...dc(40), ...dmin, ...set(5),
    ...get(5), ...dc(Math.LOG2E), ...dmul, ...dnearest, ...set(6),
    ...get(5), ...get(6), ...dc(6.93147180369123816490e-1), ...dmul, ...dsub, ...get(6), ...dc(1.90821492927058770002e-10), ...dmul, ...dsub, ...set(7),
    ...horner(7, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((n) => 1 / fact(n))),
    ...get(6), ...truncSatZero, ...extendLow, 0x42, ...sleb(1023), ...i64splat, ...i64add, 0x41, 52, ...i64shl, ...dmul, ...set(8),
    ...dc(1), ...dc(2), ...get(8), ...dc(1), ...dadd, ...ddiv, ...dsub,
    ...get(d), ...dc(-0), ...vand, ...vor, ...set(8),
    ...get(d), ...get(d), ...dmul, ...set(9),
    ...horner(9, [-1382 / 155925, 62 / 2835, -17 / 315, 2 / 15, -1 / 3, 1]), ...get(d), ...dmul,
    ...get(8),
    ...get(d), ...dabs, ...dc(0.125), ...dlt,
    ...bitselect,
  ];
  const tanh = [
    ...vec([[8, V128]]),
    ...BLOCK, ...get(2), 0x45, 0x0d, 0, ...LOOP,
    ...get(0), ...load, ...set(3),
    ...get(3), ...promoteLow, ...set(4),
    ...tanh2(4), ...demoteZero, ...set(10),
    ...get(3), ...get(3), ...shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]), ...promoteLow, ...set(4),
    ...get(1),
    ...get(10), ...tanh2(4), ...demoteZero, ...shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]),
    ...store,
    ...add(0, 16), ...add(1, 16),
    ...get(2), 0x41, 1, 0x6b, 0x22, 2, 0x0d, 0, ...END, ...END, ...END,
  ];
  // tanhGrad: params y 0, dy 1, o 2, n4 3: o = (1 - y * y) * dy, tfjs-core's Tanh gradient in one pass
  const fc = (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer), ...splat];
  const fsub = simd(0xe5);
  const tanhGrad = [
    ...vec([]),
    ...BLOCK, ...get(3), 0x45, 0x0d, 0, ...LOOP,
    ...get(2), ...fc(1), ...get(0), ...load, ...get(0), ...load, ...fmul, ...fsub, ...get(1), ...load, ...fmul, ...store,
    ...add(0, 16), ...add(1, 16), ...add(2, 16),
    ...get(3), 0x41, 1, 0x6b, 0x22, 3, 0x0d, 0, ...END, ...END, ...END,
  ];
  const t0 = fnType([I32, I32, I32, F32]);
  const t1 = fnType([I32, I32, I32, I32, F32]);
  const t2 = fnType([I32, I32, I32, I32]);
  const t3 = fnType([I32, I32, I32]);
  const t4 = fnType([I32, I32, I32, I32, I32]);
  return wasmModule(shared, [t0, t1, t2, t3, t4], [
    { name: 'leaky', type: 0, body: leaky },
    { name: 'leakyGrad', type: 1, body: grad },
    { name: 'colSum', type: 2, body: colSum },
    { name: 'relu', type: 3, body: relu },
    { name: 'biasAdd', type: 4, body: biasAdd },
    { name: 'tanh', type: 3, body: tanh },
    { name: 'tanhGrad', type: 2, body: tanhGrad },
  ]);
}

interface ElementwiseSimd {
  leaky(x: number, o: number, n4: number, alpha: number): void;
  leakyGrad(x: number, dy: number, o: number, n4: number, alpha: number): void;
  colSum(x: number, out: number, rows: number, c4: number): void;
  relu(x: number, o: number, n4: number): void;
  biasAdd(x: number, b: number, o: number, rows: number, c4: number): void;
  tanh(x: number, o: number, n4: number): void;
  tanhGrad(y: number, dy: number, o: number, n4: number): void;
}
/** Calls that ran the SIMD pass (tests check the path they mean to test was taken). */
export const elementwiseSimdCalls = { leaky: 0, leakyGrad: 0, colSum: 0, relu: 0, biasAdd: 0, tanh: 0, tanhGrad: 0 };
// null: the JS loops below
const simdOn = perMemory((memory) => instantiateOn(memory, elementwiseModule(isSharedMemory(memory))) as unknown as ElementwiseSimd);
const simdFor = (backend: BackendWasm): ElementwiseSimd | null => simdOn(heapMemory(backend));

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** y = x < 0 ? alpha * x : x (the cpu backend's formula). */
export function leakyReluWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { alpha } = args.attrs as unknown as { alpha: number };
  if (x.dtype !== 'float32') return runStock(backend, 'LeakyRelu', { x }, args.attrs as Record<string, unknown>);
  const out = backend.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  const g = alpha >= 0 && alpha <= 1 ? simdFor(backend) : null;
  const n4 = g ? n >> 2 : 0;
  if (g && n4) {
    g.leaky(heapOffset(backend, x), heapOffset(backend, out), n4, alpha);
    elementwiseSimdCalls.leaky++;
  }
  const xv = heap(backend, x);
  const o = heap(backend, out);
  for (let i = n4 * 4; i < n; i++) {
    const v = xv[i]!;
    o[i] = v < 0 ? alpha * v : v;
  }
  return out;
}

/** dx = x > 0 ? dy : alpha * dy (tfjs-core's LeakyRelu gradient, in one pass). */
export function leakyReluGradWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
  const { alpha } = args.attrs as unknown as { alpha: number };
  const out = backend.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  const g = simdFor(backend);
  const n4 = g ? n >> 2 : 0;
  if (g && n4) {
    g.leakyGrad(heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), n4, alpha);
    elementwiseSimdCalls.leakyGrad++;
  }
  const xv = heap(backend, x);
  const dv = heap(backend, dy);
  const o = heap(backend, out);
  for (let i = n4 * 4; i < n; i++) o[i] = xv[i]! > 0 ? dv[i]! : alpha * dv[i]!;
  return out;
}

/** y = max(x, 0) in one SIMD pass (stock Relu: ~1 ms per 256K floats, scalar). */
export function reluWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype !== 'float32') return runStock(backend, 'Relu', { x });
  const out = backend.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  const g = simdFor(backend);
  const n4 = g ? n >> 2 : 0;
  if (g && n4) {
    g.relu(heapOffset(backend, x), heapOffset(backend, out), n4);
    elementwiseSimdCalls.relu++;
  }
  const xv = heap(backend, x);
  const o = heap(backend, out);
  for (let i = n4 * 4; i < n; i++) {
    const v = xv[i]!;
    o[i] = v < 0 ? 0 : v;
  }
  return out;
}

/**
 * ATELIER_TANH=0: the stock Tanh (scalar: ~0.9 ms per [1,128,128,3] call, the generators' output)
 * and tfjs-core's gradient (Square, Sub, Multiply and a scalar) instead of one SIMD pass each.
 */
export const tanhOptions = { enabled: process.env.ATELIER_TANH !== '0' };

/** y = tanh(x) in one SIMD pass (within ~2e-7 of Math.tanh; see the module); other dtypes: stock. */
export function tanhWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const g = tanhOptions.enabled && x.dtype === 'float32' ? simdFor(backend) : null;
  if (!g) return runStock(backend, 'Tanh', { x });
  const out = backend.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  const n4 = n >> 2;
  if (n4) {
    g.tanh(heapOffset(backend, x), heapOffset(backend, out), n4);
    elementwiseSimdCalls.tanh++;
  }
  const xv = heap(backend, x);
  const o = heap(backend, out);
  for (let i = n4 * 4; i < n; i++) o[i] = Math.tanh(xv[i]!);
  return out;
}

/** dx = (1 - y^2) * dy (tfjs-core's Tanh gradient, same float32 operations) in one pass. */
export function tanhGradWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { y, dy } = args.inputs as { y: TensorInfo; dy: TensorInfo };
  const out = backend.makeOutput(y.shape, 'float32');
  const n = tf.util.sizeFromShape(y.shape);
  const g = simdFor(backend);
  const n4 = g ? n >> 2 : 0;
  if (g && n4) {
    g.tanhGrad(heapOffset(backend, y), heapOffset(backend, dy), heapOffset(backend, out), n4);
    elementwiseSimdCalls.tanhGrad++;
  }
  const yv = heap(backend, y);
  const dv = heap(backend, dy);
  const o = heap(backend, out);
  for (let i = n4 * 4; i < n; i++) o[i] = Math.fround(1 - Math.fround(yv[i]! * yv[i]!)) * dv[i]!;
  return out;
}

/**
 * Add where one operand is a per-channel vector ([C] or [1, ..., 1, C], at most the other's rank:
 * a convolution's bias, ~80 calls per CycleGAN step): one pass adding it to each row. The stock
 * kernel's broadcasting path took ~1.4 ms per [1,32,32,256] call (~5 ns per element). Other
 * shapes and dtypes: stock.
 */
export function addWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const isBias = (x: TensorInfo, v: TensorInfo) => {
    const C = x.shape[x.shape.length - 1];
    return (
      x.shape.length >= 2 && v.shape.length >= 1 && v.shape.length <= x.shape.length && C != null && C > 0 &&
      v.shape[v.shape.length - 1] === C && v.shape.slice(0, -1).every((d) => d === 1) && tf.util.sizeFromShape(x.shape) > C
    );
  };
  const floats = a.dtype === 'float32' && b.dtype === 'float32';
  const [x, v] = floats && isBias(a, b) ? [a, b] : floats && isBias(b, a) ? [b, a] : [null, null];
  if (!x || !v) return runStock(backend, 'Add', { a, b });
  const C = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / C;
  const out = backend.makeOutput(x.shape, 'float32');
  const g = C % 4 === 0 ? simdFor(backend) : null;
  if (g) {
    g.biasAdd(heapOffset(backend, x), heapOffset(backend, v), heapOffset(backend, out), rows, C >> 2);
    elementwiseSimdCalls.biasAdd++;
    return out;
  }
  const xv = heap(backend, x);
  const bv = heap(backend, v);
  const o = heap(backend, out);
  for (let r = 0, i = 0; r < rows; r++) for (let c = 0; c < C; c++, i++) o[i] = xv[i]! + bv[c]!;
  return out;
}

/** Concat along the last axis (channels) of float32 tensors; other cases: stock. */
export function concatWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const xs = Object.values(args.inputs) as TensorInfo[];
  const { axis } = args.attrs as unknown as { axis: number | number[] };
  const rank = xs[0]?.shape.length ?? 0;
  const ax = tf.util.parseAxisParam(axis, xs[0]?.shape ?? [])[0];
  const lead = xs[0]?.shape.slice(0, -1) ?? [];
  const ok =
    xs.length > 1 && rank > 0 && ax === rank - 1 &&
    xs.every((t) => t.dtype === 'float32' && t.shape.length === rank && t.shape.slice(0, -1).every((d, i) => d === lead[i]) && t.shape[rank - 1]! > 0);
  if (!ok) return runStock(backend, 'Concat', args.inputs as unknown as Record<string, TensorInfo>, args.attrs as Record<string, unknown>);
  const widths = xs.map((t) => t.shape[rank - 1]!);
  const W = widths.reduce((a, b) => a + b, 0);
  const rows = lead.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([...lead, W], 'float32');
  const o = heap(backend, out);
  let col = 0;
  for (let k = 0; k < xs.length; k++) {
    const v = heap(backend, xs[k]!);
    const w = widths[k]!;
    if (w >= 16) {
      for (let r = 0; r < rows; r++) o.set(v.subarray(r * w, (r + 1) * w), r * W + col);
    } else {
      for (let r = 0, s = 0; r < rows; r++) for (let c = 0, d = r * W + col; c < w; c++) o[d + c] = v[s++]!;
    }
    col += w;
  }
  return out;
}

/**
 * Sum / Mean over every axis but the last (per-channel statistics: batch and instance norm
 * moments and their gradients, bias gradients): one pass adding rows of 4-float groups. The
 * stock kernels transpose first when the reduced axes are not innermost (~2-3 ms per 256K floats).
 */
function channelReduce(kind: 'Sum' | 'Mean', args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const C = x.shape[rank - 1] ?? 0;
  const rows = tf.util.sizeFromShape(x.shape) / Math.max(1, C);
  const g = simdFor(backend);
  if (!g || x.dtype !== 'float32' || rank < 2 || C % 4 !== 0 || rows === 0 || axes.length !== rank - 1 || axes.some((a, i) => a !== i)) {
    return runStock(backend, kind, { x }, args.attrs as Record<string, unknown>);
  }
  const out = backend.makeOutput(keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C], 'float32');
  const o = heap(backend, out);
  o.fill(0);
  g.colSum(heapOffset(backend, x), heapOffset(backend, out), rows, C >> 2);
  elementwiseSimdCalls.colSum++;
  if (kind === 'Mean') for (let c = 0; c < C; c++) o[c] = o[c]! / rows;
  return out;
}

export const LEAKY_RELU_GRAD = 'AtelierLeakyReluGrad';
export const TANH_GRAD = 'AtelierTanhGrad';
export const tanhConfig: tf.KernelConfig = { kernelName: 'Tanh', backendName: 'wasm', kernelFunc: tanhWasm as unknown as tf.KernelFunc };
export const tanhGradConfig: tf.KernelConfig = { kernelName: TANH_GRAD, backendName: 'wasm', kernelFunc: tanhGradWasm as unknown as tf.KernelFunc };
export const sumConfig: tf.KernelConfig = { kernelName: 'Sum', backendName: 'wasm', kernelFunc: ((a: KernelArgs) => channelReduce('Sum', a)) as unknown as tf.KernelFunc };
export const meanConfig: tf.KernelConfig = { kernelName: 'Mean', backendName: 'wasm', kernelFunc: ((a: KernelArgs) => channelReduce('Mean', a)) as unknown as tf.KernelFunc };

export const leakyReluConfig: tf.KernelConfig = { kernelName: 'LeakyRelu', backendName: 'wasm', kernelFunc: leakyReluWasm as unknown as tf.KernelFunc };
export const leakyReluGradConfig: tf.KernelConfig = { kernelName: LEAKY_RELU_GRAD, backendName: 'wasm', kernelFunc: leakyReluGradWasm as unknown as tf.KernelFunc };
export const reluConfig: tf.KernelConfig = { kernelName: 'Relu', backendName: 'wasm', kernelFunc: reluWasm as unknown as tf.KernelFunc };
export const addConfig: tf.KernelConfig = { kernelName: 'Add', backendName: 'wasm', kernelFunc: addWasm as unknown as tf.KernelFunc };
export const concatConfig: tf.KernelConfig = { kernelName: 'Concat', backendName: 'wasm', kernelFunc: concatWasm as unknown as tf.KernelFunc };

/**
 * LeakyRelu's and Relu's gradients as one kernel on wasm (where AtelierLeakyReluGrad is
 * registered); every other backend keeps tfjs-core's formulas. Relu's is the same kernel with
 * alpha 0: x > 0 ? dy : 0 * dy, what tfjs-core's dy * cast(step(x)) computes (Step + Cast +
 * Multiply, three passes) for every x but NaN. Tanh's likewise: AtelierTanhGrad, (1 - y^2) * dy in
 * one pass instead of Square, Sub (with a new scalar) and Multiply. Registered once, globally
 * (gradients are not per backend).
 */
export function registerLeakyReluGradient(): void {
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const d = dy as tf.Tensor;
      if (tf.getBackend() === 'wasm' && tf.getKernel(LEAKY_RELU_GRAD, 'wasm') && d.dtype === 'float32' && x!.dtype === 'float32' && tf.util.arraysEqual(d.shape, x!.shape)) {
        return { x: () => tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: d, x: x! }, { alpha: 0 } as unknown as tf.NamedAttrMap) as tf.Tensor };
      }
      return { x: () => tf.mul(d, tf.cast(tf.step(x!), 'float32')) };
    },
  });
  tf.registerGradient({
    kernelName: 'Tanh',
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [tf.Tensor];
      const d = dy as tf.Tensor;
      if (tanhOptions.enabled && tf.getBackend() === 'wasm' && tf.getKernel(TANH_GRAD, 'wasm') && d.dtype === 'float32' && y!.dtype === 'float32' && tf.util.arraysEqual(d.shape, y!.shape)) {
        return { x: () => tf.engine().runKernel(TANH_GRAD, { y: y!, dy: d }, {}) as tf.Tensor };
      }
      return { x: () => tf.mul(tf.sub(tf.scalar(1), tf.square(y!)), d) };
    },
  });
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { alpha } = attrs as unknown as { alpha: number };
      const d = dy as tf.Tensor;
      if (tf.getBackend() === 'wasm' && tf.getKernel(LEAKY_RELU_GRAD, 'wasm') && d.dtype === 'float32' && tf.util.arraysEqual(d.shape, x!.shape)) {
        return { x: () => tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: d, x: x! }, { alpha } as unknown as tf.NamedAttrMap) as tf.Tensor };
      }
      return { x: () => tf.where(tf.greater(x!, 0), d, tf.mul(d, alpha)) };
    },
  });
}
