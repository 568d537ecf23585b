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

/** Fold the gradient of a 1-axis reflection pad back onto the unpadded axis. */
function foldAxis(dy: tf.Tensor4D, axis: 1 | 2, p: number, n: number): tf.Tensor4D {
  const begin = (start: number): [number, number, number, number] => (axis === 1 ? [0, start, 0, 0] : [0, 0, start, 0]);
  const size = (len: number): [number, number, number, number] => (axis === 1 ? [-1, len, -1, -1] : [-1, -1, len, -1]);
  const padSpec = (before: number, after: number): Array<[number, number]> =>
    axis === 1 ? [[0, 0], [before, after], [0, 0], [0, 0]] : [[0, 0], [0, 0], [before, after], [0, 0]];
  const centre = tf.slice(dy, begin(p), size(n));
  const top = tf.reverse(tf.slice(dy, begin(0), size(p)), axis);
  const bottom = tf.reverse(tf.slice(dy, begin(p + n), size(p)), axis);
  return tf.addN([centre, tf.pad(top, padSpec(1, n - 1 - p)), tf.pad(bottom, padSpec(n - 1 - p, 1))]) as tf.Tensor4D;
}

/** Reflection padding of H and W by p, with a correct gradient. */
export function reflectionPad2d(x: tf.Tensor4D, p: number): tf.Tensor4D {
  if (p === 0) return x.clone();
  const [, h, w] = x.shape;
  if (p > h - 1 || p > w - 1) throw new Error(`ReflectionPadding2D: padding ${p} needs H and W > ${p} (got ${h}x${w})`);
  const f = tf.customGrad(((input: tf.Tensor) => {
    const value = tf.mirrorPad(input as tf.Tensor4D, [[0, 0], [p, p], [p, p], [0, 0]], 'reflect');
    const gradFunc = (dy: tf.Tensor) => tf.tidy(() => foldAxis(foldAxis(dy as tf.Tensor4D, 1, p, h), 2, p, w));
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
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
