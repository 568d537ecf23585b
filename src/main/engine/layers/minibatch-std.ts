/**
 * MinibatchStd (Karras et al. 2018, "Progressive growing of GANs", section 3): appends one
 * feature map holding how much the samples of the batch differ from each other, so the
 * discriminator can see a collapsed batch (every fake alike) that no single image gives away,
 * and the generator is pushed towards the data's spread.
 *
 *   inputs  h [B, H, W, C]            (+ label [B, 1] int32 with numClasses > 0)
 *   output    [B, H, W, C + 1]
 *
 * numClasses 0 ('batch'): s = mean over (H, W, C) of the standard deviation over the batch, the
 * same scalar for every sample. numClasses K ('class', for a conditional D): the statistic is
 * computed among the samples that share a label, and each sample gets its own class's value, so
 * the spread between classes (which a collapsed conditional G still has) does not hide a class
 * that collapsed. A class with one sample in the batch gets ~0 (as do real singletons, so it is
 * no cue). Biased variance, eps 1e-8 inside the square root, as ProGAN.
 * No weights; the statistic depends on the batch at inference too (D is used only in training).
 */
import * as tf from '@tensorflow/tfjs';

export interface MinibatchStdArgs {
  /** > 0: group by the label input (second input) into this many classes; 0: the whole batch. */
  numClasses?: number;
  name?: string;
}

/** The per-sample statistic [B] of h [B, ...] (labels [B] int32 when numClasses > 0). */
export function minibatchStd(h: tf.Tensor, labels: tf.Tensor | null, numClasses: number): tf.Tensor1D {
  return tf.tidy(() => {
    const b = h.shape[0]!;
    const f = tf.reshape(h, [b, -1]) as tf.Tensor2D;
    if (!labels || numClasses <= 0) {
      const { variance } = tf.moments(f, 0);
      const s = tf.mean(tf.sqrt(tf.add(variance, 1e-8)));
      return tf.mul(tf.ones([b]), s) as tf.Tensor1D;
    }
    const y = tf.oneHot(tf.cast(tf.reshape(labels, [b]), 'int32'), numClasses).toFloat() as tf.Tensor2D; // [B, K]
    const inv = tf.div(1, tf.maximum(tf.sum(y, 0), 1)).reshape([numClasses, 1]); // [K, 1]
    const mean = tf.mul(tf.matMul(y, f, true, false), inv); // [K, F]
    const dev = tf.sub(f, tf.matMul(y, mean)); // [B, F]
    const variance = tf.mul(tf.matMul(y, tf.square(dev), true, false), inv); // [K, F]
    const perClass = tf.mean(tf.sqrt(tf.add(variance, 1e-8)), 1, true); // [K, 1]
    return tf.reshape(tf.matMul(y, perClass), [b]) as tf.Tensor1D;
  });
}

export class MinibatchStd extends tf.layers.Layer {
  static className = 'MinibatchStd';
  readonly numClasses: number;

  constructor(args: MinibatchStdArgs = {}) {
    super(args as tf.serialization.ConfigDict);
    this.numClasses = args.numClasses ?? 0;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = s[s.length - 1];
    return [...s.slice(0, -1), c == null ? null : c + 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const h = list[0] as tf.Tensor4D;
      const [b, hh, w] = h.shape;
      const s = minibatchStd(h, list[1] ?? null, this.numClasses);
      return tf.concat([h, tf.tile(tf.reshape(s, [b, 1, 1, 1]), [1, hh, w, 1])], 3);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numClasses: this.numClasses };
  }
}

tf.serialization.registerClass(MinibatchStd);
