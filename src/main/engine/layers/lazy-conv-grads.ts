/**
 * Lazy gradients for tfjs-layers' Conv2D while a gradient tape records.
 *
 * tfjs-layers' Conv2D always calls tf.fused.conv2d. While a tape records and the activation is
 * linear, tfjs-core runs that op through customGrad, whose gradient computes the input, filter
 * and bias gradients eagerly, needed or not: the tape prunes the inputs that do not lead to the
 * variables being differentiated, but cannot reach inside a customGrad. In a GAN step this means
 * the generator update computes every discriminator filter gradient (and the discriminator update
 * the input gradient of its first layer): at 256 px pix2pix that is ~1 GMAC-s of wasted work per step.
 *
 * Under a tape, this runs the layer as the unfused ops (conv2d, add, activation), whose registered
 * gradients are computed per input, only when needed. Without a tape (inference, export) and for
 * anything but a 2-D channels-last convolution, the original fused call is kept. The values are
 * the same ops' values: wasm's FusedConv2D adds the bias after the product exactly as Add does.
 *
 * A bias that instance normalisation cancels (Conv2D and Conv2DTranspose whose only consumer is an
 * InstanceNormalization, no activation between: CycleGAN's generators and PatchGAN at paper widths,
 * bias=True before every norm as in the reference) is not added under a tape, and its gradient is
 * exactly zero. Instance norm subtracts the per-sample, per-channel mean over H and W, so
 * IN(x + b) = IN(x) for every b: the layer's output does not depend on b, and d loss / d b = 0.
 * Computed, that gradient is the sum over pixels of IN's input gradient, i.e. rounding noise
 * (which Adam, normalising by its own scale, turns into a random walk of a parameter with no
 * effect). The parameter stays (same count as the reference, same checkpoints, still added at
 * inference, where IN cancels it again); the step saves the bias Add forward and the Sum over
 * every pixel backward (~200 kernel calls of a 128 px CycleGAN step). Trained from its zero
 * initialisation the bias stays zero, so the forward values are the same bits as with the add.
 */
import * as tf from '@tensorflow/tfjs';
import { InstanceNormalization, normTakesCancelledBias, recording, tagCancelledBias } from './instance-norm';
import { REFLECT_CONV_GRAD_INPUT, reflectConvOptions } from '../kernels/reflect-conv';
import { reflectPadSource } from './reflection-padding';

interface ConvLayerLike {
  rank: number;
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { apply(x: tf.Tensor): tf.Tensor; getClassName?(): string } | null;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): tf.Tensor;
  inboundNodes?: unknown[];
  outboundNodes?: { outboundLayer?: { inboundNodes?: unknown[] } }[];
}

let installed = false;
/**
 * Tests switch it off to compare with tfjs's own path. `skipCancelledBias`: the bias before an
 * instance norm is left out under a tape, its gradient zero (above); ATELIER_NORM_BIAS=1 adds it
 * and computes its gradient as the reference does (A/B).
 */
export const lazyConvGradOptions = { enabled: true, skipCancelledBias: process.env.ATELIER_NORM_BIAS !== '1' };

/**
 * Whether instance norm cancels this conv layer's bias: the layer is applied once, with no
 * activation, and its one consumer is an InstanceNormalization applied once. Read from the layer
 * graph at every call (a later model could reuse the layer).
 */
export function biasCancelledByNorm(layer: ConvLayerLike): boolean {
  const act = layer.activation?.getClassName?.();
  if (layer.bias == null || (layer.activation != null && act !== 'linear')) return false;
  const out = layer.outboundNodes;
  if (layer.inboundNodes?.length !== 1 || out?.length !== 1) return false;
  const next = out[0]!.outboundLayer;
  return next instanceof InstanceNormalization && next.inboundNodes?.length === 1;
}

