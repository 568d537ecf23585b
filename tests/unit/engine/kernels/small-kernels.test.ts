/**
 * UnsortedSegmentSum (missing on wasm), ResizeNearestNeighborGrad and MaxPoolGrad (stock wasm
 * ones are wrong) against references.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

describe('UnsortedSegmentSum on wasm', () => {
  beforeAll(initWasm);

  for (const [xShape, ids, n] of [
    [[5, 3], [0, 2, 0, 1, 2], 3],
    [[4, 2, 3], [3, 3, 0, 1], 5],
    [[6], [1, 1, 1, 0, 4, 2], 5],
  ] as [number[], number[], number][]) {
    it(`matches cpu: x ${xShape} ids ${ids} segments ${n}`, async () => {
      const xv = rand(size(xShape), 1);
      const f = () => tf.unsortedSegmentSum(tf.tensor(xv, xShape), tf.tensor1d(ids, 'int32'), n);
      expectClose(await on('wasm', f), await on('cpu', f));
    });
  }

  it('int32 data', async () => {
    const got = await on('wasm', () => tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), tf.tensor1d([1, 0, 1], 'int32'), 2));
    expect(Array.from(got[0]!)).toEqual([3, 4, 6, 8]);
  });

  it('makes gather (embedding) gradients work and match cpu', async () => {
    const ev = rand(5 * 6, 2);
    const cv = rand(4 * 6, 3);
    const f = () =>
      tf.grad((e: tf.Tensor) => tf.gather(e, tf.tensor1d([3, 1, 3, 0], 'int32')).mul(tf.tensor2d(cv, [4, 6])).sum())(tf.tensor2d(ev, [5, 6]));
    expectClose(await on('wasm', f), await on('cpu', f));
  });
});

/** Gradient of sum(resizeNN(x) * c) from the forward kernel itself: dx[src(o)] += c[o]. */
async function nnReference(shape: number[], out: [number, number], ac: boolean, hp: boolean, cv: Float32Array): Promise<Float32Array> {
  const [src] = await on('wasm', () => tf.image.resizeNearestNeighbor(tf.range(0, size(shape)).reshape(shape) as tf.Tensor4D, out, ac, hp));
  const ref = new Float32Array(size(shape));
  src!.forEach((s, i) => (ref[s] += cv[i]!));
  return ref;
}

describe('ResizeNearestNeighborGrad on wasm', () => {
  beforeAll(initWasm);

  const cases: [number[], [number, number], boolean, boolean][] = [
    [[1, 4, 4, 3], [8, 8], false, false], // 2x upsampling (resize-conv)
    [[3, 4, 5, 2], [8, 10], false, false],
    [[3, 4, 4, 3], [8, 8], false, true],
    [[2, 4, 4, 1], [8, 8], true, false],
    [[2, 8, 8, 3], [13, 11], false, false],
    [[2, 8, 8, 3], [5, 7], false, true], // stock wasm kernel ignores halfPixelCenters: wrong here
    [[1, 8, 8, 3], [5, 7], true, false],
  ];
  for (const [shape, out, ac, hp] of cases) {
    it(`matches the forward mapping: ${shape} -> ${out} alignCorners ${ac} halfPixelCenters ${hp}`, async () => {
      const cv = rand(shape[0]! * out[0] * out[1] * shape[3]!, 4);
      const ref = await nnReference(shape, out, ac, hp, cv);
      const f = () =>
        tf.grad((t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, out, ac, hp).mul(tf.tensor(cv, [shape[0]!, ...out, shape[3]!])).sum())(
          tf.zeros(shape),
        );
      const got = await on('wasm', f);
      expectClose(got, [ref], 1e-6);
      // The cpu backend (tfjs 4.22) gets batch > 1 wrong; compare with it only for batch 1.
      if (shape[0] === 1) expectClose(got, await on('cpu', f), 1e-6);
    });
  }
});

describe('MaxPoolGrad on wasm', () => {
  beforeAll(initWasm);

  const cases: [number[], number | [number, number], number | [number, number], 'same' | 'valid' | number][] = [
    [[1, 4, 4, 1], 2, 2, 'valid'],
    [[3, 8, 8, 3], 2, 2, 'same'],
    [[2, 9, 7, 4], 3, 2, 'same'],
    [[1, 9, 9, 2], [3, 2], [2, 1], 'valid'],
    [[2, 6, 6, 3], 3, 1, 1],
  ];
  for (const [shape, k, s, pad] of cases) {
    it(`matches cpu (including all-negative windows): x ${shape} k ${k} stride ${s} pad ${pad}`, async () => {
      const xv = rand(size(shape), 5).map((v) => v - 0.5); // mostly negative
      const f = () => {
        const x = tf.tensor4d(xv, shape as [number, number, number, number]);
        const y = tf.maxPool(x, k, s, pad);
        const c = tf.tensor(rand(size(y.shape), 6), y.shape);
        return [y, tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, k, s, pad).mul(c).sum())(x)];
      };
      expectClose(await on('wasm', f), await on('cpu', f), 1e-6);
    });
  }
});

describe('small kernels leak nothing', () => {
  beforeAll(initWasm);
  it('UnsortedSegmentSum, ResizeNearestNeighborGrad, MaxPoolGrad', () => {
    const step = () =>
      tf.tidy(() => {
        tf.unsortedSegmentSum(tf.ones([4, 3]), tf.tensor1d([0, 1, 0, 2], 'int32'), 3).dataSync();
        tf.grad((t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [8, 8]).sum())(tf.ones([2, 4, 4, 3])).dataSync();
        tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'same').sum())(tf.ones([2, 4, 4, 3])).dataSync();
      });
    step();
    const before = counts();
    for (let i = 0; i < 3; i++) step();
    expect(counts()).toEqual(before);
  });
});
