/**
 * Losses. Discriminators output logits:
 *   vanilla  BCE-with-logits: mean(max(x,0) - x*t + log(1 + exp(-|x|)))   (sigmoid(x) = P(real))
 *   lsgan    mean((x - t)^2)                                              (t = 1 real, 0 fake)
 */
import { tf } from '../backend';

export type GanMode = 'vanilla' | 'lsgan';

export function ganLoss(logits: tf.Tensor, real: boolean, mode: GanMode): tf.Scalar {
  return tf.tidy(() => {
    const t = real ? tf.onesLike(logits) : tf.zerosLike(logits);
    if (mode === 'lsgan') return tf.mean(tf.square(tf.sub(logits, t))) as tf.Scalar;
    return bceWithLogits(logits, t);
  });
}

export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const x = logits;
    const loss = tf.add(tf.sub(tf.relu(x), tf.mul(x, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
    return tf.mean(loss) as tf.Scalar;
  });
}

export const l1 = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar;
export const l2 = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.mean(tf.square(tf.sub(a, b))) as tf.Scalar;
