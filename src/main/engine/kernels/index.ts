/**
 * Kernels tfjs-backend-wasm lacks (or has slow) that training needs. Each is registered only on
 * the wasm backend and each has a test against the cpu backend (tests/unit/engine/kernels).
 * Returns the names registered, for `atelier doctor`.
 *
 * Found missing on wasm 4.22 by taking gradients of every op our networks use
 * (scripts/kernels-probe.ts): Conv2DBackpropFilter (every conv2d / conv2dTranspose filter
 * gradient) and UnsortedSegmentSum (gradient of gather, i.e. embeddings). Replaced because it
 * is slow: Conv2DBackpropInput (transposed convolution and every conv2d input gradient), Conv2D
 * and FusedConv2D on few output pixels (XNNPACK re-packs new filters every step: small-conv.ts),
 * Tile (index per element), Identity and same-dtype Cast (copies), LeakyRelu and Relu (and their gradients, three
 * kernels each: elementwise.ts), Add of a per-channel vector (bias), Concat along channels, and
 * Sum / Mean over all axes but channels. Our own fused kernels (no tfjs name): instance normalisation forward / backward and the reflection-pad
 * gradient, instance normalisation with the ReLU / LeakyReLU after it both ways (norm-pad.ts), the input gradient of reflection-pad + 3x3 conv (reflect-conv.ts), which
 * layers/ call where they are registered.
 * Replaced because they are wrong: ResizeNearestNeighborGrad (ignores halfPixelCenters) and
 * MaxPoolGrad (loses all-negative windows).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input';
import { maxPoolGradConfig } from './max-pool-grad';
import { resizeNearestNeighborGradConfig } from './resize-nearest-neighbor-grad';
import { conv2DConfig, fusedConv2DConfig } from './small-conv';
import { tileConfig } from './tile';
import { castConfig, identityConfig, installLightSaves } from './identity';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';
import { stockConfig, stockKernel } from './wasm-util';
import { instanceNormActConfig, instanceNormActGradConfig, instanceNormConfig, instanceNormGradConfig, reflectPadGradConfig } from './norm-pad';
import { reflectConvGradInputConfig } from './reflect-conv';
import { addConfig, concatConfig, leakyReluConfig, leakyReluGradConfig, meanConfig, registerLeakyReluGradient, reluConfig, sumConfig, tanhConfig, tanhGradConfig } from './elementwise';

/** Kernels wasm does not have at all: registered only where the name is free. */
const MISSING: tf.KernelConfig[] = [conv2DBackpropFilterConfig, unsortedSegmentSumConfig, leakyReluGradConfig, instanceNormConfig, instanceNormGradConfig, instanceNormActConfig, instanceNormActGradConfig, reflectPadGradConfig, reflectConvGradInputConfig, tanhGradConfig];
/**
 * Kernels that replace a stock wasm kernel: Conv2DBackpropInput, Conv2D, FusedConv2D, Tile and
 * Identity because ours are faster (see bench.ts, README.md; the conv ones call the stock kernel
 * outside the small-spatial case), ResizeNearestNeighborGrad because the stock one ignores halfPixelCenters,
 * MaxPoolGrad because the stock one drops windows whose values are all negative.
 */
const REPLACEMENTS: tf.KernelConfig[] = [conv2DBackpropInputConfig, resizeNearestNeighborGradConfig, maxPoolGradConfig, conv2DConfig, fusedConv2DConfig, tileConfig, identityConfig, castConfig, leakyReluConfig, concatConfig, sumConfig, meanConfig, reluConfig, addConfig, tanhConfig];

const registered = new Set<string>();

export function registerWasmKernels(): string[] {
  for (const k of MISSING) {
    if (registered.has(k.kernelName)) continue;
    if (tf.getKernel(k.kernelName, 'wasm')) continue; // a later tfjs-backend-wasm has its own
    tf.registerKernel(k);
    registered.add(k.kernelName);
  }
  for (const k of REPLACEMENTS) {
    if (registered.has(k.kernelName)) continue;
    useWasmKernel(k.kernelName, 'ours');
  }
  registerLeakyReluGradient(); // idempotent: registering a gradient again replaces it
  installLightSaves(); // once: the engine's saves for the backward pass share data on wasm
  return [...registered].sort();
}

/**
 * Switch a replaced kernel between the stock wasm one and ours (bench and tests compare both).
 * The stock config is saved the first time, so it stays callable after the override.
 */
export function useWasmKernel(kernelName: string, which: 'stock' | 'ours'): void {
  const ours = REPLACEMENTS.find((k) => k.kernelName === kernelName);
  if (!ours) throw new Error(`${kernelName} is not a replaceable wasm kernel`);
  stockKernel(kernelName); // save the stock config before the first override
  const stock = stockConfig(kernelName);
  if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
  if (which === 'ours' || !stock) {
    tf.registerKernel(ours);
    registered.add(kernelName);
  } else {
    tf.registerKernel(stock);
    registered.delete(kernelName);
  }
}
