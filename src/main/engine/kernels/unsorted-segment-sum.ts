/**
 * UnsortedSegmentSum for the wasm backend (missing in tfjs-backend-wasm 4.22). It is the
 * gradient of gather, so any embedding (e.g. a class label embedding in a conditional GAN)
 * needs it. out[s, ...] = sum over i with segmentIds[i] == s of x[i, ...]; ids outside
 * [0, numSegments) are dropped, as in TensorFlow.
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, type TensorInfo } from './wasm-util';

export function unsortedSegmentSumWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  const n = tf.util.sizeFromShape(segmentIds.shape);
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = tf.util.sizeFromShape(innerShape);
  if (tf.util.sizeFromShape(x.shape) !== n * inner) {
    throw new Error(`UnsortedSegmentSum: x shape ${x.shape} does not start with segmentIds shape ${segmentIds.shape}`);
  }
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  // Views after the allocation (the heap may have grown).
  const o = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const xv = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = backend.readSync(segmentIds.dataId) as Int32Array | Float32Array;
  o.fill(0);
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) o[dst + k] += xv[src + k];
  }
  return out;
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSumWasm as unknown as tf.KernelFunc,
};
