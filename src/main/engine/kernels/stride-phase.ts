/**
 * The input gradient (and transposed convolution) of a strided convolution as one forward
 * product per output phase, on our products: pix2pix's 4x4 stride-2 layers at 64x64 dx pixels
 * and up (see stridePhaseOptions for where it pays and where not, e.g. 3x3 stride 2).
 *
 * small-conv.ts's general input gradient computes cols [P, KH*KW*CI] = dy . W^T (nnRT) and adds
 * every column into dx (col2im, JS): at 3x3x64x128 on 64x64 dy that is 2.4M scattered adds
 * (~13 ms) and a product with K = CO only (~24 ms, 1 thread). Split by output position modulo
 * the stride instead (the decomposition conv2d-backprop-input.ts does with XNNPACK): phase
 * (py, px) of dx is a stride-1 correlation of dy with the taps W[ry + s*j, rx + s*i] flipped and
 * their channels swapped, i.e. an im2col of dy (block copies of CO floats) and one nnR product per
 * phase; the phase outputs are copied into dx's pixels by rows of CI floats. Same multiply-adds,
 * no scatter, products with K = taps*CO.
 *
 * Per axis, for dx row y = p + s*i, r = (p + padTop) mod s, d = floor((p + padTop) / s):
 *   dx[y] = sum_j dy[i + d - j] * W[r + s*j],   j = 0 .. J-1,  J = ceil((K - r) / s)
 * a correlation with F[m] = W[r + s*(J-1-m)] starting at dy row i + d - (J-1): the im2col below
 * reads dy with "padding" (J-1) - d, which may be negative (rows skipped), from its bounds checks.
 */
import * as tf from '@tensorflow/tfjs';
import type { GemmSimd } from './gemm-simd';
import { im2col } from './small-conv';
import { type BackendWasm, type TensorInfo, fillOutput, heapF32 as f32, heapOffset as off } from './wasm-util';

type ConvInfo = tf.backend_util.Conv2DInfo;

/**
 * When it is used. Measured CPU ms per call, 1 thread, nnRT + col2im vs phases (medians of 3
 * alternating runs, load 5-7): 4x4 stride 2 (every phase 2x2 taps) dx 128x128x64 from 128
 * channels 48-55 vs 36-39, dx 128x128x128 from 64 65-77 vs 42-64, dx 64x64x128 from 256 33-41
 * vs 39-44, dx 32x32x256 from 512 28-31 vs 36-39 (phases of 256 pixels); 3x3 stride 2 (phases of
 * 4, 2, 2 and 1 taps: products with K = CO are less efficient) 25-38 vs 29-35 and 23-26 vs 22-23,
 * i.e. no gain. So: only when every phase has the same taps and at least `minPhasePixels` pixels.
 */
export const stridePhaseOptions = { enabled: process.env.ATELIER_STRIDE_PHASES !== '0', minPhasePixels: 4096, equalTapsOnly: true };
/** Calls that took this path (tests check it). */
export const stridePhaseCalls = { backpropInput: 0 };

interface Axis {
  p: number; // dx index modulo s
  n: number; // dx rows in this phase
  r: number; // first tap
  J: number; // taps
  pad: number; // (J-1) - d: the correlation's leading padding on dy (negative: rows skipped)
}

function axis(len: number, K: number, s: number, padBefore: number): Axis[] {
  const out: Axis[] = [];
  for (let p = 0; p < s && p < len; p++) {
    const r = (p + padBefore) % s;
    const d = Math.floor((p + padBefore) / s);
    const J = r < K ? Math.ceil((K - r) / s) : 0;
    out.push({ p, n: Math.ceil((len - p) / s), r, J, pad: J - 1 - d });
  }
  return out;
}

