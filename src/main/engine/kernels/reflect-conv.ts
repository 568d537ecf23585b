/**
 * The input gradient of "reflection-pad by 1, then a 3x3 stride-1 'valid' convolution" (the ResNet
 * generator's residual blocks) in one kernel, without the padded map's gradient.
 *
 * As two ops, the gradient is Conv2DBackpropInput onto the padded [B, H+2, W+2, CI] map, then
 * AtelierReflectPadGrad folding its border back onto the map. At 128 px (32x32 maps) Winograd
 * F(4x4,3x3) takes 9x9 tiles for the padded 34x34 output, 27% more products than the 8x8 tiles of
 * the 32x32 interior, then a crop copy and the fold pass. Here:
 *
 *   interior  dx = dxp[1..H, 1..W]: a 'same' convolution of dy with the rotated, swapped filter
 *             (winogradConv, padding 1: 8x8 tiles at 32x32, the rotated transform cached as for
 *             Conv2DBackpropInput)
 *   border    the padded map's outer ring, dxp row 0 and H+1 and column 0 and W+1, each a 1-D
 *             convolution of dy's first or last row or column with one row or column of 3 taps:
 *             four products [M, 3 CO] . [3 CO, CI] (M = W+2 or H rows of dy's windows, the taps'
 *             transposes stacked; cached per filter beside its Winograd transforms), then each
 *             ring pixel added onto the pixel it reflects: padded row 0 is row 1, row H+1 is row
 *             H-2, and the same for columns (the corners go with rows 0 and H+1).
 *
 * The ring's products are ~28M multiply-adds at 32x32x256x256 (4 x 36 rows x 768 x 256) against
 * ~47M saved by the smaller tile grid (17 tiles x 36 planes x 256 x 256): measured ~6% of the call
 * (kernels/README.md, ninth pass). Other shapes: the two kernels, inside this one.
 * layers/lazy-conv-grads.ts calls it for a convolution whose input came from ReflectionPadding2D
 * (p = 1), through a custom gradient (conv2d's own gradient would make the padded dx).
 */
import * as tf from '@tensorflow/tfjs';
import { createGemmSimd } from './gemm-simd';
import { STAGED_FN } from './gemm-pool';
import { REFLECT_PAD_GRAD } from './norm-pad';
import { createTranspose } from './winograd-simd';
import { type StagedExtra, type WinogradShape, filterData, forgetFilterData, freeFilterData, keepsFilterData, transposeGroups, winogradApplies, winogradConv, winogradOptions, winogradTransforms } from './winograd';
import { type BackendWasm, type TensorInfo, heapF32 as f32, heapMemory, heapOffset as off, release, run } from './wasm-util';

export const REFLECT_CONV_GRAD_INPUT = 'AtelierReflectConvGradInput';

/** ATELIER_REFLECT_CONV=0: the layers keep conv2d's own gradient and the pad's (A/B). */
export const reflectConvOptions = { enabled: process.env.ATELIER_REFLECT_CONV !== '0' };
/** Calls by path (tests check which ran). */
export const reflectConvCalls = { fused: 0, twoKernels: 0 };
/** Wall ms per part of the ring (scratch measurements; off in steps). */
export const ringPhases = { on: false, ms: {} as Record<string, number> };
function tick(k: string, t0: number): number {
  if (!ringPhases.on) return 0;
  const t = performance.now();
  if (k) ringPhases.ms[k] = (ringPhases.ms[k] ?? 0) + t - t0;
  return t;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/**
 * Taps of the four ring products, segment s = 0..2 of each: w[ky, kx] for top (row 0 of the padded
 * map, fed by dy's row 0 through the filter's row 0), bottom (row 2), left (column 0), right (column 2).
 * Segment s multiplies dy's pixel at offset s - 2 from the ring pixel (the window's reach), i.e. tap 2 - s.
 */
const RING_TAPS: [number, number][][] = [
  [[0, 2], [0, 1], [0, 0]],
  [[2, 2], [2, 1], [2, 0]],
  [[2, 0], [1, 0], [0, 0]],
  [[2, 2], [1, 2], [0, 2]],
];

/**
 * The fused path's Winograd shape: the interior's 'same' convolution of dy [B, H, W, CO] with the
 * rotated filter (s.CI = the forward's CO), or null where it does not apply.
 */
function interiorShape(dy: TensorInfo, filter: TensorInfo, p: number): WinogradShape | null {
  const [B, OH, OW, CO] = dy.shape as [number, number, number, number];
  const [KH, KW, CI, FCO] = filter.shape as [number, number, number, number];
  if (p !== 1 || KH !== 3 || KW !== 3 || FCO !== CO || OH < 2 || OW < 2 || CI % 8 !== 0 || CO % 8 !== 0) return null;
  const s: WinogradShape = { K: 3, B, H: OH, W: OW, CI: CO, OH, OW, CO: CI, padTop: 1, padLeft: 1 };
  return winogradApplies(s) ? s : null;
}

/** dx [B, H, W, CI] of reflect-pad(p) + 3x3 valid conv, given dy [B, H, W, CO] and the filter [3, 3, CI, CO]. */
function reflectConvGradInputWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const p = (args.attrs as unknown as { padding: number }).padding;
  const s = interiorShape(dy, filter, p);
  const g = s ? createGemmSimd(heapMemory(backend)) : null;
  const tw = g ? winogradTransforms(backend) : null;
  const transpose = tw ? createTranspose(heapMemory(backend)) : null;
  if (!s || !g || !tw || !transpose) return twoKernels(backend, dy, filter, p);
  const ring = ringOf(backend, g, transpose, dy, filter, s, s.B === 1 && winogradOptions.stagedTranspose);
  let dx: TensorInfo | null = null;
  try {
    if (s.B === 1) {
      // one image: its ring's products join the interior's staged hand-over where it takes one
      ring.windows(0);
      dx = winogradConv(backend, g, tw, dy, filter, s, true, ring.extra);
      if (!ring.extra.ran) ring.products();
      ring.fold(dx, 0);
    } else {
      dx = winogradConv(backend, g, tw, dy, filter, s, true);
      for (let b = 0; b < s.B; b++) {
        ring.windows(b);
        ring.products();
        ring.fold(dx, b);
      }
    }
  } catch (e) {
    release(backend, dx);
    throw e;
  } finally {
    ring.free();
  }
  reflectConvCalls.fused++;
  return dx;
}