/** y, with b as a second input whose gradient is zero (b is not added: see the header). */
const withCancelledBias = tf.customGrad(((y: tf.Tensor, b: tf.Tensor) => ({
  // a new tensor sharing y's data (Identity), so that the tape sees an op from y to it
  value: tf.clone(y),
  gradFunc: (dy: tf.Tensor) => [tf.clone(dy), tf.zerosLike(b)],
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (y: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * y without the cancelled bias b: the InstanceNormalization after it takes b as a zero-gradient
 * input of its own op where it can (instance-norm.ts: no op here, its clone and gradient's clone
 * and the customGrad record are saved), else withCancelledBias. The tag goes on the tensor the
 * layer returns (its activation is linear: the same tensor).
 */
function cancelBias(y: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (!normTakesCancelledBias(y)) return withCancelledBias(y, b);
  tagCancelledBias(y, b);
  return y;
}

export function installLazyConvGradients(): void {
  if (installed) return;
  // Conv2D -> Conv (the base that holds call()) of tfjs-layers
  const sample = tf.layers.conv2d({ filters: 1, kernelSize: 1 });
  const convProto = Object.getPrototypeOf(Object.getPrototypeOf(sample)) as ConvLayerLike;
  if (!Object.prototype.hasOwnProperty.call(convProto, 'call')) return; // a tfjs-layers we do not know: leave it
  installed = true;
  installTransposeBiasSkip();
  const orig = convProto.call;
  convProto.call = function (this: ConvLayerLike, inputs, kwargs) {
    if (!lazyConvGradOptions.enabled || this.rank !== 2 || !recording() || (this.dataFormat ?? 'channelsLast') !== 'channelsLast' || (this.padding !== 'same' && this.padding !== 'valid')) {
      return orig.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const kernel = this.kernel.read() as tf.Tensor4D;
      const src = reflectConvSource(this, x, kernel);
      let y: tf.Tensor = src ? reflectConv(src.x, x, kernel, src.p) : tf.conv2d(x, kernel, this.strides as [number, number], this.padding as 'same' | 'valid', 'NHWC', this.dilationRate as [number, number]);
      if (this.bias) y = lazyConvGradOptions.skipCancelledBias && biasCancelledByNorm(this) ? cancelBias(y, this.bias.read()) : tf.add(y, this.bias.read());
      return this.activation ? this.activation.apply(y) : y;
    });
  };
}

/**
 * Conv2DTranspose has a call() of its own (conv2dTranspose, biasAdd, activation): under a tape, a
 * bias instance norm cancels is left out of it the same way (CycleGAN's up-sampling layers).
 */
function installTransposeBiasSkip(): void {
  const proto = Object.getPrototypeOf(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 1 })) as ConvLayerLike;
  if (!Object.prototype.hasOwnProperty.call(proto, 'call')) return;
  const orig = proto.call;
  proto.call = function (this: ConvLayerLike, inputs, kwargs) {
    const bias = this.bias;
    if (!lazyConvGradOptions.skipCancelledBias || bias == null || !recording() || !biasCancelledByNorm(this)) return orig.call(this, inputs, kwargs);
    return tf.tidy(() => {
      // its call adds this.bias when set: not this once (restored before anything else runs)
      this.bias = null;
      let y: tf.Tensor;
      try {
        y = orig.call(this, inputs, kwargs);
      } finally {
        this.bias = bias;
      }
      return cancelBias(y, bias.read());
    });
  };
}

/**
 * The unpadded input where x came from ReflectionPadding2D (p = 1) and this layer is a 3x3
 * stride-1 'valid' convolution, and the fused input-gradient kernel runs here (wasm with our
 * kernels; ATELIER_REFLECT_CONV=0 for A/B), else null.
 */
function reflectConvSource(layer: ConvLayerLike, x: tf.Tensor4D, kernel: tf.Tensor4D): { x: tf.Tensor4D; p: number } | null {
  if (!reflectConvOptions.enabled || x.dtype !== 'float32' || tf.getBackend() !== 'wasm' || !tf.getKernel(REFLECT_CONV_GRAD_INPUT, 'wasm')) return null;
  const src = reflectPadSource(x);
  if (!src || src.p !== 1 || kernel.shape[0] !== 3 || kernel.shape[1] !== 3 || layer.padding !== 'valid') return null;
  if (layer.strides.some((v) => v !== 1) || layer.dilationRate.some((v) => v !== 1)) return null;
  return src;
}

/**
 * conv2d(xp, kernel, 'valid') with xp = reflectionPad2d(x, p), recorded as one op of x and kernel:
 * its gradient is the padding's and the convolution's input gradient in one kernel
 * (kernels/reflect-conv.ts: the padded map's gradient is never made) and the filter gradient of
 * xp. The padding's own tape record then leads nowhere and is pruned. Both gradients are computed
 * whenever either is needed (a customGrad), which the residual blocks always need together. First
 * order only: the fused kernel has no gradient of its own (no model here differentiates a
 * gradient; one that did would get tfjs's missing-gradient error, and ATELIER_REFLECT_CONV=0).
 */
function reflectConv(x: tf.Tensor4D, xp: tf.Tensor4D, kernel: tf.Tensor4D, p: number): tf.Tensor4D {
  const f = tf.customGrad(((_x: tf.Tensor, k: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xp, k]);
    const value = tf.conv2d(xp, k as tf.Tensor4D, 1, 'valid');
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ks] = saved as [tf.Tensor4D, tf.Tensor4D];
      const e = tf.engine();
      const dx = e.runKernel(REFLECT_CONV_GRAD_INPUT, { dy, filter: ks }, { padding: p } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: ks.shape };
      const dw = e.runKernel('Conv2DBackpropFilter', { x: xs, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      return [dx, dw];
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, kernel) as tf.Tensor4D;
}
