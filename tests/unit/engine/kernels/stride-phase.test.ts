/**
 * Strided input gradients (and transposed convolutions) as one forward product per output phase
 * (kernels/stride-phase.ts) against the cpu backend, with no leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallConvOptions } from '../../../../src/main/engine/kernels/small-conv';
import { stridePhaseCalls, stridePhaseOptions } from '../../../../src/main/engine/kernels/stride-phase';
import { type ConvCase as Case, convInputGrad, convOutShape as outShape, counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

const cases: Case[] = [
  { x: [1, 16, 16, 64], k: [3, 3], co: 128, s: 2, pad: 'same' }, // CycleGAN down-sampling (small)
  { x: [1, 8, 8, 128], k: [3, 3], co: 256, s: 2, pad: 'same' },
  { x: [1, 16, 16, 8], k: [4, 4], co: 16, s: 2, pad: 'same' }, // pix2pix-like
  { x: [2, 9, 7, 16], k: [3, 3], co: 8, s: 2, pad: 'valid' }, // odd sizes, batch 2
  { x: [1, 10, 11, 8], k: [5, 3], co: 12, s: [3, 2], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [1, 7, 7, 8], k: [1, 1], co: 16, s: 3, pad: 'valid' }, // phases without taps (zeros)
  { x: [1, 12, 12, 24], k: [2, 2], co: 8, s: 2, pad: 'same' },
];

describe('strided Conv2DBackpropInput by output phases on wasm', () => {
  const saved = { ...smallConvOptions };
  const savedPhase = { ...stridePhaseOptions };
  beforeAll(async () => {
    await initWasm();
    // the product paths for every size (the rule that picks them is small-conv's, tested there),
    // and phases for every shape (the rule below)
    Object.assign(smallConvOptions, { maxPixels: 1 << 30, maxPixelsThreaded: 1 << 30, minWeights: 0 });
    Object.assign(stridePhaseOptions, { minPhasePixels: 0, equalTapsOnly: false });
  });
  afterAll(() => {
    Object.assign(smallConvOptions, saved);
    Object.assign(stridePhaseOptions, savedPhase);
  });

  it('by default takes only strides that divide the filter, with large phases', async () => {
    Object.assign(stridePhaseOptions, savedPhase);
    try {
      const taken = async (c: Case) => {
        const calls = stridePhaseCalls.backpropInput;
        await on('wasm', () => convInputGrad(c, tf.zeros(outShape(c)), tf.zeros([...c.k, c.x[3], c.co])));
        return stridePhaseCalls.backpropInput - calls;
      };
      expect(await taken({ x: [1, 128, 128, 8], k: [4, 4], co: 8, s: 2, pad: 'same' })).toBe(1);
      expect(await taken({ x: [1, 128, 128, 8], k: [3, 3], co: 8, s: 2, pad: 'same' })).toBe(0);
      expect(await taken({ x: [1, 64, 64, 8], k: [4, 4], co: 8, s: 2, pad: 'same' })).toBe(0);
    } finally {
      Object.assign(stridePhaseOptions, { minPhasePixels: 0, equalTapsOnly: false });
    }
  });

  for (const c of cases) {
    it(`matches cpu: x ${c.x} k ${c.k} co ${c.co} stride ${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const wv = rand(c.k[0] * c.k[1] * c.x[3] * c.co, 5);
      const dyv = rand(size(outShape(c)), 6);
      const run = () => convInputGrad(c, tf.tensor(dyv, outShape(c)), tf.tensor4d(wv, [...c.k, c.x[3], c.co]));
      const want = await on('cpu', run);
      const before = counts();
      const calls = stridePhaseCalls.backpropInput;
      const got = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(stridePhaseCalls.backpropInput - calls).toBe(1);
      expectClose(got, want, 1e-5);
    });
  }

  it('conv2dTranspose through it matches cpu, with its gradients', async () => {
    const xv = rand(1 * 8 * 8 * 32, 7);
    const wv = rand(3 * 3 * 16 * 32, 8);
    const f = () =>
      tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [1, 16, 16, 16], 2, 'same').square().sum())([
        tf.tensor4d(xv, [1, 8, 8, 32]),
        tf.tensor4d(wv, [3, 3, 16, 32]),
      ]);
    const calls = stridePhaseCalls.backpropInput;
    const got = await on('wasm', f);
    expect(stridePhaseCalls.backpropInput - calls).toBe(1);
    expectClose(got, await on('cpu', f), 1e-4);
  });
});
