/**
 * A fast Conv2DBackpropInput (transposed convolution, and the input gradient of conv2d) for
 * the wasm backend. The stock wasm kernel is a direct loop; this one decomposes a stride-s
 * transposed convolution into s*s ordinary XNNPACK convolutions ("phases"), one per output
 * position modulo s, each with the sub-filter W[ry::s, rx::s] flipped, and interleaves them.
 *
 * Per axis, for output row y = p + s*i (phase p), with r = (p + padTop) mod s and
 * d = floor((p + padTop) / s):
 *   dx[y] = sum_j dy[i + d - j] * W[r + s*j],   j = 0 .. J-1,  J = ceil((K - r) / s)
 * which is a correlation of dy with F[m] = W[r + s*(J-1-m)] starting at dy row i + d - (J-1).
 */
import * as tf from '@tensorflow/tfjs';
import { narrowConvOptions, narrowForward, wideForward } from './narrow-conv';
import { smallConvBackpropInput } from './small-conv';
import { type BackendWasm, type TensorInfo, release, run, runStock } from './wasm-util';

/**
 * Below this many dy pixels (batch * OH * OW) the fixed cost of preparing and packing the
 * sub-filters outweighs the faster convolutions and the stock kernel wins (bench.ts: 4x4 dy with
 * 512 channels is ~0.5x as fast, 8x8 is 2x faster); U-Net's innermost layers stay stock.
 */
export const phaseConvOptions = { minDyPixels: 32 };
/** Calls that took the phase decomposition (tests observe the routing; results agree either way). */
export const phaseConvCalls = { phase: 0 };

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** One phase along one axis. */
interface AxisPhase {
  p: number; // output index modulo s
  n: number; // number of output rows in this phase
  r: number; // first filter tap
  J: number; // number of taps
  begin: number; // first dy row read (after clipping)
  len: number; // dy rows read (<= 0: phase is all zeros)
  padBefore: number;
  padAfter: number;
}

function axisPhases(outLen: number, K: number, s: number, padBefore: number, inLen: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let p = 0; p < s; p++) {
    const n = p < outLen ? Math.ceil((outLen - p) / s) : 0;
    const r = (p + padBefore) % s;
    const d = Math.floor((p + padBefore) / s);
    const J = r < K ? Math.ceil((K - r) / s) : 0;
    const lo = d - (J - 1);
    const hi = n - 1 + d;
    const begin = Math.max(0, lo);
    const end = Math.min(inLen - 1, hi);
    phases.push({ p, n, r, J, begin, len: end - begin + 1, padBefore: begin - lo, padAfter: hi - end });
  }
  return phases;
}

/**
 * Sub-filter [Jy,Jx,CO,CI] for one phase from wt = W transposed to [KH,KW,CO,CI]:
 * F[my,mx] = wt[ry + s*(Jy-1-my), rx + s*(Jx-1-mx)], each tap a contiguous CO*CI block.
 */
function subFilter(backend: BackendWasm, wt: TensorInfo, py: AxisPhase, px: AxisPhase, sh: number, sw: number): TensorInfo {
  const [, KW, CO, CI] = wt.shape as [number, number, number, number];
  const block = CO * CI;
  const out = backend.makeOutput([py.J, px.J, CO, CI], 'float32');
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const w = backend.typedArrayFromHeap(wt) as Float32Array;
  let k = 0;
  for (let my = 0; my < py.J; my++) {
    const ky = py.r + sh * (py.J - 1 - my);
    for (let mx = 0; mx < px.J; mx++) {
      const kx = px.r + sw * (px.J - 1 - mx);
      const src = (ky * KW + kx) * block;
      o.set(w.subarray(src, src + block), k);
      k += block;
    }
  }
  return out;
}

/**
 * Stride 1 with a narrow side (<= maxNarrow channels): dx is a convolution of dy, padded by K-1-p,
 * with the filter rotated 180 degrees and its channels swapped. dy narrow (the generator's 7x7
 * 64 -> 3 layer): narrow-conv.ts's wideForward; dx narrow (its first 7x7 3 -> 64 layer, whose
 * input gradient the cycle loss needs): a zero-padded copy of dy and narrowForward, instead of
 * an XNNPACK convolution with 3 output channels (~4 GMAC/s).
 */
