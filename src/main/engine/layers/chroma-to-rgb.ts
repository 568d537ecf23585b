/**
 * ChromaToRgb: the colourisation head (Zhang et al. 2016; Isola et al. 2017 colourise in Lab):
 * keep the input's luminance exactly and add predicted chroma. Inputs [y, chroma]:
 *   y       [B, H, W, 1]  the grey input in [-1, 1]
 *   chroma  [B, H, W, 2]  Cb', Cr' in [-1, 1] (= 2 Cb, 2 Cr of full-range YCbCr)
 *   output  [B, H, W, 3]  RGB in [-1, 1]: clip(Y' + M [Cb', Cr'], -1, 1)
 * M is the BT.709 YCbCr -> RGB matrix: the demo's grey (sharp/libvips b-w) weighs R, G, B with
 * BT.709's luminance coefficients, so zero chroma gives back exactly the grey input and the
 * network only has to learn colour. The map is linear in the [-1, 1] scale because Y' = 2Y - 1
 * and the chroma columns carry no offset.
 * No weights. Exported as Concat + a fixed 1x1 Conv + Clip (size-agnostic ops).
 */
import * as tf from '@tensorflow/tfjs';

/** Rows R, G, B; columns Y', Cb', Cr' (BT.709, full range). */
export const YCBCR_TO_RGB: readonly (readonly [number, number, number])[] = [
  [1, 0, 1.5748],
  [1, -0.1873, -0.4681],
  [1, 1.8556, 0],
];

/** RGB from grey luminance and chroma, clipped to [-1, 1]. */
export function chromaToRgb(y: tf.Tensor4D, chroma: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [cb, cr] = tf.split(chroma, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    const ch = YCBCR_TO_RGB.map(([, kb, kr]) => {
      let c: tf.Tensor4D = y;
      if (kb) c = tf.add(c, tf.mul(cb, kb));
      if (kr) c = tf.add(c, tf.mul(cr, kr));
      return c;
    });
    return tf.clipByValue(tf.concat(ch, 3), -1, 1);
  });
}

export interface ChromaToRgbArgs {
  name?: string;
}

export class ChromaToRgb extends tf.layers.Layer {
  static className = 'ChromaToRgb';

  constructor(args: ChromaToRgbArgs = {}) {
    super(args as tf.serialization.ConfigDict);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shapes = inputShape as tf.Shape[];
    if (!Array.isArray(shapes[0]) || shapes.length !== 2) throw new Error('ChromaToRgb takes two inputs: [y, chroma]');
    const y = shapes[0];
    const c = shapes[1]!;
    if (y[3] !== 1 || c[3] !== 2) throw new Error(`ChromaToRgb needs y with 1 channel and chroma with 2 (got ${y[3]} and ${c[3]})`);
    return [y[0]!, y[1]!, y[2]!, 3];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [y, chroma] = inputs as tf.Tensor4D[];
    return chromaToRgb(y!, chroma!);
  }
}

tf.serialization.registerClass(ChromaToRgb);
