/**
 * Batch normalisation that keeps its running statistics as torch.nn.BatchNorm2d does.
 *
 * Both frameworks store the variance that inference divides by (PyTorch `running_var`, tfjs
 * `moving_variance`), so a stored value maps across unchanged in both directions. They differ in
 * how TRAINING updates it: tfjs's BatchNormalization averages in the batch's biased variance
 * (divided by n), PyTorch the unbiased one (divided by n - 1, n = batch x height x width per
 * channel). The normalisation of the batch itself uses the biased variance in both. At the sizes
 * the reference trains (pix2pix's U-Net reaches 2x2 maps at batch 1: n = 4) the gap is a factor
 * n/(n-1) = 4/3 on those layers' running variance, so a model trained here and run in eval mode
 * (ours or PyTorch's) would differ from one the reference trained on the same data.
 *
 * This subclass changes only that update. It keeps tfjs's class name (it is not registered under
 * a name of its own), so saved models, the ONNX writer and the weight mapping see an ordinary
 * BatchNormalization, and a saved model reloads as tfjs's own layer, which is the same at
 * inference; training always rebuilds networks from their builders, so it gets this one.
 * Momentum follows tfjs's convention (0.9 here = PyTorch's momentum 0.1).
 */
import * as tf from '@tensorflow/tfjs';

interface BatchNormInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

type LayerCtor = new (args: Record<string, unknown>) => tf.layers.Layer;
/** tfjs does not export the class itself; its factory's instances carry it. */
const TfBatchNormalization = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as LayerCtor;

export interface TorchBatchNormArgs {
  name?: string;
  /** Channel axis: the last (NHWC) is the only one supported. */
  axis?: -1;
  momentum?: number;
  epsilon?: number;
}

export class TorchBatchNorm extends TfBatchNormalization {
  constructor(args: TorchBatchNormArgs = {}) {
    super({ axis: -1, momentum: 0.9, epsilon: 1e-5, ...args });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    if (!kwargs?.training) return super.call(inputs, kwargs);
    const self = this as unknown as BatchNormInternals;
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
      const axes = x.shape.map((_, i) => i).slice(0, -1);
      const { mean, variance } = tf.moments(x, axes);
      const y = tf.batchNorm(x, mean, variance, self.beta?.read(), self.gamma?.read(), self.epsilon);
      // n values per channel: PyTorch's running_var takes variance * n / (n - 1).
      const n = x.size / x.shape[x.shape.length - 1]!;
      const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
      const keep = self.momentum;
      tf.tidy(() => {
        // tfjs's moving average, written as it does (orig - (orig - value) * (1 - momentum)).
        const mm = self.movingMean.read();
        self.movingMean.write(tf.sub(mm, tf.mul(tf.sub(mm, mean), 1 - keep)));
        const mv = self.movingVariance.read();
        self.movingVariance.write(tf.sub(mv, tf.mul(tf.sub(mv, unbiased), 1 - keep)));
      });
      return y;
    });
  }
}

export function torchBatchNorm(args: TorchBatchNormArgs = {}): TorchBatchNorm {
  return new TorchBatchNorm(args);
}
