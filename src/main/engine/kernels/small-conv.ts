/**
 * Convolutions on tiny spatial inputs with large filters (U-Net's innermost layers, PatchGAN's
 * last ones) without XNNPACK's weight packing.
 *
 * tfjs-backend-wasm's Conv2D caches an XNNPACK operator per filter tensor id; every optimizer
 * step makes new filter tensors, so every step transposes and packs every filter again, on one
 * thread, at ~5-11 ns per weight element: a 4x4x512x512 conv on a 4x4 input costs ~47 ms with a
 * new filter and ~1 ms with a cached one. When the output has few pixels the product itself is
 * cheap, so here it is done by gemm-simd.ts reading the filter in place:
 *
 *   forward  (Conv2D, FusedConv2D): im2col patches [P, KH*KW*CI] . W [KH*KW*CI, CO]
 *   input gradient (Conv2DBackpropInput): cols [P, KH*KW*CI] = dy [P, CO] . W^T, then col2im
 *
 * P = batch * output pixels (dy pixels for the input gradient), padded to a multiple of 4.
 * Everything else goes to the stock kernel (or the phase path).
 */
import * as tf from '@tensorflow/tfjs';
import { createGemmSimd, type GemmSimd } from './gemm-simd';
import { narrowForward, wideForward } from './narrow-conv';
import { stridePhaseBackpropInput } from './stride-phase';
import { stride2BackpropFilter, stride2BackpropInput, stride2Forward } from './stride2-winograd';
import { createTranspose } from './winograd-simd';
import { type WinogradShape, winogradApplies, winogradConv, winogradFilterGrad, winogradOptions, winogradTransforms } from './winograd';
import { type RunList, runList } from './runs-simd';
import { type BackendWasm, type TensorInfo, fillOutput, heapF32 as f32, heapMemory, heapOffset as off, release, runStock } from './wasm-util';

/**
 * Use the direct product when P <= maxPixels (forward and input gradient) and the filter has >=
 * minWeights elements (below that, packing is cheap). Measured with new filters each call, 1
 * thread, CPU ms, ours vs XNNPACK (forward) / phases (input gradient): P = 4: 5.5 vs 49, 2.9 vs
 * 9; P = 64: 21 vs 79, 19 vs 91 (4x4x512x512); P = 225: 41 vs 58, 44 vs 109 (PatchGAN 256->512
 * stride 1); P = 1024: 36 vs 40, 39 vs 87 (4x4x128x256). XNNPACK's product runs on the whole
 * pool; ours on two threads when the heap is shared (gemm-pool.ts), else on one, and then the
 * cap is maxPixelsThreaded. Tests set these to force a path.
 */
