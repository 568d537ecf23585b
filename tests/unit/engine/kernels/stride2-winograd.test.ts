/**
 * 3x3 and 4x4 stride-2 convolutions by Winograd F(5x5,2x2) on the input's phases
 * (kernels/stride2-winograd.ts): forward, input gradient (= the transposed convolution) and filter
 * gradient against the cpu backend, the path taken, no leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsOptions } from '../../../../src/main/engine/kernels/runs-simd';
import { stride2CacheSweep, stride2WinogradCalls, stride2WinogradOptions } from '../../../../src/main/engine/kernels/stride2-winograd';
import { smallConvOptions } from '../../../../src/main/engine/kernels/small-conv';
import { type ConvCase as Case, convInputGrad, convOutShape as outShape, convPasses, counts, expectClose, initWasm, on, relDiff, tf } from './helpers';

const cases: Case[] = [
  { x: [1, 16, 16, 64], k: [3, 3], co: 128, s: 2, pad: 'same' }, // CycleGAN's first down-sampling layer (small map): pad 0 / 1
  { x: [1, 12, 12, 128], k: [3, 3], co: 256, s: 2, pad: 'same' }, // its second, 6x6 output (one partial 5x5 tile row)
  { x: [2, 9, 11, 32], k: [3, 3], co: 64, s: 2, pad: 'same' }, // odd sizes: pad 1 top and left, batch 2
  { x: [1, 13, 10, 32], k: [3, 3], co: 64, s: 2, pad: 'valid' }, // odd rows without padding
  { x: [2, 10, 10, 32], k: [3, 3], co: 64, s: 2, pad: [[0, 0], [1, 1], [0, 1], [0, 0]] }, // PyTorch's padding 1
  // 4x4 (pix2pix's U-Net encoder and PatchGAN; the decoder's transposed layers as input gradients): every filter block a tap
  { x: [1, 16, 16, 64], k: [4, 4], co: 128, s: 2, pad: 'same' }, // 'same' on an even map: 1 before, 1 after
  { x: [2, 9, 11, 32], k: [4, 4], co: 64, s: 2, pad: 'same' }, // odd sizes: 1 before, 2 after; batch 2
  { x: [1, 12, 10, 32], k: [4, 4], co: 64, s: 2, pad: 'valid' },
  { x: [1, 10, 10, 64], k: [4, 4], co: 64, s: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] }, // PyTorch's padding 1
];

describe('3x3 and 4x4 stride-2 convolutions by Winograd on the input phases (wasm)', () => {
  const saved = { ...stride2WinogradOptions };
  beforeAll(async () => {
    await initWasm();
    // every shape here (small maps, whose partial tiles the default rule refuses: tested below)
    Object.assign(stride2WinogradOptions, { maxWork: Infinity, minTiles: 0, k4MinTiles: 0 });
  });
  afterAll(() => {
    Object.assign(stride2WinogradOptions, saved);
  });

  for (const c of cases) {
    const name = `x ${c.x} k ${c.k} co ${c.co} pad ${JSON.stringify(c.pad)}`;
    it(`forward, input and filter gradients match cpu within 1e-4: ${name}`, async () => {
      const run = convPasses(c, 41, 0.1);
      const before = counts();
      const n = { ...stride2WinogradCalls };
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(stride2WinogradCalls).toEqual({ forward: n.forward + 1, backpropInput: n.backpropInput + 1, backpropFilter: n.backpropFilter + 1 });
      const want = await on('cpu', run);
      // the measured error, for the record (F(5x5)'s output map has entries up to 16)
      console.log(`stride-2 Winograd ${name}: rel. error fwd ${relDiff(ours[0]!, want[0]!).toExponential(1)}, dx ${relDiff(ours[1]!, want[1]!).toExponential(1)}, dw ${relDiff(ours[2]!, want[2]!).toExponential(1)}`);
      expectClose(ours, want, 1e-4);
    });
  }

  it('copies into and out of the phase layout the same without the SIMD runs', async () => {
    const run = convPasses({ x: [2, 9, 11, 32], k: [3, 3], co: 64, s: 2, pad: 'same' }, 44, 0.1);
    const simd = await on('wasm', run);
    const before = counts();
    const n = { ...stride2WinogradCalls };
    runsOptions.enabled = false;
    try {
      const js = await on('wasm', run);
      expect(stride2WinogradCalls.forward - n.forward).toBe(1);
      expect(counts()).toEqual(before);
      js.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(simd[i]!.buffer))).toBe(true));
    } finally {
      runsOptions.enabled = true;
    }
  });

  it('gives the same bits with xs laid out over the tiles\' reach (read in place) as just covering x (padded again)', async () => {
    // 8x8 outputs (F(4x4): xs 8x8, its reach 9x9), odd sizes (F(5x5)), padding before, 4x4 filters
    for (const c of [cases[0]!, cases[2]!, cases[4]!, cases[6]!, cases[8]!]) {
      const run = convPasses(c, 45, 0.1);
      const reach = await on('wasm', run);
      const before = counts();
      const n = { ...stride2WinogradCalls };
      stride2WinogradOptions.reach = false;
      try {
        const covering = await on('wasm', run);
        expect(stride2WinogradCalls.forward - n.forward).toBe(1);
        expect(counts()).toEqual(before);
        covering.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(reach[i]!.buffer))).toBe(true));
      } finally {
        stride2WinogradOptions.reach = true;
      }
    }
  });

  it('keeps a filter\'s phase filter (and so its transforms) across calls while the filter lives: same bits as without', async () => {
    for (const c of [cases[0]!, cases[2]!, cases[6]!]) {
      const xv = tf.randomUniform(c.x, -1, 1, 'float32', 46);
      const dyShape = outShape(c);
      const dyv = tf.randomUniform(dyShape, -1, 1, 'float32', 47);
      const wv = tf.randomUniform([...c.k, c.x[3], c.co], -0.1, 0.1, 'float32', 48);
      // a step's uses of one filter: forward and input gradient, three times each
      const run = () => {
        const outs: tf.Tensor[] = [];
        for (let i = 0; i < 3; i++) outs.push(tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, 2, c.pad as 'same'), convInputGrad(c, dyv, wv as tf.Tensor4D));
        return outs;
      };
      const backend = tf.findBackend('wasm') as never;
      const before = counts();
      const n = { ...stride2WinogradCalls };
      const cached = await on('wasm', run);
      expect(stride2WinogradCalls.forward - n.forward).toBe(3);
      expect(stride2CacheSweep(backend)).toBe(1); // wv still lives
      stride2WinogradOptions.cacheFilters = false;
      try {
        const fresh = await on('wasm', run);
        fresh.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(cached[i]!.buffer))).toBe(true));
        // the same values every time
        for (let i = 2; i < 6; i++) expect(Buffer.from(cached[i]!.buffer).equals(Buffer.from(cached[i % 2]!.buffer))).toBe(true);
      } finally {
        stride2WinogradOptions.cacheFilters = true;
      }
      tf.dispose([xv, dyv, wv]);
      expect(stride2CacheSweep(backend)).toBe(0);
      expect(counts()).toEqual({ tensors: before.tensors - 3, buffers: before.buffers - 3 });
    }
  });

  it('3x3 phase blocks (products over the live phases only) on and off: both within 1e-4 of cpu; input and filter gradients the same bits; a kept phase filter not reused across the switch', async () => {
    for (const c of [cases[0]!, cases[2]!, cases[4]!]) {
      const run = convPasses(c, 49, 0.1);
      const want = await on('cpu', run);
      const before = counts();
      const res: Float32Array[][] = [];
      for (const blocks of [true, false]) {
        stride2WinogradOptions.phaseBlocks = blocks;
        try {
          res.push(await on('wasm', run));
        } finally {
          stride2WinogradOptions.phaseBlocks = true;
        }
        expectClose(res.at(-1)!, want, 1e-4);
      }
      // restricting the input gradient's columns and the filter gradient's rows computes every
      // kept sum as before; the forward's sums drop zero terms and run over the phases in their new order
      for (const i of [1, 2]) expect(Buffer.from(res[0]![i]!.buffer).equals(Buffer.from(res[1]![i]!.buffer))).toBe(true);
      expect(counts()).toEqual(before);
    }
    // one filter tensor across the switch: the phase filter kept under one order is not read under the other
    const c = cases[0]!;
    const xv = tf.randomUniform(c.x, -1, 1, 'float32', 50);
    const wv = tf.randomUniform([...c.k, c.x[3], c.co], -0.1, 0.1, 'float32', 51);
    const fwd = () => [tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, 2, c.pad as 'same')];
    try {
      const a = await on('wasm', fwd);
      stride2WinogradOptions.phaseBlocks = false;
      const b = await on('wasm', fwd);
      expect(relDiff(a[0]!, b[0]!)).toBeLessThan(1e-5);
    } finally {
      stride2WinogradOptions.phaseBlocks = true;
      tf.dispose([xv, wv]);
    }
  });

  it('takes input gradients whose im2col patches the product paths refuse (256 px layers)', async () => {
    const c: Case = { x: [1, 16, 16, 64], k: [3, 3], co: 128, s: 2, pad: 'same' };
    // usable() refuses both the large rule (patches) and the small one (pixels)
    const saved = { patch: smallConvOptions.large.maxPatchFloats, pixels: smallConvOptions.maxPixels };
    Object.assign(smallConvOptions, { maxPixels: 0 });
    smallConvOptions.large.maxPatchFloats = 0;
    try {
      const n = stride2WinogradCalls.backpropInput;
      const run = () => convInputGrad(c, tf.ones(outShape(c)), tf.ones([...c.k, c.x[3], c.co]));
      const ours = await on('wasm', run);
      expect(stride2WinogradCalls.backpropInput - n).toBe(1);
      expectClose(ours, await on('cpu', run), 1e-4);
    } finally {
      smallConvOptions.large.maxPatchFloats = saved.patch;
      smallConvOptions.maxPixels = saved.pixels;
    }
  });

  it('is not taken when switched off, nor for other strides, filters or too few channels', async () => {
    const taken = async (c: Case) => {
      const n = stride2WinogradCalls.forward;
      await on('wasm', () => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros([...c.k, c.x[3], c.co]) as tf.Tensor4D, c.s as number, c.pad as 'same'));
      return stride2WinogradCalls.forward - n;
    };
    expect(await taken({ x: [1, 16, 16, 64], k: [3, 3], co: 128, s: 2, pad: 'same' })).toBe(1);
    // the default rule: 64x64 outputs (13x13 tiles of 5x5 cover 65x65: 0.66 of the direct
    // multiplies), 32x32 (8x8 tiles of 4x4: 0.69), not 17x17 (5x5 tiles of 4x4 or 4x4 of 5x5
    // cover 20x20: 0.89), nor 16x16 (16 tiles of 4x4: the 64 px step's second layer was slower) or 8x8
    Object.assign(stride2WinogradOptions, { maxWork: saved.maxWork, minTiles: saved.minTiles, k4MinTiles: saved.k4MinTiles });
    try {
      expect(await taken({ x: [1, 128, 128, 16], k: [3, 3], co: 64, s: 2, pad: 'same' })).toBe(1);
      expect(await taken({ x: [1, 64, 64, 16], k: [3, 3], co: 64, s: 2, pad: 'same' })).toBe(1);
      expect(await taken({ x: [1, 34, 34, 16], k: [3, 3], co: 64, s: 2, pad: 'same' })).toBe(0);
      expect(await taken({ x: [1, 32, 32, 64], k: [3, 3], co: 64, s: 2, pad: 'same' })).toBe(0); // 16x16: 16 tiles, < minTiles
      expect(await taken({ x: [1, 16, 16, 64], k: [3, 3], co: 128, s: 2, pad: 'same' })).toBe(0);
      // 4x4: pix2pix's 128x128 -> 64x64 and 64x64 -> 32x32 layers, and 32x32 -> 16x16 (16 tiles: its
      // filter transforms kept for the filter's later calls), not 16x16 -> 8x8 (4 tiles), nor when switched off
      expect(await taken({ x: [1, 128, 128, 16], k: [4, 4], co: 64, s: 2, pad: 'same' })).toBe(1);
      expect(await taken({ x: [1, 64, 64, 16], k: [4, 4], co: 64, s: 2, pad: 'same' })).toBe(1);
      expect(await taken({ x: [1, 32, 32, 64], k: [4, 4], co: 64, s: 2, pad: 'same' })).toBe(1);
      expect(await taken({ x: [1, 16, 16, 64], k: [4, 4], co: 64, s: 2, pad: 'same' })).toBe(0);
      // ... but at 16 tiles not with more than k4MaxPairs phase channel pairs (4 x 128 x 640 = 320K)
      expect(await taken({ x: [1, 32, 32, 128], k: [4, 4], co: 640, s: 2, pad: 'same' })).toBe(0);
      expect(await taken({ x: [1, 32, 32, 128], k: [4, 4], co: 512, s: 2, pad: 'same' })).toBe(1);
      stride2WinogradOptions.k4 = false;
      expect(await taken({ x: [1, 128, 128, 16], k: [4, 4], co: 64, s: 2, pad: 'same' })).toBe(0);
    } finally {
      Object.assign(stride2WinogradOptions, { maxWork: Infinity, minTiles: 0, k4MinTiles: 0, k4: true });
    }
    expect(await taken({ x: [1, 16, 16, 64], k: [3, 3], co: 128, s: 1, pad: 'same' })).toBe(0);
    expect(await taken({ x: [1, 16, 16, 8], k: [3, 3], co: 128, s: 2, pad: 'same' })).toBe(0); // 4 CI = 32 phase channels
    stride2WinogradOptions.enabled = false;
    try {
      expect(await taken({ x: [1, 16, 16, 64], k: [3, 3], co: 128, s: 2, pad: 'same' })).toBe(0);
    } finally {
      stride2WinogradOptions.enabled = true;
    }
  });
});
