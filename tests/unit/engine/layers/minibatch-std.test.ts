/** MinibatchStd (layers/minibatch-std.ts): the ProGAN spread feature, over the batch or per class. */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { MinibatchStd, minibatchStd } from '../../../../src/main/engine/layers';
import { maxAbsDiff, numericGrad, useTestBackend } from './test-backend';

beforeAll(async () => {
  await useTestBackend();
});

describe('MinibatchStd', () => {
  it('batch: the mean over features of the batch standard deviation (hand-computed), one value for all', () => {
    // 2 features over 3 samples: (0, 1, 2) -> sd sqrt(2/3); (5, 5, 5) -> 0 (eps 1e-8 -> 1e-4)
    const h = tf.tensor4d([0, 5, 1, 5, 2, 5], [3, 1, 1, 2]);
    const s = minibatchStd(h, null, 0);
    const want = (Math.sqrt(2 / 3 + 1e-8) + 1e-4) / 2;
    expect(Array.from(s.dataSync()).map((v) => v / want)).toEqual([1, 1, 1].map(() => expect.closeTo(1, 5)));
    tf.dispose([h, s]);
  });

  it('class: each sample gets the spread of its own label; two identical samples of a class score ~0', () => {
    // class 0: values 0 and 4 (sd 2); class 1: 7 and 7 (sd 0); class 2 absent
    const h = tf.tensor4d([0, 7, 4, 7], [4, 1, 1, 1]);
    const y = tf.tensor2d([0, 1, 0, 1], [4, 1], 'int32');
    const s = Array.from(minibatchStd(h, y, 3).dataSync());
    expect(s[0]).toBeCloseTo(2, 4);
    expect(s[2]).toBeCloseTo(2, 4);
    expect(s[1]).toBeLessThan(1e-3);
    expect(s[3]).toBeLessThan(1e-3);
    tf.dispose([h, y]);
  });

  it('layer: appends one channel, keeps the others; gradient matches finite differences; no leak', () => {
    const layer = new MinibatchStd({ numClasses: 2 });
    const x = tf.randomNormal([4, 2, 2, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const y = tf.tensor2d([0, 1, 1, 0], [4, 1], 'int32');
    (layer.apply([x, y]) as tf.Tensor).dispose(); // builds the layer
    const before = tf.memory().numTensors;
    const out = layer.apply([x, y]) as tf.Tensor;
    expect(out.shape).toEqual([4, 2, 2, 4]);
    const kept = out.slice([0, 0, 0, 0], [4, 2, 2, 3]);
    expect(maxAbsDiff(kept.dataSync(), x.dataSync())).toBe(0);
    kept.dispose();
    expect(layer.computeOutputShape([[null, 2, 2, 3], [null, 1]])).toEqual([null, 2, 2, 4]);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const w = tf.randomNormal([4, 2, 2, 4], 0, 1, 'float32', 8);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(layer.apply([t, y]) as tf.Tensor, w)) as tf.Scalar;
    const g = tf.grad(f)(x);
    expect(maxAbsDiff(g.dataSync(), numericGrad(f, x, 1e-2))).toBeLessThan(2e-2);
    tf.dispose([x, y, w, g]);
  });
});