/** Conv2DBackpropInput onto the padded map, then the pad's gradient (any p, filter and backend shape). */
function twoKernels(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, p: number): TensorInfo {
  const [B, OH, OW] = dy.shape as [number, number, number, number];
  const [KH, KW, CI] = filter.shape as [number, number, number, number];
  const inputShape = [B, OH + KH - 1, OW + KW - 1, CI];
  const dxp = run(backend, 'Conv2DBackpropInput', { dy, filter }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape });
  try {
    reflectConvCalls.twoKernels++;
    return run(backend, REFLECT_PAD_GRAD, { dy: dxp }, { padding: p });
  } finally {
    release(backend, dxp);
  }
}

/**
 * The padded map's ring (see the header) in parts: `windows(b)` copies image b's dy windows,
 * `products()` runs the four ring products (or `extra`, their groups for a staged Winograd call),
 * `fold(dx, b)` adds the ring onto dx by the reflection, `free()` releases the buffers. One buffer
 * for one image at a time.
 */
function ringOf(backend: BackendWasm, g: NonNullable<ReturnType<typeof createGemmSimd>>, transpose: NonNullable<ReturnType<typeof createTranspose>>, dy: TensorInfo, filter: TensorInfo, s: WinogradShape, deferTaps: boolean) {
  const { OH: H, OW: W } = s;
  const CO = s.CI, CI = s.CO; // the forward's channels: dy has CO, dx CI
  const K = 3 * CO, pairs = CI * CO;
  const M = Math.ceil(Math.max(W + 2, H) / 4) * 4;
  // the stacked taps [4][3 CO, CI]: cached per filter where Winograd caches its transforms
  const keep = keepsFilterData(s);
  let t0 = tick('', 0);
  // staged (one image, two threads): the taps' transpositions join the interior's staged list
  // (stage 0, one each, all 12: copying a done one would need it finished), else here
  const pre: number[][] = [];
  let undo: (() => void) | null = null;
  const bPtr = filterData(backend, 'ring3', filter, 12 * pairs, keep, (ptr) => {
    const w = off(backend, filter);
    if (deferTaps) {
      RING_TAPS.forEach((taps, e) => taps.forEach(([ky, kx], seg) => pre.push([w + (ky * 3 + kx) * pairs * 4, ptr + (e * 3 + seg) * pairs * 4, CI, CO])));
      if (keep) undo = () => forgetFilterData(backend, 'ring3', filter);
      return;
    }
    // 8 distinct taps (each corner serves a row and a column): transposed once, then copied
    const done = new Map<number, number>();
    RING_TAPS.forEach((taps, e) =>
      taps.forEach(([ky, kx], seg) => {
        const tap = ky * 3 + kx, to = ptr + (e * 3 + seg) * pairs * 4, from = done.get(tap);
        if (from == null) transpose(w + tap * pairs * 4, to, CI, CO);
        else new Uint8Array(heapMemory(backend)!.buffer).copyWithin(to, from, from + pairs * 4);
        done.set(tap, to);
      }),
    );
  });
  t0 = tick('taps', t0);
  const nA = 4 * M * K, nC = 4 * M * CI, nS = 16 * K + 16;
  let buf: TensorInfo | null = null;
  try {
    buf = backend.makeOutput([nA + nC + nS], 'float32');
  } catch (e) {
    if (!keep) freeFilterData(backend, bPtr);
    throw e;
  }
  const base = off(backend, buf);
  const aOff = base, cOff = base + nA * 4, scr = cOff + nC * 4;
  const rowB = W * CO, img = H * rowB, dxImg = H * W * CI;
  const extra: StagedExtra = { ran: false, groups: [], pre: transposeGroups(pre) };
  let tapsDone = pre.length === 0;
  for (let e = 0; e < 4; e++) extra.groups.push({ stage: 1, calls: [[STAGED_FN.nnR, aOff + e * M * K * 4, bPtr + e * 3 * pairs * 4, cOff + e * M * CI * 4, M >> 2, K, CI, scr]], weight: 4.5e-5 * M * K * CI });
  return {
    extra,
    windows(b: number): void {
      // views after the last allocation
      const a = f32(backend, buf!).subarray(0, nA), d = f32(backend, dy);
      const d0 = b * img;
      // top / bottom: row q (ring column q = 0..W+1) holds dy's row 0 / H-1 pixels q-2..q, zeros
      // outside (only the gaps are zeroed: the copies cover the rest)
      for (let e = 0; e < 2; e++) {
        const src = d0 + (e === 0 ? 0 : (H - 1) * rowB), base = e * M * K;
        for (let q = 0; q < W + 2; q++) {
          const x0 = Math.max(0, q - 2), x1 = Math.min(W - 1, q), o = base + q * K;
          const s0 = (x0 - (q - 2)) * CO, s1 = s0 + (x1 + 1 - x0) * CO;
          if (s0 > 0) a.fill(0, o, o + s0);
          a.set(d.subarray(src + x0 * CO, src + (x1 + 1) * CO), o + s0);
          if (s1 < K) a.fill(0, o + s1, o + K);
        }
        a.fill(0, base + (W + 2) * K, base + M * K);
      }
      // left / right: row r (ring row r + 1 = 1..H) holds dy's column 0 / W-1 pixels of rows r-1..r+1
      for (let e = 2; e < 4; e++) {
        const col = e === 2 ? 0 : W - 1, base = e * M * K;
        for (let r = 0; r < H; r++) {
          for (let seg = 0; seg < 3; seg++) {
            const y = r - 1 + seg, o = base + r * K + seg * CO;
            if (y < 0 || y >= H) {
              a.fill(0, o, o + CO);
              continue;
            }
            const src = d0 + y * rowB + col * CO;
            a.set(d.subarray(src, src + CO), o);
          }
        }
        a.fill(0, base + H * K, base + M * K);
      }
      t0 = tick('a', t0);
    },
    products(): void {
      // taps left to a staged list that did not run: here
      if (!tapsDone && !extra.ran) for (const [a, b, r, c] of pre) transpose(a!, b!, r!, c!);
      tapsDone = true;
      if (g.batch && winogradOptions.batchPlanes) g.batch('nnR', 4, M * K * 4, 3 * pairs * 4, M * CI * 4, aOff, bPtr, cOff, M >> 2, K, CI, scr);
      else for (let e = 0; e < 4; e++) g.nnR(aOff + e * M * K * 4, bPtr + e * 3 * pairs * 4, cOff + e * M * CI * 4, M >> 2, K, CI, scr);
      t0 = tick('prod', t0);
    },
    fold(dx: TensorInfo, b: number): void {
      // every ring pixel onto the pixel it reflects. Top / bottom: ring columns 1..W are dx's row
      // 1 / H-2 whole (one run), the corners add onto columns 1 and W-2; left / right: ring row
      // r + 1 onto dx (r, 1) / (r, W-2).
      const c = f32(backend, buf!).subarray(nA, nA + nC), o = f32(backend, dx);
      const o0 = b * dxImg, rowX = W * CI;
      for (let e = 0; e < 2; e++) {
        const cr = e * M * CI, t = o0 + (e === 0 ? 1 : H - 2) * rowX;
        for (let i = 0; i < rowX; i++) o[t + i] += c[cr + CI + i]!;
        const first = cr, last = cr + (W + 1) * CI, t1 = t + CI, t2 = t + (W - 2) * CI;
        for (let i = 0; i < CI; i++) o[t1 + i] += c[first + i]!;
        for (let i = 0; i < CI; i++) o[t2 + i] += c[last + i]!;
      }
      for (let e = 2; e < 4; e++) {
        const x = e === 2 ? 1 : W - 2;
        for (let r = 0, cr = e * M * CI; r < H; r++, cr += CI) {
          const t = o0 + r * rowX + x * CI;
          for (let i = 0; i < CI; i++) o[t + i] += c[cr + i]!;
        }
      }
      t0 = tick('fold', t0);
    },
    free(): void {
      // a deferred fill that never ran must not stay cached
      if (!tapsDone && !extra.ran) undo?.();
      release(backend, buf);
      if (!keep) freeFilterData(backend, bPtr);
    },
  };
}

export const reflectConvGradInputConfig: tf.KernelConfig = {
  kernelName: REFLECT_CONV_GRAD_INPUT,
  backendName: 'wasm',
  kernelFunc: reflectConvGradInputWasm as unknown as tf.KernelFunc,
};
