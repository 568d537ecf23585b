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
 */
import * as tf from '@tensorflow/tfjs';

interface ConvLayerLike {
  rank: number;
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { apply(x: tf.Tensor): tf.Tensor } | null;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): tf.Tensor;
}

let installed = false;
/** Tests switch it off to compare with tfjs's own path. */
export const lazyConvGradOptions = { enabled: true };

const recording = () => (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;

export function installLazyConvGradients(): void {
  if (installed) return;
  // Conv2D -> Conv (the base that holds call()) of tfjs-layers
  const sample = tf.layers.conv2d({ filters: 1, kernelSize: 1 });
  const convProto = Object.getPrototypeOf(Object.getPrototypeOf(sample)) as ConvLayerLike;
  if (!Object.prototype.hasOwnProperty.call(convProto, 'call')) return; // a tfjs-layers we do not know: leave it
  installed = true;
  const orig = convProto.call;
  convProto.call = function (this: ConvLayerLike, inputs, kwargs) {
    if (!lazyConvGradOptions.enabled || this.rank !== 2 || !recording() || (this.dataFormat ?? 'channelsLast') !== 'channelsLast' || (this.padding !== 'same' && this.padding !== 'valid')) {
      return orig.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      let y: tf.Tensor = tf.conv2d(x, this.kernel.read() as tf.Tensor4D, this.strides as [number, number], this.padding as 'same' | 'valid', 'NHWC', this.dilationRate as [number, number]);
      if (this.bias) y = tf.add(y, this.bias.read());
      return this.activation ? this.activation.apply(y) : y;
    });
  };
}
