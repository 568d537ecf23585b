/**
 * Building blocks shared by the network builders: N(0, 0.02) init with explicit seeds (so a run
 * builds the same initial weights from its seed), norm layers, conv helpers.
 */
import { tf } from '../backend';
import { InstanceNormalization, ReflectionPadding2D } from '../layers';

export type NormKind = 'batch' | 'instance' | 'none';
export type ST = tf.SymbolicTensor;

/** Deterministic seed sequence for initialisers. */
export class Seeds {
  private i = 0;
  constructor(private readonly base: number) {}
  next(): number {
    this.i += 1;
    return (Math.imul(this.base ^ 0x5bd1e995, 2654435761) + this.i * 7919) >>> 0;
  }
}

/** Conv / dense kernel init N(0, 0.02), as DCGAN and pix2pix. */
export function initN(seeds: Seeds, mean = 0): ReturnType<typeof tf.initializers.randomNormal> {
  return tf.initializers.randomNormal({ mean, stddev: 0.02, seed: seeds.next() });
}

export function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function log2i(n: number): number {
  return Math.round(Math.log2(n));
}

/** Apply a norm layer (or nothing). Batch norm: gamma ~ N(1, 0.02), momentum 0.9 (torch 0.1), eps 1e-5. */
export function norm(x: ST, kind: NormKind, seeds: Seeds): ST {
  if (kind === 'batch') {
    return tf.layers
      .batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, gammaInitializer: initN(seeds, 1), betaInitializer: 'zeros' })
      .apply(x) as ST;
  }
  if (kind === 'instance') return new InstanceNormalization({ affine: false, epsilon: 1e-5 }).apply(x) as ST;
  return x;
}

/** Convs before batch norm need no bias (the norm's beta is the bias). */
export function useBiasFor(kind: NormKind): boolean {
  return kind !== 'batch';
}

export function conv(x: ST, filters: number, kernelSize: number, strides: number, padding: 'same' | 'valid', seeds: Seeds, useBias = true): ST {
  return tf.layers.conv2d({ filters, kernelSize, strides, padding, useBias, kernelInitializer: initN(seeds), biasInitializer: 'zeros' }).apply(x) as ST;
}

export function convT(x: ST, filters: number, kernelSize: number, strides: number, seeds: Seeds, useBias = true): ST {
  return tf.layers
    .conv2dTranspose({ filters, kernelSize, strides, padding: 'same', useBias, kernelInitializer: initN(seeds), biasInitializer: 'zeros' })
    .apply(x) as ST;
}

export function reflect(x: ST, p: number): ST {
  return new ReflectionPadding2D({ padding: p }).apply(x) as ST;
}

export function zeroPad(x: ST, p: number): ST {
  return tf.layers.zeroPadding2d({ padding: p }).apply(x) as ST;
}

export const relu = (x: ST): ST => tf.layers.reLU().apply(x) as ST;
export const lrelu = (x: ST, alpha = 0.2): ST => tf.layers.leakyReLU({ alpha }).apply(x) as ST;
export const tanh = (x: ST): ST => tf.layers.activation({ activation: 'tanh' }).apply(x) as ST;

/** Scale a base width down for small images: 64 at >= 128 px, 32 at 64 px, 16 at 32 px, 8 below. */
export function scaledWidth(size: number, base = 64): number {
  if (size >= 128) return base;
  if (size >= 64) return Math.max(4, base / 2);
  if (size >= 32) return Math.max(4, base / 4);
  return Math.max(4, base / 8);
}