function narrowInputGrad(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, attrs: Attrs): TensorInfo | null {
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: KH, filterWidth: KW } = info;
  if (!narrowConvOptions.enabled || info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  const dyNarrow = CO <= narrowConvOptions.maxNarrow && CI % 4 === 0;
  const dxNarrow = narrowConvOptions.narrowDx && CI <= narrowConvOptions.maxNarrow && CO % 4 === 0;
  if (!dyNarrow && !dxNarrow) return null;
  const { top, bottom, left, right } = info.padInfo;
  const pad: [[0, 0], [number, number], [number, number], [0, 0]] = [[0, 0], [KH - 1 - top, KH - 1 - bottom], [KW - 1 - left, KW - 1 - right], [0, 0]];
  if (pad[1][0] < 0 || pad[1][1] < 0 || pad[2][0] < 0 || pad[2][1] < 0) return null;
  const cinfo = tf.backend_util.computeConv2DInfo([B, OH, OW, CO], [KH, KW, CO, CI], 1, 1, pad, undefined, false, 'channelsLast');
  if (cinfo.outHeight !== H || cinfo.outWidth !== W) return null;
  const wf = backend.makeOutput([KH, KW, CO, CI], 'float32');
  try {
    // wf[ky, kx, co, ci] = w[KH-1-ky, KW-1-kx, ci, co]
    const w = backend.typedArrayFromHeap(filter) as Float32Array;
    const o = backend.typedArrayFromHeap(wf) as Float32Array;
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const src = ((KH - 1 - ky) * KW + (KW - 1 - kx)) * CI * CO;
        let d = (ky * KW + kx) * CO * CI;
        for (let co = 0; co < CO; co++) for (let ci = 0, s = src + co; ci < CI; ci++, s += CO) o[d++] = w[s]!;
      }
    }
    if (dyNarrow) return wideForward(backend, dy, wf, cinfo);
    const [Hp, Wp] = [OH + pad[1][0] + pad[1][1], OW + pad[2][0] + pad[2][1]];
    const padded = backend.makeOutput([B, Hp, Wp, CO], 'float32');
    try {
      const dv = backend.typedArrayFromHeap(dy) as Float32Array;
      const pv = backend.typedArrayFromHeap(padded) as Float32Array;
      pv.fill(0);
      for (let b = 0; b < B; b++) {
        for (let y = 0; y < OH; y++) {
          const src = (b * OH + y) * OW * CO;
          pv.set(dv.subarray(src, src + OW * CO), ((b * Hp + y + pad[1][0]) * Wp + pad[2][0]) * CO);
        }
      }
      const vinfo = tf.backend_util.computeConv2DInfo([B, Hp, Wp, CO], [KH, KW, CO, CI], 1, 1, 'valid', undefined, false, 'channelsLast');
      return narrowForward(backend, padded, wf, vinfo);
    } finally {
      release(backend, padded);
    }
  } finally {
    release(backend, wf);
  }
}

export function conv2DBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as Attrs;
  const fmt = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  const [B0, OH0, OW0] = dy.shape as [number, number, number, number];
  if (fmt === 'channelsLast' && dy.dtype === 'float32' && filter.dtype === 'float32') {
    // Tiny dy, large filter: a direct product that reads the filter in place (no packing).
    const small = smallConvBackpropInput(
      backend, dy, filter,
      tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, fmt),
    );
    if (small) return small;
    // dy or dx with <= 4 channels at stride 1 (the generator's 7x7 layers): a convolution of dy
    // with the rotated filter by narrow-conv.ts
    const narrow = narrowInputGrad(backend, dy, filter, attrs);
    if (narrow) return narrow;
  }
  if (fmt !== 'channelsLast' || dy.dtype !== 'float32' || filter.dtype !== 'float32' || B0 * OH0 * OW0 < phaseConvOptions.minDyPixels) {
    return runStock(backend, 'Conv2DBackpropInput', args.inputs as Record<string, TensorInfo>, attrs as unknown as Record<string, unknown>);
  }
  phaseConvCalls.phase++;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, fmt,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const rows = axisPhases(H, KH, sh, info.padInfo.top, OH);
  const cols = axisPhases(W, KW, sw, info.padInfo.left, OW);

  // Run every phase's convolution first (allocations may grow the heap), then interleave.
  const results: { py: AxisPhase; px: AxisPhase; t: TensorInfo | null }[] = [];
  const wt = run(backend, 'Transpose', { x: filter }, { perm: [0, 1, 3, 2] }); // [KH,KW,CO,CI]
  try {
    for (const py of rows) {
      for (const px of cols) {
        if (py.n === 0 || px.n === 0) continue;
        if (py.J === 0 || px.J === 0 || py.len <= 0 || px.len <= 0) {
          results.push({ py, px, t: null });
          continue;
        }
        let src = dy;
        if (py.len !== OH || px.len !== OW) {
          src = run(backend, 'Slice', { x: dy }, { begin: [0, py.begin, px.begin, 0], size: [B, py.len, px.len, CO] });
        }
        const f = subFilter(backend, wt, py, px, sh, sw);
        let t: TensorInfo;
        try {
          t = run(
            backend,
            'Conv2D',
            { x: src, filter: f },
            {
              strides: [1, 1],
              pad: [[0, 0], [py.padBefore, py.padAfter], [px.padBefore, px.padAfter], [0, 0]],
              dataFormat: 'NHWC',
              dilations: [1, 1],
              dimRoundingMode: undefined,
            },
          );
        } finally {
          release(backend, f, src === dy ? null : src);
        }
        results.push({ py, px, t });
      }
    }
    // A single phase covering everything (stride 1): the conv output is the answer.
    if (results.length === 1 && results[0]!.t && sh === 1 && sw === 1) {
      const t = results[0]!.t;
      results.length = 0;
      return t;
    }
    const out = backend.makeOutput([B, H, W, CI], 'float32');
    const o = backend.typedArrayFromHeap(out) as Float32Array;
    for (const { py, px, t } of results) {
      const v = t ? (backend.typedArrayFromHeap(t) as Float32Array) : null;
      let k = 0;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < py.n; i++) {
          const rowBase = (b * H + py.p + sh * i) * W;
          for (let j = 0; j < px.n; j++) {
            let dst = (rowBase + px.p + sw * j) * CI;
            if (v) {
              for (let c = 0; c < CI; c++) o[dst++] = v[k++];
            } else {
              for (let c = 0; c < CI; c++) o[dst++] = 0;
            }
          }
        }
      }
    }
    return out;
  } finally {
    release(backend, wt);
    for (const r of results) release(backend, r.t);
  }
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as tf.KernelFunc,
};