export const smallConvOptions = {
  maxPixels: 1024,
  maxPixelsThreaded: 256,
  minWeights: 1 << 15,
  /**
   * The filter gradient has no weights to pack but XNNPACK's path transposes x and dy and packs
   * dy as a filter; the direct product won at every pix2pix layer measured (1 thread, CPU ms:
   * x 128x128x64 -> 128 ch 64 vs 78, x 256x256x3 -> 64 ch 7.7 vs 18, deep 512-ch layers 11-15
   * vs 15-30). Only the patches buffer (KH*KW*CI x P floats) bounds it.
   */
  maxPatchFloatsFilterGrad: 1 << 23,
  /** Filter gradients as dy^T . patches (filterGradViaDyT); ATELIER_DW_DYT=0 for A/B. */
  filterGradViaDyT: process.env.ATELIER_DW_DYT !== '0',
  /**
   * ... only where dy has more pixels than this times its channels: its two transpositions move
   * the whole result (KH*KW*CI x CO), the transposed patches it avoids are KH*KW*CI x P. The U-Net's
   * innermost 4x4 stride-2 layers (P 1-64 against 512-1024 channels), CPU ms per call, dy^T ->
   * patches^T (load 3.8): 2x2x512 -> 512 20.5 -> 11.7, 4x4x512 -> 1024 27.7 -> 12.4, 8x8x512 ->
   * 1024 21.6 -> 9.5, 16x16x512 -> 1024 39.7 -> 25.9, 16x16x512 -> 512 17.0 -> 13.3; P 256 against
   * 512-1024 channels 28.5 -> 26.1, 58.4 -> 50.5 (load 4.2).
   */
  filterGradViaDyTMinPixelsPerChannel: 1,
  /**
   * Forward convolutions from <= 4 input channels at stride 1 by narrow-conv.ts's wideForward
   * (split over the helper) instead of XNNPACK (ATELIER_WIDE_FORWARD=0: XNNPACK, A/B). The
   * generator's 7x7 3 -> 64 layer, kernel CPU / wall ms per step, same process, steps where the
   * rest of the machine used < 10% of a core: 128 px XNNPACK 50.6 / 36.6 -> 42.1 / 21.6, 64 px
   * 12.8 / 9.7 -> 11.6 / 6.1; with the other core busy (128 px) 78.4 / 73.0 -> 45.3 / 44.2
   * (XNNPACK's pool thread loses its core). Step A/Bs of the sixth pass had disagreed (-1.5% and
   * +7% wall, load 3-4): the step's noise there was larger than the ~15 ms at stake.
   */
  wideInputForward: process.env.ATELIER_WIDE_FORWARD !== '0',
  /** Stride-1 input gradients as forward convolutions (backpropInputAsConv). */
  stride1AsConv: process.env.ATELIER_S1_AS_CONV !== '0',
  /** ... unless dx has more than this many times dy's pixels (the rest of the work is zeros). */
  asConvMaxPixelRatio: Number(process.env.ATELIER_AS_CONV_RATIO ?? 1.25),
  /** Forward convolutions of any output size (see usable()). */
  large: { enabled: process.env.ATELIER_LARGE_CONV !== '0', minOutChannels: 64, minPatch: 256, maxPatchFloats: 1 << 23 },
  enabled: true,
};
/** Calls that took the direct path (tests check the path they mean to test was taken). */
export const smallConvCalls = { forward: 0, backpropInput: 0, backpropFilter: 0, backpropInputAsConv: 0, backpropFilterViaDyT: 0 };

function gemm(backend: BackendWasm): GemmSimd | null {
  return createGemmSimd(heapMemory(backend));
}


type ConvInfo = tf.backend_util.Conv2DInfo;

const threadCounts = new WeakMap<object, number>();
function threads(backend: BackendWasm): number {
  let n = threadCounts.get(backend);
  if (n == null) {
    const get = (backend.wasm as unknown as { tfjs?: { getThreadsCount?: () => number } }).tfjs?.getThreadsCount;
    n = typeof get === 'function' ? get() : 1;
    threadCounts.set(backend, n);
  }
  return n;
}

function usable(backend: BackendWasm, info: ConvInfo, pixels: number, large = false): boolean {
  const { filterHeight: KH, filterWidth: KW, inChannels: CI, outChannels: CO } = info;
  const L = smallConvOptions.large;
  // Forward and input gradient at any size: the k/row-blocked product beats XNNPACK (and the
  // phase path) when each patch meets many output channels (the im2col / col2im copy is then
  // small next to the product).
  if (large && smallConvOptions.enabled && L.enabled && CO >= L.minOutChannels && KH * KW * CI >= L.minPatch && pixels * KH * KW * CI <= L.maxPatchFloats) return true;
  // XNNPACK's product runs on its pool: ours keeps up only when it is split too (gemm-pool.ts).
  const oursParallel = gemm(backend)?.parallel?.() ?? false;
  const cap = threads(backend) > 1 && !oursParallel ? Math.min(smallConvOptions.maxPixels, smallConvOptions.maxPixelsThreaded) : smallConvOptions.maxPixels;
  return smallConvOptions.enabled && pixels <= cap && KH * KW * CI * CO >= smallConvOptions.minWeights;
}

/**
 * The run list im2col can use for this convolution (null: im2col copies in JS). Make it before
 * taking the heap views passed to im2col (it may grow the heap).
 */
