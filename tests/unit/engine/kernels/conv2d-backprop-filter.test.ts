import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { narrowConvOptions } from '../../../../src/main/engine/kernels/narrow-conv';
import { smallConvOptions } from '../../../../src/main/engine/kernels/small-conv';
import { type ConvCase as Case, convFilterGrad, convOutShape as outShape, counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

const cases: Case[] = [
  { x: [1, 8, 8, 3], k: [3, 3], co: 4, s: 1, pad: 'same' },
  { x: [3, 8, 8, 2], k: [3, 3], co: 5, s: 1, pad: 'valid' },
  { x: [1, 8, 8, 3], k: [4, 4], co: 4, s: 2, pad: 'same' },
  { x: [3, 9, 7, 4], k: [4, 4], co: 3, s: 2, pad: 'same' },
  { x: [3, 9, 9, 3], k: [3, 3], co: 2, s: 2, pad: 'valid' },
  { x: [1, 10, 9, 5], k: [4, 3], co: 6, s: [2, 1], pad: 'valid' },
  { x: [3, 7, 8, 1], k: [5, 5], co: 3, s: 3, pad: 'same' },
  { x: [1, 8, 8, 3], k: [4, 4], co: 2, s: 2, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
  { x: [3, 6, 6, 2], k: [3, 3], co: 4, s: 1, pad: 1 },
  { x: [1, 6, 6, 3], k: [1, 1], co: 4, s: 2, pad: 'valid' },
  { x: [3, 8, 8, 3], k: [5, 5], co: 4, s: 2, pad: 'same' }, // DCGAN discriminator
  { x: [1, 16, 16, 64], k: [4, 4], co: 32, s: 2, pad: 'same' }, // pix2pix-like layer, small
];

function runFilterGrad(c: Case, xv: Float32Array, dyv: Float32Array): tf.Tensor {
  return convFilterGrad(c, tf.tensor4d(xv, c.x), tf.tensor(dyv, outShape(c)));
}

describe('Conv2DBackpropFilter on wasm', () => {
  beforeAll(async () => {
    await initWasm();
    // the XNNPACK path (small-conv.test.ts and narrow-conv.test.ts cover the direct ones)
    smallConvOptions.enabled = false;
    narrowConvOptions.enabled = false;
  });
  afterAll(() => {
    smallConvOptions.enabled = true;
    narrowConvOptions.enabled = true;
  });

  it('is registered on wasm', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeTruthy();
  });

  for (const c of cases) {
    it(`matches cpu: x ${c.x} k ${c.k} co ${c.co} stride ${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const xv = rand(size(c.x), 1);
      const dyv = rand(size(outShape(c)), 2);
      const want = await on('cpu', () => runFilterGrad(c, xv, dyv));
      const got = await on('wasm', () => runFilterGrad(c, xv, dyv));
      expect(got[0]!.length).toBe(c.k[0] * c.k[1] * c.x[3] * c.co);
      expectClose(got, want);
    });
  }

  it('matches cpu through tf.grad of conv2d (filter and input gradients)', async () => {
    const xv = rand(3 * 9 * 9 * 3, 3);
    const wv = rand(4 * 4 * 3 * 5, 4);
    const f = () =>
      tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same').square().sum())([
        tf.tensor4d(xv, [3, 9, 9, 3]),
        tf.tensor4d(wv, [4, 4, 3, 5]),
      ]);
    expectClose(await on('wasm', f), await on('cpu', f));
  });

  it('leaks no tensors or wasm buffers', () => {
    const c = cases[3]!;
    const xv = rand(size(c.x), 1);
    const dyv = rand(size(outShape(c)), 2);
    const step = () => tf.tidy(() => void runFilterGrad(c, xv, dyv).dataSync());
    step(); // warm up
    const before = counts();
    for (let i = 0; i < 3; i++) step();
    expect(counts()).toEqual(before);
  });
});
