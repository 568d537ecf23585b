/**
 * ReflectionPadding2D: pads H and W by reflecting (edge not repeated), as torch.nn.ReflectionPad2d.
 * Input [B, H, W, C] -> output [B, H + 2p, W + 2p, C], p <= H - 1 and p <= W - 1.
 *
 * The gradient is our own (tf.customGrad): tfjs-core's MirrorPad gradient drops the contribution
 * of the padded edges. Padded row i < p is a copy of row p - i; padded row p + H + k is a copy of
 * row H - 2 - k, so the input gradient is the centre slice of dy plus the two reflected borders
 * folded back onto rows 1..p and H-1-p..H-2 (then the same along W).
 */
import * as tf from '@tensorflow/tfjs';
import { REFLECT_PAD_GRAD, fusedKernelAvailable } from '../kernels/norm-pad';

/**
 * Fold the gradient of a 1-axis reflection pad back onto the unpadded axis:
 *   [c_0, c_1..p + rev(top), c_(p+1)..(n-p-2), c_(n-1-p)..(n-2) + rev(bottom), c_(n-1)]
 * built from slices and one concat (no Pad ops, which are slow on wasm). When the two folded
 * bands overlap (n < 2p + 2) the zero-pad-and-add form is used instead.
 */
function foldAxis(dy: tf.Tensor4D, axis: 1 | 2, p: number, n: number): tf.Tensor4D {
  const sl = (start: number, len: number): tf.Tensor4D =>
    tf.slice(dy, axis === 1 ? [0, start, 0, 0] : [0, 0, start, 0], axis === 1 ? [-1, len, -1, -1] : [-1, -1, len, -1]);
  const top = tf.reverse(sl(0, p), axis);
  const bottom = tf.reverse(sl(p + n, p), axis);
  // centre row i of x is dy row p + i
  if (n >= 2 * p + 2) {
    const parts: tf.Tensor4D[] = [sl(p, 1), tf.add(sl(p + 1, p), top)];
    const midLen = n - 2 * p - 2;
    if (midLen > 0) parts.push(sl(2 * p + 1, midLen));
    parts.push(tf.add(sl(p + n - 1 - p, p), bottom), sl(p + n - 1, 1));
    return tf.concat(parts, axis);
  }
  const padSpec = (before: number, after: number): Array<[number, number]> =>
    axis === 1 ? [[0, 0], [before, after], [0, 0], [0, 0]] : [[0, 0], [0, 0], [before, after], [0, 0]];
  return tf.addN([sl(p, n), tf.pad(top, padSpec(1, n - 1 - p)), tf.pad(bottom, padSpec(n - 1 - p, 1))]) as tf.Tensor4D;
}

/**
 * The input each reflection-padded tensor was padded from, so that a 3x3 convolution reading it
 * under a tape can take the padding's gradient and its own as one kernel (lazy-conv-grads.ts,
 * kernels/reflect-conv.ts). Weak: an entry goes with its tensor object.
 */
const padSources = new WeakMap<tf.Tensor, { x: tf.Tensor4D; p: number; tape: WeakRef<object> }>();
/** The engine's current gradient tape (a new array per outermost gradients call; null outside). */
const activeTape = (): object | null => (tf.engine().state as unknown as { activeTape: object | null }).activeTape ?? null;

/**
 * The unpadded input and p of a tensor made by reflectionPad2d under the gradient tape now
 * recording (so the padding is on that tape and a gradient routed to its input is the same), while
 * the tensor is alive; else null. The input itself may be disposed already (tfjs-layers frees an
 * intermediate once its consumers ran; a tape still routes gradients to it by id).
 */
export function reflectPadSource(t: tf.Tensor): { x: tf.Tensor4D; p: number } | null {
  const s = padSources.get(t);
  const tape = s?.tape.deref();
  return s && !t.isDisposed && tape != null && tape === activeTape() ? { x: s.x, p: s.p } : null;
}

/** Reflection padding of H and W by p, with a correct gradient. */
export function reflectionPad2d(x: tf.Tensor4D, p: number): tf.Tensor4D {
  if (p === 0) return x.clone();
  const [, h, w] = x.shape;
  if (p > h - 1 || p > w - 1) throw new Error(`ReflectionPadding2D: padding ${p} needs H and W > ${p} (got ${h}x${w})`);
  const f = tf.customGrad(((input: tf.Tensor) => {
    const value = tf.mirrorPad(input as tf.Tensor4D, [[0, 0], [p, p], [p, p], [0, 0]], 'reflect');
    // On wasm one kernel (kernels/norm-pad.ts) instead of ~16 Slice / Reverse / Add / Concat calls.
    const gradFunc = (dy: tf.Tensor) =>
      dy.dtype === 'float32' && fusedKernelAvailable(REFLECT_PAD_GRAD)
        ? (tf.engine().runKernel(REFLECT_PAD_GRAD, { dy }, { padding: p } as unknown as tf.NamedAttrMap) as tf.Tensor)
        : tf.tidy(() => foldAxis(foldAxis(dy as tf.Tensor4D, 1, p, h), 2, p, w));
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const out = f(x) as tf.Tensor4D;
  // only under a tape (reflectPadSource answers null off it); the tape by a weak reference: an
  // entry must not keep a finished tape's records alive
  const tape = activeTape();
  if (tape) padSources.set(out, { x, p, tape: new WeakRef(tape) });
  return out;
}

export interface ReflectionPadding2DArgs {
  padding?: number;
  name?: string;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

export class ReflectionPadding2D extends tf.layers.Layer {
  static className = 'ReflectionPadding2D';
  readonly padding: number;

  constructor(args: ReflectionPadding2DArgs = {}) {
    super(args as tf.serialization.ConfigDict);
    this.padding = args.padding ?? 1;
    if (!Number.isInteger(this.padding) || this.padding < 0) throw new Error(`ReflectionPadding2D: padding must be an integer >= 0, got ${args.padding}`);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const p = this.padding;
    return [s[0]!, s[1] == null ? null : s[1] + 2 * p, s[2] == null ? null : s[2] + 2 * p, s[3]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return reflectionPad2d(x, this.padding);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

tf.serialization.registerClass(ReflectionPadding2D);

export function reflectionPadding2d(args: ReflectionPadding2DArgs): ReflectionPadding2D {
  return new ReflectionPadding2D(args);
}