export function im2colRuns(backend: BackendWasm, info: ConvInfo): RunList | null {
  if (info.inChannels % 4 !== 0 || info.dilationWidth !== 1) return null;
  return runList(backend, info.batchSize * info.outHeight * info.outWidth * info.filterHeight);
}

/**
 * im2col, row-major: row p (stride `ld` floats) = the patch of output pixel p, taps in (ky, kx, c)
 * order (Kd = KH*KW*CI floats; columns Kd..ld are left as they are). Runs of input pixels that
 * are contiguous in x are block copies: with `runs` (from im2colRuns; a and xv views of the heap)
 * all listed and copied by one SIMD call, else one `set` each.
 */
export function im2col(a: Float32Array, xv: Float32Array, info: ConvInfo, ld: number, runs: RunList | null = null, backend?: BackendWasm): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const run = KW * CI;
  if (runs && backend && ld % 4 === 0 && CI % 4 === 0 && dw === 1 && a.buffer === xv.buffer) {
    const aB = a.byteOffset, xB = xv.byteOffset;
    let q = 0;
    for (let b = 0; b < B; b++) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++, q++) {
          const ix0 = ox * sw - pl;
          const kx0 = Math.max(0, -ix0), kx1 = Math.min(KW, W - ix0);
          for (let ky = 0; ky < KH; ky++) {
            const iy = oy * sh - pt + ky * dh;
            const dst = q * ld + ky * run;
            if (iy < 0 || iy >= H || kx1 <= kx0) {
              a.fill(0, dst, dst + run);
              continue;
            }
            if (kx0 > 0) a.fill(0, dst, dst + kx0 * CI);
            if (kx1 < KW) a.fill(0, dst + kx1 * CI, dst + run);
            runs.push(aB + (dst + kx0 * CI) * 4, xB + ((b * H + iy) * W + ix0 + kx0) * CI * 4, (kx1 - kx0) * CI);
          }
        }
      }
    }
    runs.apply(backend, 'copy');
    return;
  }
  let p = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++, p++) {
        const ix0 = ox * sw - pl;
        const rowInside = ix0 >= 0 && ix0 + (KW - 1) * dw < W && dw === 1;
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * sh - pt + ky * dh;
          const dst = p * ld + ky * run;
          if (iy < 0 || iy >= H) {
            a.fill(0, dst, dst + run);
            continue;
          }
          const rowSrc = (b * H + iy) * W;
          if (rowInside && run >= 32) {
            a.set(xv.subarray((rowSrc + ix0) * CI, (rowSrc + ix0) * CI + run), dst);
            continue;
          }
          for (let kx = 0; kx < KW; kx++) {
            const ix = ix0 + kx * dw;
            const d = dst + kx * CI;
            if (ix < 0 || ix >= W) {
              a.fill(0, d, d + CI);
            } else if (CI >= 32) {
              a.set(xv.subarray((rowSrc + ix) * CI, (rowSrc + ix + 1) * CI), d);
            } else {
              for (let c = 0, src = (rowSrc + ix) * CI; c < CI; c++) a[d + c] = xv[src + c]!;
            }
          }
        }
      }
    }
  }
}

/**
 * The Winograd shape of a 3x3 or 4x4 stride-1 convolution, or null where winograd.ts does not take
 * it (`filterGrad`: asked for its filter gradient).
 */
