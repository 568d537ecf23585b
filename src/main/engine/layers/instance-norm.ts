/**
 * InstanceNormalization: per sample and per channel, normalise over H and W,
 *   y = (x - mean_hw) / sqrt(var_hw + eps) * gamma + beta      (gamma, beta only when affine)
 * Input and output [B, H, W, C]. eps 1e-5 and biased variance, as torch.nn.InstanceNorm2d.
 * No running statistics: training and inference behave the same.
 */
import * as tf from '@tensorflow/tfjs';
import { INSTANCE_NORM, INSTANCE_NORM_ACT, INSTANCE_NORM_ACT_GRAD, INSTANCE_NORM_GRAD, fusedKernelAvailable } from '../kernels/norm-pad';

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
 * above is ~13 full passes of stock element-wise kernels per normalisation. `bias`: a cancelled
 * conv bias taken as a second input with a zero gradient (below).
 */
function instanceNormFused(x: tf.Tensor4D, eps: number, bias: tf.Tensor | null = null): tf.Tensor4D {
  return normOp(x, bias, (input, save) => {
    const [xhat, rstd] = tf.engine().runKernel(INSTANCE_NORM, { x: input }, { epsilon: eps } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    save([xhat!, rstd!]);
    const dx = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, rs] = saved as [tf.Tensor, tf.Tensor];
      return tf.engine().runKernel(INSTANCE_NORM_GRAD, { dy, xhat: xh, rstd: rs }, {}) as tf.Tensor;
    };
    // as above: the value is a view (reshape) of the saved xhat, which the gradient reads
    return { value: tf.reshape(xhat!, input.shape), dx };
  });
}

/**
 * A fused norm kernel pair as one custom-gradient op of x, with the cancelled conv bias (if any)
 * as a second input whose gradient is zero. `body` runs the forward kernel, saves what its
 * gradient needs, and gives the value and x's gradient.
 */
function normOp(x: tf.Tensor4D, bias: tf.Tensor | null, body: (input: tf.Tensor, save: (ts: tf.Tensor[]) => void) => { value: tf.Tensor; dx: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor }): tf.Tensor4D {
  const op = (input: tf.Tensor, save: (ts: tf.Tensor[]) => void) => {
    const { value, dx } = body(input, save);
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => (bias ? [dx(dy, saved), tf.zerosLike(bias)] : dx(dy, saved)) };
  };
  if (!bias) return tf.customGrad(op as unknown as Parameters<typeof tf.customGrad>[0])(x) as tf.Tensor4D;
  const withBias = (input: tf.Tensor, _b: tf.Tensor, save: (ts: tf.Tensor[]) => void) => op(input, save);
  return tf.customGrad(withBias as unknown as Parameters<typeof tf.customGrad>[0])(x, bias) as tf.Tensor4D;
}

/**
 * max(xhat, alpha * xhat) of the instance norm of x (ReLU: alpha 0), one kernel each way
 * (AtelierInstanceNormAct / AtelierInstanceNormActGrad): the activation's own pass and kernel
 * call forward and its gradient's backward are gone. Saves x, mean and rstd; the gradient makes
 * xhat again from them (the same float32 operations), so no xhat is written forward.
 */
export function instanceNormAct(x: tf.Tensor4D, eps: number, alpha: number, bias: tf.Tensor | null): tf.Tensor4D {
  return normOp(x, bias, (input, save) => {
    const [y, mean, rstd] = tf.engine().runKernel(INSTANCE_NORM_ACT, { x: input }, { epsilon: eps, alpha } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    save([input, mean!, rstd!]);
    const dx = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, m, r] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      return tf.engine().runKernel(INSTANCE_NORM_ACT_GRAD, { dy, x: xs, mean: m, rstd: r }, { alpha } as unknown as tf.NamedAttrMap) as tf.Tensor;
    };
    return { value: y!, dx };
  });
}

/**
 * ATELIER_NORM_ACT=0: InstanceNormalization neither applies the ReLU / LeakyReLU after it nor
 * takes the cancelled conv bias (A/B: the layers and lazy-conv-grads.ts's zero-gradient op then
 * run as before).
 */
export const normActOptions = { enabled: process.env.ATELIER_NORM_ACT !== '0' };

