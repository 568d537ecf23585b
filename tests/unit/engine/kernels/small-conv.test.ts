import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { narrowConvOptions } from '../../../../src/main/engine/kernels/narrow-conv';
import { runsCalls } from '../../../../src/main/engine/kernels/runs-simd';
import { smallConvCalls, smallConvOptions } from '../../../../src/main/engine/kernels/small-conv';
import { winogradOptions } from '../../../../src/main/engine/kernels/winograd';
import { type ConvCase as Case, convFilterGrad, convInputGrad, convOutShape as outShape, convPasses, counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

// Output pixels (batch * OH * OW) from 1 to 36, including counts that are not multiples of 4.
const cases: Case[] = [
  { x: [1, 4, 4, 16], k: [4, 4], co: 8, s: 2, pad: 'same' }, // U-Net innermost-like: 2x2 out
  { x: [1, 2, 2, 8], k: [4, 4], co: 16, s: 2, pad: 'same' }, // 1x1 out
  { x: [1, 1, 1, 12], k: [4, 4], co: 8, s: 2, pad: 'same' },
  { x: [2, 3, 5, 6], k: [3, 3], co: 16, s: 1, pad: 'same' }, // 30 pixels
  { x: [1, 8, 8, 4], k: [4, 4], co: 8, s: 1, pad: 1 }, // PatchGAN tail: 7x7
  { x: [3, 5, 4, 5], k: [3, 2], co: 8, s: [2, 1], pad: 'valid' },
  { x: [1, 6, 6, 4], k: [3, 3], co: 8, s: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [1, 4, 4, 4], k: [4, 4], co: 8, s: 2, pad: 'same', d: 1 },
];

describe('small-spatial convolutions (direct SIMD product, no weight packing) on wasm', () => {
  const saved = { ...smallConvOptions };
  beforeAll(async () => {
    await initWasm();
    smallConvOptions.maxPixels = 1 << 30;
    smallConvOptions.maxPixelsThreaded = 1 << 30;
    smallConvOptions.minWeights = 0;
    narrowConvOptions.enabled = false; // these shapes test the product path (narrow-conv.test.ts the other)
  });
  afterAll(() => {
    Object.assign(smallConvOptions, saved);
    narrowConvOptions.enabled = true;
  });

  for (const c of cases) {
    const name = `x ${c.x} k ${c.k} co ${c.co} s ${c.s} pad ${JSON.stringify(c.pad)}`;
    it(`Conv2D matches cpu: ${name}`, async () => {
      const xv = rand(size(c.x), 1);
      const wv = rand(size([...c.k, c.x[3], c.co]), 2, 0.5);
      const run = () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, [...c.k, c.x[3], c.co]), c.s as number, c.pad as 'same');
      const before = counts();
      const n = smallConvCalls.forward;
      const ours = await on('wasm', run);
      expect(smallConvCalls.forward).toBe(n + 1);
      expect(counts()).toEqual(before);
      expectClose(ours, await on('cpu', run));
    });

    it(`FusedConv2D (bias + leakyrelu, relu) matches cpu: ${name}`, async () => {
      const xv = rand(size(c.x), 3);
      const wv = rand(size([...c.k, c.x[3], c.co]), 4, 0.5);
      const bv = rand(c.co, 5);
      const run = () => ['leakyrelu', 'relu', 'linear'].map((activation) =>
        tf.fused.conv2d({
          x: tf.tensor4d(xv, c.x), filter: tf.tensor4d(wv, [...c.k, c.x[3], c.co]), strides: c.s as number, pad: c.pad as 'same',
          bias: tf.tensor1d(bv), activation: activation as 'relu', leakyreluAlpha: 0.2,
        }));
      const before = counts();
      const n = smallConvCalls.forward;
      const ours = await on('wasm', run);
      expect(smallConvCalls.forward).toBe(n + 3);
      expect(counts()).toEqual(before);
      expectClose(ours, await on('cpu', run));
    });

    if (c.d == null) {
      it(`Conv2DBackpropInput matches cpu: ${name}`, async () => {
        const dyv = rand(size(outShape(c)), 6);
        const wv = rand(size([...c.k, c.x[3], c.co]), 7, 0.5);
        const run = () => convInputGrad(c, tf.tensor(dyv, outShape(c)), tf.tensor4d(wv, [...c.k, c.x[3], c.co]));
        const before = counts();
        const n = smallConvCalls.backpropInput;
        const ours = await on('wasm', run);
        expect(smallConvCalls.backpropInput).toBe(n + 1);
        expect(counts()).toEqual(before);
        expectClose(ours, await on('cpu', run));
      });
    }
  }

  // Filter gradients, including a filter height*width*channels that is not a multiple of 4.
  for (const c of [...cases.filter((c) => c.d == null), { x: [2, 3, 3, 3], k: [3, 3], co: 8, s: 1, pad: 'same' } as Case, { x: [3, 5, 5, 8], k: [3, 3], co: 8, s: 2, pad: 'same' } as Case]) {
    it(`Conv2DBackpropFilter matches cpu: x ${c.x} k ${c.k} co ${c.co} s ${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const xv = rand(size(c.x), 13);
      const dyv = rand(size(outShape(c)), 14);
      const run = () => convFilterGrad(c, tf.tensor4d(xv, c.x), tf.tensor(dyv, outShape(c)));
      const before = counts();
      const n = smallConvCalls.backpropFilter;
      const ours = await on('wasm', run);
      expect(smallConvCalls.backpropFilter).toBe(n + 1);
      expect(counts()).toEqual(before);
      expectClose(ours, await on('cpu', run));
    });
  }

  it('a filter updated between steps is read afresh (no stale packed weights)', async () => {
    const x = rand(size([1, 4, 4, 16]), 8);
    const w1 = rand(4 * 4 * 16 * 8, 9);
    const w2 = rand(4 * 4 * 16 * 8, 10);
    const run = (wv: Float32Array) => () => {
      const v = tf.variable(tf.tensor4d(w1, [4, 4, 16, 8]));
      tf.conv2d(tf.tensor4d(x, [1, 4, 4, 16]), v as tf.Tensor4D, 2, 'same').dataSync();
      v.assign(tf.tensor4d(wv, [4, 4, 16, 8]));
      const r = tf.conv2d(tf.tensor4d(x, [1, 4, 4, 16]), v as tf.Tensor4D, 2, 'same');
      const out = r.clone();
      v.dispose();
      return out;
    };
    expectClose(await on('wasm', run(w2)), await on('cpu', run(w2)));
  });

  it('large inputs still take the stock path with default thresholds', async () => {
    Object.assign(smallConvOptions, saved);
    try {
      const c: Case = { x: [1, 16, 16, 8], k: [3, 3], co: 8, s: 1, pad: 'same' };
      const xv = rand(size(c.x), 11);
      const wv = rand(size([...c.k, c.x[3], c.co]), 12);
      const run = () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, [...c.k, c.x[3], c.co]), 1, 'same');
      const n = smallConvCalls.forward;
      expectClose(await on('wasm', run), await on('cpu', run));
      expect(smallConvCalls.forward).toBe(n);
    } finally {
      smallConvOptions.maxPixels = 1 << 30;
      smallConvOptions.maxPixelsThreaded = 1 << 30;
        smallConvOptions.minWeights = 0;
    }
  });
});

// Any output size: the k/row-blocked products (forward im2col + nnR, input gradient nnRT + col2im) for
// patches of >= large.minPatch floats feeding >= large.minOutChannels channels. The small-size
// rule is switched off, so only the large rule can take these.
describe('large convolutions through the blocked products on wasm', () => {
  const saved = { ...smallConvOptions, large: { ...smallConvOptions.large } };
  const savedK4 = winogradOptions.k4;
  beforeAll(async () => {
    await initWasm();
    smallConvOptions.maxPixels = 0;
    smallConvOptions.maxPixelsThreaded = 0;
    Object.assign(smallConvOptions.large, { enabled: true, minOutChannels: 64, minPatch: 256 });
    winogradOptions.k4 = false; // the 4x4 stride-1 cases test the products here (Winograd F(3x3,4x4): winograd.test.ts)
  });
  afterAll(() => {
    Object.assign(smallConvOptions, { ...saved, large: Object.assign(smallConvOptions.large, saved.large) });
    winogradOptions.k4 = savedK4;
  });

  const large: Case[] = [
    { x: [1, 12, 12, 32], k: [4, 4], co: 64, s: 2, pad: 'same' }, // Kd 512 (two k chunks of 256), 36 px
    { x: [2, 19, 19, 16], k: [4, 4], co: 72, s: 1, pad: 'valid' }, // 512 px: more row blocks than a chunk
    { x: [1, 10, 9, 24], k: [3, 4], co: 64, s: [1, 2], pad: 'same' }, // Kd 288, P not a multiple of 4
    // stride 1 with >= 64 input channels: the input gradient is a forward convolution (rotated filter)
    { x: [1, 10, 10, 64], k: [3, 3], co: 64, s: 1, pad: 'same' },
    { x: [1, 12, 11, 64], k: [4, 4], co: 72, s: 1, pad: 'same' }, // even kernel: padding 1 before, 2 after
    { x: [2, 9, 9, 64], k: [4, 4], co: 64, s: 1, pad: 'valid' },
  ];
  for (const c of large) {
    const name = `x ${c.x} k ${c.k} co ${c.co} s ${c.s} pad ${JSON.stringify(c.pad)}`;
    it(`Conv2D, FusedConv2D and Conv2DBackpropInput match cpu: ${name}`, async () => {
      const xv = rand(size(c.x), 21);
      const wv = rand(size([...c.k, c.x[3], c.co]), 22, 0.5);
      const bv = rand(c.co, 23);
      const dyv = rand(size(outShape(c)), 24);
      const w = () => tf.tensor4d(wv, [...c.k, c.x[3], c.co]);
      const run = () => [
        tf.conv2d(tf.tensor4d(xv, c.x), w(), c.s as number, c.pad as 'same'),
        tf.fused.conv2d({ x: tf.tensor4d(xv, c.x), filter: w(), strides: c.s as number, pad: c.pad as 'same', bias: tf.tensor1d(bv), activation: 'leakyrelu', leakyreluAlpha: 0.2 }),
        convInputGrad(c, tf.tensor(dyv, outShape(c)), w()),
      ];
      const before = counts();
      const n = { ...smallConvCalls };
      const ours = await on('wasm', run);
      expect(smallConvCalls.forward).toBe(n.forward + 2);
      // (unless dx has over 1.25x dy's pixels: then the nnRT product, which skips dy's zero border)
      const [, OH, OW] = outShape(c);
      const asConv = c.s === 1 && c.x[3] >= 64 && c.x[1] * c.x[2] <= 1.25 * OH! * OW!;
      expect(smallConvCalls.backpropInputAsConv - n.backpropInputAsConv).toBe(asConv ? 1 : 0);
      expect(smallConvCalls.backpropInput - n.backpropInput).toBe(asConv ? 0 : 1);
      expect(counts()).toEqual(before);
      expectClose(ours, await on('cpu', run));
    });
  }

  it('small patches or few output channels keep the stock kernel', async () => {
    const c: Case = { x: [1, 12, 12, 8], k: [3, 3], co: 64, s: 1, pad: 'same' }; // Kd 72 < 256
    const run = () => tf.conv2d(tf.tensor4d(rand(size(c.x), 25), c.x), tf.tensor4d(rand(3 * 3 * 8 * 64, 26), [3, 3, 8, 64]), 1, 'same');
    const n = smallConvCalls.forward;
    expectClose(await on('wasm', run), await on('cpu', run));
    expect(smallConvCalls.forward).toBe(n);
  });
});

// im2col and col2im by SIMD runs (channels a multiple of 4), and filter gradients as
// dy^T . patches (patch length a multiple of 8): odd sizes, batches, padding on one side only,
// pixel counts that are not multiples of 4 (dy padded before its transposition).
describe('SIMD runs for im2col / col2im and the dy^T filter gradient on wasm', () => {
  const saved = { ...smallConvOptions };
  beforeAll(async () => {
    await initWasm();
    Object.assign(smallConvOptions, { maxPixels: 1 << 30, maxPixelsThreaded: 1 << 30, minWeights: 0 });
    narrowConvOptions.enabled = false;
  });
  afterAll(() => {
    Object.assign(smallConvOptions, saved);
    narrowConvOptions.enabled = true;
  });
  const strided: Case[] = [
    { x: [2, 9, 11, 8], k: [3, 3], co: 16, s: 2, pad: 'same' }, // CycleGAN's down-sampling shape, odd sizes
    { x: [3, 7, 6, 8], k: [3, 3], co: 8, s: 2, pad: 'same' }, // batch 3, P 36
    { x: [1, 10, 9, 16], k: [4, 4], co: 8, s: 1, pad: 'valid' }, // P 42: dy padded to 44 rows
    { x: [2, 8, 7, 4], k: [3, 3], co: 16, s: 2, pad: [[0, 0], [1, 0], [0, 1], [0, 0]] }, // Kd 36: nt product, JS col2im, patches^T filter gradient
    { x: [1, 9, 9, 8], k: [4, 4], co: 8, s: 2, pad: 1 }, // PatchGAN-like 4x4 stride 2
    { x: [1, 4, 4, 16], k: [4, 4], co: 32, s: 2, pad: 'same' }, // U-Net-like innermost layer: 4 dy pixels < 32 channels, patches^T . dy
  ];
  for (const c of strided) {
    const name = `x ${c.x} k ${c.k} co ${c.co} s ${c.s} pad ${JSON.stringify(c.pad)}`;
    it(`forward, input and filter gradients match cpu: ${name}`, async () => {
      const run = convPasses(c, 31, 0.5);
      const before = counts();
      const n = { ...smallConvCalls, ...runsCalls };
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      const Kd = c.k[0] * c.k[1] * c.x[3];
      const P = size(outShape(c).slice(0, 3));
      const viaDyT = Kd % 8 === 0 && P > c.co;
      // im2col of the forward (and of the dy^T filter gradient), col2im of the strided input gradient
      expect(runsCalls.copy - n.copy).toBe(viaDyT ? 2 : 1);
      expect(smallConvCalls.backpropFilterViaDyT - n.backpropFilterViaDyT).toBe(viaDyT ? 1 : 0);
      const asConv = smallConvCalls.backpropInputAsConv - n.backpropInputAsConv;
      expect(runsCalls.add - n.add).toBe(!asConv && Kd % 8 === 0 ? 1 : 0);
      expectClose(ours, await on('cpu', run), 1e-5);
    });
  }
});