function winogradShape(info: ConvInfo, filterGrad = false): WinogradShape | null {
  const K = info.filterHeight;
  if ((K !== 3 && K !== 4) || info.filterWidth !== K || info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const s: WinogradShape = {
    K, B: info.batchSize, H: info.inHeight, W: info.inWidth, CI: info.inChannels, OH: info.outHeight, OW: info.outWidth, CO: info.outChannels,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
  return smallConvOptions.enabled && winogradApplies(s, filterGrad) ? s : null;
}

/** out[B,OH,OW,CO] = conv(x, filter) via im2col + nnR product (3x3 and 4x4 stride 1: Winograd where it applies); null when not applicable. */
function convForward(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo | null {
  const { batchSize: B, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW } = info;
  const P = B * OH * OW;
  const ws = P > 0 ? winogradShape(info) : null;
  const wg = ws ? gemm(backend) : null;
  const tw = wg ? winogradTransforms(backend) : null;
  if (ws && wg && tw) return winogradConv(backend, wg, tw, x, filter, ws, false);
  // <= 4 output channels, no padding (the generator's 7x7 64 -> 3 layer): narrow-conv.ts; <= 4
  // input channels at stride 1 (its 7x7 3 -> 64 first layer): wideForward (wideInputForward)
  const narrow = P > 0 ? narrowForward(backend, x, filter, info) : null;
  if (narrow) return narrow;
  // (stride 1 only; strided ones stay with XNNPACK)
  const wide = P > 0 && smallConvOptions.wideInputForward && info.strideHeight === 1 && info.strideWidth === 1 ? wideForward(backend, x, filter, info) : null;
  if (wide) return wide;
  // 3x3 and 4x4 stride 2: Winograd F(4x4,2x2) or F(5x5,2x2) on the input's phases (stride2-winograd.ts)
  const g = P > 0 && smallConvOptions.enabled ? gemm(backend) : null;
  const s2 = g ? stride2Forward(backend, g, x, filter, info) : null;
  if (s2) return s2;
  if (CO % 8 !== 0 || P === 0 || !usable(backend, info, P, true)) return null;
  if (!g) return null;
  const P4 = Math.ceil(P / 4) * 4;
  const Kd = KH * KW * CI;
  const patches = backend.makeOutput([P4 * Kd + Kd * 16], 'float32'); // + 2 strip scratches
  const direct = P4 === P;
  const out = backend.makeOutput([B, OH, OW, CO], 'float32');
  const scratch = direct ? out : backend.makeOutput([P4 * CO], 'float32');
  try {
    const runs = im2colRuns(backend, info);
    const a = f32(backend, patches);
    im2col(a, f32(backend, x), info, Kd, runs, backend);
    a.fill(0, P * Kd, P4 * Kd);
    const pOff = off(backend, patches);
    g.nnR(pOff, off(backend, filter), off(backend, scratch), P4 >> 2, Kd, CO, pOff + P4 * Kd * 4);
    if (!direct) f32(backend, out).set(f32(backend, scratch).subarray(0, P * CO));
    return out;
  } finally {
    release(backend, patches, direct ? null : scratch);
  }
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  leakyreluAlpha?: number;
}

function forwardInfo(x: TensorInfo, filter: TensorInfo, a: ConvAttrs): ConvInfo | null {
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast',
  );
}

export function conv2DWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as ConvAttrs;
  const info = forwardInfo(x, filter, a);
  const out = info ? convForward(backend, x, filter, info) : null;
  if (out) smallConvCalls.forward++;
  return out ?? runStock(backend, 'Conv2D', args.inputs as Record<string, TensorInfo>, a as unknown as Record<string, unknown>);
}

const ACTIVATIONS = new Set(['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid']);

export function fusedConv2DWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, filter, bias } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo };
  const a = args.attrs as unknown as ConvAttrs;
  const act = a.activation ?? 'linear';
  const info = ACTIVATIONS.has(act) && (!bias || (bias.dtype === 'float32' && (bias.shape.length <= 1))) ? forwardInfo(x, filter, a) : null;
  const CO = info?.outChannels ?? 0;
  const biasOk = !bias || tf.util.sizeFromShape(bias.shape) === CO || tf.util.sizeFromShape(bias.shape) === 1;
  const out = info && biasOk ? convForward(backend, x, filter, info) : null;
  if (!out) return runStock(backend, 'FusedConv2D', args.inputs as Record<string, TensorInfo>, a as unknown as Record<string, unknown>);
  smallConvCalls.forward++;
  const o = f32(backend, out);
  const bv = bias ? f32(backend, bias) : null;
  const nb = bv ? bv.length : 0;
  const alpha = a.leakyreluAlpha ?? 0.2;
  for (let i = 0; i < o.length; i++) {
    let v = o[i]!;
    if (bv) v = Math.fround(v + bv[nb === 1 ? 0 : i % CO]!);
    switch (act) {
      case 'relu': v = v < 0 ? 0 : v; break;
      case 'relu6': v = v < 0 ? 0 : v > 6 ? 6 : v; break;
      case 'leakyrelu': v = v < 0 ? Math.fround(v * alpha) : v; break;
      case 'elu': v = v < 0 ? Math.expm1(v) : v; break;
      case 'sigmoid': v = 1 / (1 + Math.exp(-v)); break;
      default: break;
    }
    o[i] = v;
  }
  return out;
}

