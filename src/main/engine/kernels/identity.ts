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

/**
 * Cast to the tensor's own dtype shares the data too: tfjs-core's Identity gradient is
 * cast(dy, 'float32'), so every tf.clone on a tape (tfjs-layers' Add layer clones its first input,
 * Layer.apply clones an output that is one of its inputs) costs a copy backward (~60 us per
 * [1,32,32,256], 36 a 128 px CycleGAN step). Other casts: stock. ATELIER_CAST_SHARE=0 for A/B.
 */
export const castOptions = { share: process.env.ATELIER_CAST_SHARE !== '0' };
export function castWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { dtype } = args.attrs as unknown as { dtype: string };
  if (!castOptions.share || x.dtype !== dtype || x.dtype === 'string') return runStock(backend, 'Cast', args.inputs as Record<string, TensorInfo>, args.attrs as Record<string, unknown>);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

export const castConfig: tf.KernelConfig = {
  kernelName: 'Cast',
  backendName: 'wasm',
  kernelFunc: castWasm as unknown as tf.KernelFunc,
};

export const identityConfig: tf.KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identityWasm as unknown as tf.KernelFunc,
};
