/**
 * Conv2DBackpropFilter for the wasm backend (stock tfjs-backend-wasm 4.22 has none, so the
 * gradient of every conv2d filter fails there).
 *
 * dW[ky,kx,c,co] = sum_{b,oy,ox} x[b, oy*sh + ky - pt, ox*sw + kx - pl, c] * dy[b,oy,ox,co]
 *
 * is itself a convolution, computed with the backend's XNNPACK Conv2D: the input channels
 * become the batch and the batch becomes the channels,
 *   x  [B,H,W,C]    -> transpose -> [C,H,W,B]      (the "image", padded like the forward conv)
 *   dy [B,OH,OW,CO] -> transpose -> [OH,OW,B,CO]   (the "filter")
 *   conv2d(stride 1, dilation = forward stride)    -> [C,>=KH,>=KW,CO] -> slice [C,KH,KW,CO]
 *   transpose -> [KH,KW,C,CO].
 */
import * as tf from '@tensorflow/tfjs';
import { narrowBackpropFilter } from './narrow-conv';
import { smallConvBackpropFilter } from './small-conv';
import { type BackendWasm, type TensorInfo, release, run } from './wasm-util';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export function conv2DBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Attrs;
  const fmt = tf.backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  if (fmt !== 'channelsLast') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only.');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, fmt,
  );
  // Few input or output channels (<= 4): per-tap SIMD sums in place (narrow-conv.ts).
  const narrow = narrowBackpropFilter(backend, x, dy, info);
  if (narrow) return narrow;
  // Few output pixels, large filter: a direct product (patches^T . dy), no XNNPACK operator.
  const small = smallConvBackpropFilter(backend, x, dy, info);
  if (small) return small;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, outHeight: OH, outWidth: OW } = info;
  const [, H, W] = x.shape as [number, number, number, number];
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // The convolution must see rows -pt .. (OH-1)*sh + KH - 1 - pt of x; pad only what is missing.
  const pb = Math.max(0, (OH - 1) * sh + KH - pt - H);
  const pr = Math.max(0, (OW - 1) * sw + KW - pl - W);

  const xt = run(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] }); // [C,H,W,B]
  const dyt = run(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [OH,OW,B,CO]
  let conv: TensorInfo;
  try {
    conv = run(
      backend,
      'Conv2D',
      { x: xt, filter: dyt },
      { strides: [1, 1], pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]], dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined },
    ); // [C, Hc, Wc, CO]
  } finally {
    release(backend, xt, dyt);
  }
  let sliced = conv;
  const [C, Hc, Wc, CO] = conv.shape as [number, number, number, number];
  if (Hc !== KH || Wc !== KW) {
    sliced = run(backend, 'Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [C, KH, KW, CO] });
    release(backend, conv);
  }
  const out = run(backend, 'Transpose', { x: sliced }, { perm: [1, 2, 0, 3] }); // [KH,KW,C,CO]
  release(backend, sliced);
  return out;
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc,
};