/**
 * dx[B,H,W,CI] for dy [B,OH,OW,CO] and filter [KH,KW,CI,CO] (NHWC, no dilation), or null when the
 * direct product does not apply.
 */
/**
 * Stride 1: dx is the correlation of dy, padded by K-1-p, with the filter rotated 180 degrees and
 * its channels swapped, i.e. a forward convolution: im2col of dy by block copies and the nnR
 * product, instead of nnRT and a col2im scatter of KH*KW times dx's size. Null when not stride 1
 * or the forward rule (usable) does not take it.
 */
function backpropInputAsConv(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW } = info;
  if (!smallConvOptions.stride1AsConv || info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const { top, bottom, left, right } = info.padInfo;
  const pad: [[0, 0], [number, number], [number, number], [0, 0]] = [[0, 0], [KH - 1 - top, KH - 1 - bottom], [KW - 1 - left, KW - 1 - right], [0, 0]];
  if (pad[1][0] < 0 || pad[1][1] < 0 || pad[2][0] < 0 || pad[2][1] < 0) return null;
  const cinfo = tf.backend_util.computeConv2DInfo([B, OH, OW, CO], [KH, KW, CO, CI], 1, 1, pad, undefined, false, 'channelsLast');
  if (cinfo.outHeight !== H || cinfo.outWidth !== W) return null;
  // 3x3 and 4x4: Winograd, with a transform of the rotated filter cached per filter (or, F(2x2)
  // on few tiles, the forward's read as its transpose)
  const ws = winogradShape(cinfo);
  const wg = ws ? gemm(backend) : null;
  const tw = wg ? winogradTransforms(backend) : null;
  if (ws && wg && tw) {
    smallConvCalls.backpropInputAsConv++;
    return winogradConv(backend, wg, tw, dy, filter, ws, true);
  }
  // The padded dy's convolution also multiplies the zeros around dy: where that is over a quarter
  // more work (PatchGAN's 4x4 256 -> 512 on 15x15 dy: 324 dx pixels for 225 dy pixels), the nnRT
  // product (exactly the dy pixels' work) and col2im cost less.
  if (H * W > smallConvOptions.asConvMaxPixelRatio * OH * OW) return null;
  if (CI % 8 !== 0 || !usable(backend, cinfo, B * H * W, true)) return null;
  const wf = backend.makeOutput([KH, KW, CO, CI], 'float32');
  try {
    // wf[ky, kx, co, ci] = w[KH-1-ky, KW-1-kx, ci, co]: per tap a transposition, SIMD by 4x4 blocks
    const transpose = CI % 4 === 0 && CO % 4 === 0 ? createTranspose(heapMemory(backend)) : null;
    if (transpose) {
      const wOff = off(backend, filter), fOff = off(backend, wf);
      for (let k = 0; k < KH * KW; k++) transpose(wOff + (KH * KW - 1 - k) * CI * CO * 4, fOff + k * CO * CI * 4, CI, CO);
      const dx = convForward(backend, dy, wf, cinfo);
      if (dx) smallConvCalls.backpropInputAsConv++;
      return dx;
    }
    const w = f32(backend, filter);
    const o = f32(backend, wf);
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const src = ((KH - 1 - ky) * KW + (KW - 1 - kx)) * CI * CO;
        let d = (ky * KW + kx) * CO * CI;
        for (let co = 0; co < CO; co++) for (let ci = 0, s = src + co; ci < CI; ci++, s += CO) o[d++] = w[s]!;
      }
    }
    const dx = convForward(backend, dy, wf, cinfo);
    if (dx) smallConvCalls.backpropInputAsConv++;
    return dx;
  } finally {
    release(backend, wf);
  }
}

