/**
 * Identity (tf.clone, and the engine's many pass-through gradients) sharing the input's data,
 * as the cpu and webgl backends do, instead of the stock wasm kernel's copy: ~700 calls per
 * pix2pix step, weight-sized ones ~1.5 ms each. The data is refcounted (`incRef`); the only
 * in-place writer on the heap, FusedAdam, copies a moment buffer first when its refcount is > 1.
 */
import * as tf from '@tensorflow/tfjs';
import { type BackendWasm, type TensorInfo, runStock } from './wasm-util';

export function identityWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return runStock(backend, 'Identity', args.inputs as Record<string, TensorInfo>);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

export const identityConfig: tf.KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identityWasm as unknown as tf.KernelFunc,
};
