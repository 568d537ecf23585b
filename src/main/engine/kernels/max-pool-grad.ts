/**
 * MaxPoolGrad for the wasm backend. The stock wasm kernel drops the gradient of every window
 * whose values are all negative (it never selects a maximum there, as if it started from 0),
 * so dx is wrong after e.g. a leakyRelu/tanh. This one routes dy to the first maximum of each
 * window in row-major order, exactly as tfjs-backend-cpu does (padding is never selected).
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, type TensorInfo } from './wasm-util';

export function maxPoolGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { effectiveFilterHeight: EFH, effectiveFilterWidth: EFW } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const out = backend.makeOutput(input.shape.slice(), 'float32');
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const xv = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  o.fill(0);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * sh - pt;
      const yMax = Math.min(H, EFH + y0);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * sw - pl;
        const xMax = Math.min(W, EFW + x0);
        const gBase = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          // Same walk as the cpu backend: start at the window corner, step by the dilation.
          for (let y = y0 < 0 ? y0 + Math.ceil(-y0 / dh) * dh : y0; y < yMax; y += dh) {
            for (let x = x0 < 0 ? x0 + Math.ceil(-x0 / dw) * dw : x0; x < xMax; x += dw) {
              const k = ((b * H + y) * W + x) * C + c;
              const v = xv[k];
              if (v > best) {
                best = v;
                at = k;
              }
            }
          }
          if (at >= 0) o[at] += g[gBase + c];
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm as unknown as tf.KernelFunc,
};