export function smallConvBackpropInput(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const P = B * OH * OW;
  const Kd = KH * KW * CI;
  if (P === 0 || dy.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  // 3x3 and 4x4 stride 2: Winograd on the phases (stride2-winograd.ts), at every size (usable()
  // bounds the im2col paths' patches; at 256 px it refused the 128 -> 256 px layers' input
  // gradients, which then went to XNNPACK's phases)
  const g = smallConvOptions.enabled ? gemm(backend) : null;
  const s2 = g ? stride2BackpropInput(backend, g, dy, filter, info) : null;
  if (s2) return s2;
  if (!usable(backend, info, P, true)) return null;
  const asConv = backpropInputAsConv(backend, dy, filter, info);
  if (asConv) return asConv;
  // usable() held, so smallConvOptions.enabled did: g is this backend's products, or null without SIMD
  if (!g) return null;
  // Strided: one forward product per output phase (stride-phase.ts), no col2im scatter.
  const phased = stridePhaseBackpropInput(backend, g, dy, filter, info);
  if (phased) return phased;
  // nnRT (blocked, C row-major) when Kd % 8 == 0, else nt (C interleaved by 4 rows)
  const blocked = Kd % 8 === 0;
  if (!blocked && (CO % 4 !== 0 || Kd % 2 !== 0)) return null;
  const P4 = Math.ceil(P / 4) * 4;
  // nnRT reads dy in place when its rows fill whole blocks of 4, else a zero-padded copy; + 2 strip scratches
  const padded = blocked ? backend.makeOutput([(P4 === P ? 0 : P4 * CO) + Kd * 16], 'float32') : P4 === P ? null : backend.makeOutput([P4 * CO], 'float32');
  const cols = backend.makeOutput([P4 * Kd], 'float32');
  const dx = backend.makeOutput([B, H, W, CI], 'float32');
  // col2im: each (pixel, filter row) adds one contiguous run of cols into dx
  const runs = blocked && CI % 4 === 0 ? runList(backend, P * KH) : null;
  return fillOutput(backend, dx, [padded, cols], () => {
    if (padded && P4 !== P) {
      const pv = f32(backend, padded);
      pv.fill(0, P * CO, P4 * CO);
      pv.set(f32(backend, dy));
    }
    smallConvCalls.backpropInput++;
    if (blocked) {
      const aOff = P4 === P ? off(backend, dy) : off(backend, padded!);
      g.nnRT(aOff, off(backend, filter), off(backend, cols), P4 >> 2, CO, Kd, off(backend, padded!) + (P4 === P ? 0 : P4 * CO * 4));
    } else {
      g.nt(off(backend, padded ?? dy), off(backend, filter), off(backend, cols), P4 >> 2, CO, Kd);
    }
    const c = f32(backend, cols);
    const o = f32(backend, dx);
    o.fill(0);
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    if (runs) {
      // the same additions in the same order as the loop below: (pixel, ky) runs over kx and ci;
      // keyed by bands of dx rows, which the two threads can add at once
      const cB = c.byteOffset, oB = o.byteOffset;
      const band = Math.max(1, Math.ceil(B * H / 16));
      for (let b = 0, q = 0; b < B; b++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++, q++) {
            const ix0 = ox * sw - pl;
            const kx0 = Math.max(0, -ix0), kx1 = Math.min(KW, W - ix0);
            if (kx1 <= kx0) continue;
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * sh - pt + ky;
              if (iy < 0 || iy >= H) continue;
              runs.push(oB + ((b * H + iy) * W + ix0 + kx0) * CI * 4, cB + (q * Kd + (ky * KW + kx0) * CI) * 4, (kx1 - kx0) * CI, Math.floor((b * H + iy) / band));
            }
          }
        }
      }
      runs.apply(backend, 'add');
      return;
    }
    let p = 0;
    for (let b = 0; b < B; b++) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++, p++) {
          // cols row p: row-major (nnRT) or interleaved by 4 rows (nt)
          const base = blocked ? p * Kd : (p >> 2) * Kd * 4 + (p & 3);
          const step = blocked ? 1 : 4;
          for (let ky = 0; ky < KH; ky++) {
            const iy = oy * sh - pt + ky;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < KW; kx++) {
              const ix = ox * sw - pl + kx;
              if (ix < 0 || ix >= W) continue;
              let dst = ((b * H + iy) * W + ix) * CI;
              let src = base + (ky * KW + kx) * CI * step;
              for (let ci = 0; ci < CI; ci++, src += step) o[dst++] += c[src]!;
            }
          }
        }
      }
    }
  });
}

