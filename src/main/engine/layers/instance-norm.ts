/**
 * InstanceNormalization: per sample and per channel, normalise over H and W,
 *   y = (x - mean_hw) / sqrt(var_hw + eps) * gamma + beta      (gamma, beta only when affine)
 * Input and output [B, H, W, C]. eps 1e-5 and biased variance, as torch.nn.InstanceNorm2d.
 * No running statistics: training and inference behave the same.
 */
import * as tf from '@tensorflow/tfjs';
import { INSTANCE_NORM, INSTANCE_NORM_GRAD, fusedKernelAvailable } from '../kernels/norm-pad';

/**
 * x_hat = (x - mean_hw) * rstd, rstd = 1 / sqrt(var_hw + eps), with the analytic gradient
 *   dx = rstd * (dy - mean_hw(dy) - x_hat * mean_hw(dy * x_hat))
 * (7 element-wise ops instead of the ~15 autodiff produces). Statistics are computed on
 * [H*W, C] with [C]-shaped stats when B = 1 (wasm broadcasts a [C] operand much faster than a
 * [1,1,1,C] one), else on [B, H*W, C] with [B, 1, C] stats.
 */
export function instanceNorm(x: tf.Tensor4D, eps = 1e-5): tf.Tensor4D {
  if (x.dtype === 'float32' && fusedKernelAvailable(INSTANCE_NORM) && fusedKernelAvailable(INSTANCE_NORM_GRAD)) return instanceNormFused(x, eps);
  const [b, h, w, c] = x.shape;
  const shape3 = b === 1 ? [h * w, c] : [b, h * w, c];
  const axis = b === 1 ? 0 : 1;
  const keep = b !== 1;
  const f = tf.customGrad(((input: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const x3 = tf.reshape(input, shape3);
    const mean = tf.mean(x3, axis, keep);
    const d = tf.sub(x3, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(d), axis, keep), eps));
    const xhat = tf.mul(d, rstd);
    save([xhat, rstd]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [xh, rs] = saved as [tf.Tensor, tf.Tensor];
        const dy3 = tf.reshape(dy, shape3);
        const m1 = tf.mean(dy3, axis, keep);
        const m2 = tf.mean(tf.mul(dy3, xh), axis, keep);
        const dx = tf.mul(tf.sub(tf.sub(dy3, m1), tf.mul(xh, m2)), rs);
        return tf.reshape(dx, [b, h, w, c]);
      });
    return { value: tf.reshape(xhat, [b, h, w, c]), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}

/**
 * The same, as one kernel forward and one backward (kernels/norm-pad.ts, wasm): the op form
 * above is ~13 full passes of stock element-wise kernels per normalisation.
 */
function instanceNormFused(x: tf.Tensor4D, eps: number): tf.Tensor4D {
  const f = tf.customGrad(((input: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const [xhat, rstd] = tf.engine().runKernel(INSTANCE_NORM, { x: input }, { epsilon: eps } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    save([xhat!, rstd!]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, rs] = saved as [tf.Tensor, tf.Tensor];
      return tf.engine().runKernel(INSTANCE_NORM_GRAD, { dy, xhat: xh, rstd: rs }, {}) as tf.Tensor;
    };
    // as above: the value is a view (reshape) of the saved xhat, which the gradient reads
    return { value: tf.reshape(xhat!, input.shape), gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}

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
      let y: tf.Tensor = instanceNorm(x, this.epsilon);
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