/** dx [B,H,W,CI] of a stride > 1 convolution (no dilation), or null when this path does not apply. */
export function stridePhaseBackpropInput(backend: BackendWasm, g: GemmSimd, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  if (!stridePhaseOptions.enabled || (sh === 1 && sw === 1) || info.dilationHeight !== 1 || info.dilationWidth !== 1 || CI % 8 !== 0) return null;
  if (stridePhaseOptions.equalTapsOnly && (KH % sh !== 0 || KW % sw !== 0)) return null;
  if (B * Math.floor(H / sh) * Math.floor(W / sw) < stridePhaseOptions.minPhasePixels) return null;
  const rows = axis(H, KH, sh, info.padInfo.top);
  const cols = axis(W, KW, sw, info.padInfo.left);
  const phases = rows.flatMap((py) => cols.map((px) => ({ py, px, taps: py.J * px.J, P: B * py.n * px.n })));
  const maxP4 = Math.max(...phases.map((q) => Math.ceil(q.P / 4) * 4));
  const maxK = Math.max(...phases.map((q) => q.taps * CO));
  // sub-filters [Jy, Jx, CO, CI] of every phase (K x CI row-major: nnR's B), then patches and a
  // phase output buffer reused by every phase (+ 2 strip scratches for nnR)
  const fOffsets: number[] = [];
  let fTotal = 0;
  for (const q of phases) {
    fOffsets.push(fTotal);
    fTotal += q.taps * CO * CI;
  }
  const filters = backend.makeOutput([Math.max(1, fTotal)], 'float32');
  const work = backend.makeOutput([maxP4 * maxK + maxK * 16 + maxP4 * CI], 'float32');
  const dx = backend.makeOutput([B, H, W, CI], 'float32');
  return fillOutput(backend, dx, [filters, work], () => {
    const w = f32(backend, filter);
    const fv = f32(backend, filters);
    phases.forEach((q, i) => {
      let d = fOffsets[i]!;
      for (let my = 0; my < q.py.J; my++) {
        const ky = q.py.r + sh * (q.py.J - 1 - my);
        for (let mx = 0; mx < q.px.J; mx++) {
          const kx = q.px.r + sw * (q.px.J - 1 - mx);
          const src = (ky * KW + kx) * CI * CO; // W[ky, kx, ci, co] -> F[my, mx, co, ci]
          for (let co = 0; co < CO; co++) for (let ci = 0, s = src + co; ci < CI; ci++, s += CO) fv[d++] = w[s]!;
        }
      }
    });
    const o = f32(backend, dx);
    const a = f32(backend, work);
    const dyv = f32(backend, dy);
    const wOff = off(backend, work);
    phases.forEach((q, i) => {
      const { py, px, taps, P } = q;
      if (P === 0) return;
      const outAt = maxP4 * maxK + maxK * 16; // floats into `work`
      if (taps === 0) {
        a.fill(0, outAt, outAt + P * CI);
      } else {
        const K = taps * CO;
        const P4 = Math.ceil(P / 4) * 4;
        const pinfo = {
          batchSize: B, inHeight: OH, inWidth: OW, inChannels: CO, outHeight: py.n, outWidth: px.n,
          filterHeight: py.J, filterWidth: px.J, strideHeight: 1, strideWidth: 1, dilationHeight: 1, dilationWidth: 1,
          padInfo: { top: py.pad, left: px.pad, bottom: 0, right: 0, type: 'EXPLICIT' },
        } as unknown as ConvInfo;
        im2col(a, dyv, pinfo, K);
        a.fill(0, P * K, P4 * K);
        g.nnR(wOff, off(backend, filters) + fOffsets[i]! * 4, wOff + outAt * 4, P4 >> 2, K, CI, wOff + P4 * K * 4);
      }
      // phase pixel (b, i, j) -> dx pixel (b, py.p + sh*i, px.p + sw*j): rows of CI floats
      let k = outAt;
      for (let b = 0; b < B; b++) {
        for (let yi = 0; yi < py.n; yi++) {
          const rowBase = (b * H + py.p + sh * yi) * W + px.p;
          for (let xj = 0; xj < px.n; xj++, k += CI) {
            const dst = (rowBase + sw * xj) * CI;
            o.set(a.subarray(k, k + CI), dst);
          }
        }
      }
    });
    stridePhaseCalls.backpropInput++;
  });
}