/**
 * dW[KH,KW,CI,CO] = patches^T [KH*KW*CI, P] . dy [P, CO] (NHWC), or null when the direct product
 * does not apply. The patches are laid out transposed and interleaved by 4 filter rows.
 */
export function smallConvBackpropFilter(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const P = B * OH * OW;
  const Kd = KH * KW * CI;
  const Kd4 = Math.ceil(Kd / 4) * 4;
  if (!smallConvOptions.enabled || CO % 8 !== 0 || P === 0 || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const g = gemm(backend);
  if (!g) return null;
  // 3x3 and 4x4 stride 1 at >= 64 channels: Winograd (2.25-4x fewer multiply-adds)
  const ws = winogradOptions.backpropFilter ? winogradShape(info, true) : null;
  const tw = ws ? winogradTransforms(backend) : null;
  if (ws && tw) {
    smallConvCalls.backpropFilter++;
    return winogradFilterGrad(backend, g, tw, x, dy, ws);
  }
  const s2 = stride2BackpropFilter(backend, g, x, dy, info);
  if (s2) {
    smallConvCalls.backpropFilter++;
    return s2;
  }
  if (Kd4 * P > smallConvOptions.maxPatchFloatsFilterGrad) return null;
  const viaDyT = filterGradViaDyT(backend, g, x, dy, info);
  if (viaDyT) return viaDyT;
  const patches = backend.makeOutput([Kd4 * P + 16 * P], 'float32'); // + 2 strip scratches for nn
  const out = backend.makeOutput([KH, KW, CI, CO], 'float32');
  const scratch = Kd4 === Kd ? out : backend.makeOutput([Kd4 * CO], 'float32');
  return fillOutput(backend, out, [patches, scratch], () => {
    const a = f32(backend, patches);
    const xv = f32(backend, x);
    a.fill(0, 0, Kd4 * P);
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    if (CI % 4 === 0) {
      // Groups of 4 channels never straddle a tap: write each group's P rows of 4 in order.
      for (let ky = 0; ky < KH; ky++) {
        for (let kx = 0; kx < KW; kx++) {
          for (let c0 = 0; c0 < CI; c0 += 4) {
            let dst = (((ky * KW + kx) * CI + c0) >> 2) * P * 4;
            for (let b = 0; b < B; b++) {
              for (let oy = 0; oy < OH; oy++) {
                const iy = oy * sh - pt + ky * dh;
                const rowOk = iy >= 0 && iy < H;
                for (let ox = 0; ox < OW; ox++, dst += 4) {
                  const ix = ox * sw - pl + kx * dw;
                  if (!rowOk || ix < 0 || ix >= W) continue;
                  const src = ((b * H + iy) * W + ix) * CI + c0;
                  a[dst] = xv[src]!;
                  a[dst + 1] = xv[src + 1]!;
                  a[dst + 2] = xv[src + 2]!;
                  a[dst + 3] = xv[src + 3]!;
                }
              }
            }
          }
        }
      }
    } else {
      let p = 0;
      for (let b = 0; b < B; b++) {
        for (let oy = 0; oy < OH; oy++) {
          for (let ox = 0; ox < OW; ox++, p++) {
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix < 0 || ix >= W) continue;
                let src = ((b * H + iy) * W + ix) * CI;
                const k0 = (ky * KW + kx) * CI;
                for (let c = 0; c < CI; c++) {
                  const k = k0 + c;
                  a[((k >> 2) * P + p) * 4 + (k & 3)] = xv[src++]!;
                }
              }
            }
          }
        }
      }
    }
    smallConvCalls.backpropFilter++;
    const pOff = off(backend, patches);
    g.nn(pOff, off(backend, dy), off(backend, scratch), Kd4 >> 2, P, CO, pOff + Kd4 * P * 4);
    if (scratch !== out) f32(backend, out).set(f32(backend, scratch).subarray(0, Kd * CO));
  });
}

