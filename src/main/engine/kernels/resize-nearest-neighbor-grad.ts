/**
 * ResizeNearestNeighborGrad for the wasm backend. The stock wasm kernel ignores
 * `halfPixelCenters`, so its gradient is wrong whenever the forward resize used half-pixel
 * centres with a non-integer scale (e.g. 8 -> 5); the cpu backend's kernel is wrong for plain
 * 2x upsampling (tfjs 4.22). This one scatters dy back through exactly the source index the
 * forward kernel reads (same formula as tfjs-backend-cpu's ResizeNearestNeighbor, which the
 * wasm forward kernel matches; the test checks it against the wasm forward itself).
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, type TensorInfo } from './wasm-util';

/** Source index along one axis for each output index, as the forward kernel computes it. */
export function nearestSourceIndex(inLen: number, outLen: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const effIn = alignCorners && outLen > 1 ? inLen - 1 : inLen;
  const effOut = alignCorners && outLen > 1 ? outLen - 1 : outLen;
  const ratio = effIn / effOut;
  const src = new Int32Array(outLen);
  for (let o = 0; o < outLen; o++) {
    const frac = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
    let s = Math.min(inLen - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) s = Math.max(0, s);
    src[o] = s;
  }
  return src;
}

export function resizeNearestNeighborGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { images, dy } = args.inputs as { images: TensorInfo; dy: TensorInfo };
  const { alignCorners, halfPixelCenters } = args.attrs as { alignCorners: boolean; halfPixelCenters: boolean };
  const [B, H, W, C] = images.shape as [number, number, number, number];
  const [, OH, OW] = dy.shape as [number, number, number, number];
  const rows = nearestSourceIndex(H, OH, alignCorners, halfPixelCenters);
  const cols = nearestSourceIndex(W, OW, alignCorners, halfPixelCenters);
  const out = backend.makeOutput([B, H, W, C], 'float32');
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const g = (dy.dtype === 'float32' ? backend.typedArrayFromHeap(dy) : Float32Array.from(backend.readSync(dy.dataId) as Int32Array)) as Float32Array;
  o.fill(0);
  let k = 0;
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < OH; y++) {
      const rowBase = (b * H + rows[y]) * W;
      for (let x = 0; x < OW; x++) {
        let dst = (rowBase + cols[x]) * C;
        for (let c = 0; c < C; c++) o[dst++] += g[k++];
      }
    }
  }
  return out;
}

export const resizeNearestNeighborGradConfig: tf.KernelConfig = {
  kernelName: 'ResizeNearestNeighborGrad',
  backendName: 'wasm',
  kernelFunc: resizeNearestNeighborGradWasm as unknown as tf.KernelFunc,
};
