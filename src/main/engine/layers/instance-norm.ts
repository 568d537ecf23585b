/**
 * InstanceNormalization: per sample and per channel, normalise over H and W,
 *   y = (x - mean_hw) / sqrt(var_hw + eps) * gamma + beta      (gamma, beta only when affine)
 * Input and output [B, H, W, C]. eps 1e-5 and biased variance, as torch.nn.InstanceNorm2d.
 * No running statistics: training and inference behave the same.
 */
import * as tf from '@tensorflow/tfjs';

export interface InstanceNormalizationArgs {
  epsilon?: number;
  /** Learn a per-channel scale (init 1) and offset (init 0). Default true. */
  affine?: boolean;
  name?: string;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

export class InstanceNormalization extends tf.layers.Layer {
  static className = 'InstanceNormalization';
  readonly epsilon: number;
  readonly affine: boolean;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;

  constructor(args: InstanceNormalizationArgs = {}) {
    super(args as tf.serialization.ConfigDict);
    this.epsilon = args.epsilon ?? 1e-5;
    this.affine = args.affine ?? true;
    this.supportsMasking = false;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = s[s.length - 1];
    if (c == null) throw new Error('InstanceNormalization needs a known channel count');
    if (this.affine) {
      this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones());
      this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros());
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const { mean, variance } = tf.moments(x, [1, 2], true);
      let y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.epsilon)));
      if (this.affine && this.gamma && this.beta) y = tf.add(tf.mul(y, this.gamma.read()), this.beta.read());
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon, affine: this.affine };
  }
}

tf.serialization.registerClass(InstanceNormalization);

export function instanceNormalization(args: InstanceNormalizationArgs = {}): InstanceNormalization {
  return new InstanceNormalization(args);
}