/**
 * dW^T [CO, Kd] = dy^T [CO, P] . patches [P, Kd], then transposed to [Kd, CO]: the patches are
 * the forward's row-major im2col (SIMD block copies) and only dy (P x CO, ~4.5x smaller at 3x3
 * 64 -> 128) and the result are transposed, by SIMD 4x4 blocks, instead of writing the patches
 * transposed by 4-float groups in JS (~7 ms of one thread per stride-2 3x3x64x128 call at 128 px).
 * Every sum runs over the pixels in the same order as the patches^T . dy product. Null (the
 * caller's path) unless CI % 4 == 0, Kd % 8 == 0, no dilation, dy has more pixels than channels
 * (filterGradViaDyTMinPixelsPerChannel) and the transposition compiles.
 */
function filterGradViaDyT(backend: BackendWasm, g: GemmSimd, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo | null {
  const { batchSize: B, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW } = info;
  const P = B * OH * OW;
  const Kd = KH * KW * CI;
  if (!smallConvOptions.filterGradViaDyT || CI % 4 !== 0 || Kd % 8 !== 0 || CO % 4 !== 0 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (P <= smallConvOptions.filterGradViaDyTMinPixelsPerChannel * CO) return null;
  const transpose = createTranspose(heapMemory(backend));
  if (!transpose) return null;
  const P4 = Math.ceil(P / 4) * 4;
  const patches = backend.makeOutput([P4 * Kd + P4 * 16], 'float32'); // + 2 strip scratches (K = P4)
  const dyP = P4 === P ? null : backend.makeOutput([P4 * CO], 'float32');
  const dyT = backend.makeOutput([CO * P4], 'float32');
  const outT = backend.makeOutput([CO * Kd], 'float32');
  const out = backend.makeOutput([KH, KW, CI, CO], 'float32');
  const runs = im2colRuns(backend, info);
  return fillOutput(backend, out, [patches, dyP, dyT, outT], () => {
    const a = f32(backend, patches);
    im2col(a, f32(backend, x), info, Kd, runs, backend);
    a.fill(0, P * Kd, P4 * Kd);
    if (dyP) {
      const pv = f32(backend, dyP);
      pv.set(f32(backend, dy));
      pv.fill(0, P * CO);
    }
    transpose(off(backend, dyP ?? dy), off(backend, dyT), P4, CO);
    const pOff = off(backend, patches);
    g.nnR(off(backend, dyT), pOff, off(backend, outT), CO >> 2, P4, Kd, pOff + P4 * Kd * 4);
    transpose(off(backend, outT), off(backend, out), CO, Kd);
    smallConvCalls.backpropFilter++;
    smallConvCalls.backpropFilterViaDyT++;
  });
}

export const conv2DConfig: tf.KernelConfig = {
  kernelName: 'Conv2D',
  backendName: 'wasm',
  kernelFunc: conv2DWasm as unknown as tf.KernelFunc,
};

export const fusedConv2DConfig: tf.KernelConfig = {
  kernelName: 'FusedConv2D',
  backendName: 'wasm',
  kernelFunc: fusedConv2DWasm as unknown as tf.KernelFunc,
};
