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

/**
 * tfjs-core's Engine.clone, which copies every tensor a kernel (inputsToSave / outputsToSave) or a
 * customGrad saves for the backward pass, runs the Identity kernel and records a tape node for it
 * (Cast as its gradient): ~800 of a CycleGAN step's ~2400 kernel calls, each with the engine's
 * per-call work (kernel lookup, tracking, the tape node, pruning it again before backprop). Its
 * node matters only to a gradient of the gradient, whose outer tape records the forward pass at
 * gradient depth 2; at depth 1 the clone's output feeds no recorded op and is always pruned.
 * There, on wasm, a save is a new tensor sharing the data (refcounted, as our Identity kernel
 * does: the in-place writers check the count) with no kernel call and no node. Deeper tapes and
 * other backends keep tfjs's clone. ATELIER_LIGHT_SAVES=0 for A/B.
 */
export const saveOptions = { light: process.env.ATELIER_LIGHT_SAVES !== '0' };
export const saveStats = { light: 0 };
interface EngineLike {
  clone(x: tf.Tensor): tf.Tensor;
  backendName: string;
  backend: unknown;
  state: { gradientDepth: number };
  makeTensorFromTensorInfo(info: TensorInfo, backend?: unknown): tf.Tensor;
}
let lightSavesInstalled = false;
export function installLightSaves(): void {
  if (lightSavesInstalled) return;
  const e = tf.engine() as unknown as EngineLike;
  const orig = e.clone;
  if (typeof orig !== 'function' || typeof e.makeTensorFromTensorInfo !== 'function') return; // a tfjs-core we do not know
  lightSavesInstalled = true;
  e.clone = function (this: EngineLike, x: tf.Tensor): tf.Tensor {
    if (!saveOptions.light || this.state.gradientDepth > 1 || this.backendName !== 'wasm' || x.dtype === 'string') return orig.call(this, x);
    const backend = this.backend as BackendWasm;
    backend.incRef(x.dataId);
    saveStats.light++;
    return this.makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype }, backend);
  };
}