/** Whether a gradient tape records (ops applied now may be differentiated). */
export const recording = () => (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;

/**
 * Whether an InstanceNormalization will take the cancelled bias of the conv whose output y it
 * normalises (tagCancelledBias): under a tape, on wasm with the fused kernels. lazy-conv-grads.ts
 * asks this for the one consumer it found; otherwise it records its own zero-gradient op.
 */
export function normTakesCancelledBias(y: tf.Tensor): boolean {
  return normActOptions.enabled && y.dtype === 'float32' && recording() && fusedKernelAvailable(INSTANCE_NORM) && fusedKernelAvailable(INSTANCE_NORM_GRAD);
}
/** Conv outputs whose bias was left out, and that bias (its gradient is zero: lazy-conv-grads.ts). */
const cancelledBias = new WeakMap<tf.Tensor, tf.Tensor>();
export function tagCancelledBias(y: tf.Tensor, bias: tf.Tensor): void {
  cancelledBias.set(y, bias);
}

interface LayerNodes {
  inboundNodes?: unknown[];
  outboundNodes?: { outboundLayer?: unknown }[];
  getClassName?(): string;
}
/** Tensors an InstanceNormalization returned with the activation of its consumer (the value) applied. */
const activated = new WeakMap<tf.Tensor, object>();
let passThroughInstalled = false;

/**
 * The ReLU / LeakyReLU to apply inside instance norm: under a tape, where this layer is applied
 * once, without affine, and its one consumer is a ReLU (no max value) or LeakyReLU (0 <= alpha
 * <= 1) applied once (read from the layer graph at every call, as biasCancelledByNorm does). That
 * layer then passes the tensor through (installActivationPassThrough).
 */
function fusedActivation(layer: InstanceNormalization, x: tf.Tensor): { alpha: number; next: object } | null {
  if (!normActOptions.enabled || !passThroughInstalled || layer.affine || x.dtype !== 'float32' || !recording()) return null;
  if (!fusedKernelAvailable(INSTANCE_NORM_ACT) || !fusedKernelAvailable(INSTANCE_NORM_ACT_GRAD)) return null;
  const self = layer as unknown as LayerNodes;
  if (self.inboundNodes?.length !== 1 || self.outboundNodes?.length !== 1) return null;
  const next = self.outboundNodes[0]!.outboundLayer as (LayerNodes & { maxValue?: number | null; alpha?: number }) | undefined;
  if (!next || next.inboundNodes?.length !== 1) return null;
  const cls = next.getClassName?.();
  if (cls === 'ReLU' && next.maxValue == null) return { alpha: 0, next };
  if (cls === 'LeakyReLU' && typeof next.alpha === 'number' && next.alpha >= 0 && next.alpha <= 1) return { alpha: next.alpha, next };
  return null;
}

/**
 * tfjs-layers' ReLU and LeakyReLU return their input as it is when an InstanceNormalization
 * already applied them to it for this very layer (Layer.apply then clones it: an Identity, data
 * shared). Installed once, on import.
 */
function installActivationPassThrough(): void {
  const protos = [tf.layers.reLU(), tf.layers.leakyReLU()].map((l) => Object.getPrototypeOf(l) as { call(inputs: tf.Tensor | tf.Tensor[], kwargs: unknown): tf.Tensor | tf.Tensor[] });
  if (!protos.every((p) => Object.prototype.hasOwnProperty.call(p, 'call'))) return; // a tfjs-layers we do not know: no fusion
  for (const proto of protos) {
    const orig = proto.call;
    proto.call = function (this: object, inputs, kwargs) {
      const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
      if (x && activated.get(x) === this) return x;
      return orig.call(this, inputs, kwargs);
    };
  }
  passThroughInstalled = true;
}
installActivationPassThrough();

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
      // a bias the conv before left out (lazy-conv-grads.ts): a second input with a zero gradient
      const bias = cancelledBias.get(x) ?? null;
      const act = fusedActivation(this, x);
      if (act) {
        const y = instanceNormAct(x, this.epsilon, act.alpha, bias);
        activated.set(y, act.next);
        return y;
      }
      let y: tf.Tensor = bias ? instanceNormFused(x, this.epsilon, bias) : instanceNorm(x, this.epsilon);
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
