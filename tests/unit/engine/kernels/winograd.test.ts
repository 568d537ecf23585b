/**
 * 3x3 stride-1 convolutions by Winograd F(2x2, 3x3) (kernels/winograd.ts) on wasm against the cpu
 * backend: forward (Conv2D, FusedConv2D), input gradient (Conv2DBackpropInput) and filter gradient
 * (Conv2DBackpropFilter), odd and even sizes, every padding, batch > 1; the path taken is checked
 * and nothing leaks. The SIMD transforms (winograd-simd.ts) against the same maps on numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { winogradCacheSweep, winogradCalls, winogradOptions, winogradTransforms } from '../../../../src/main/engine/kernels/winograd';
import { MAPS, type MapName, applyMap } from '../../../../src/main/engine/kernels/winograd-simd';
import { heapF32, heapOffset } from '../../../../src/main/engine/kernels/wasm-util';
import type { BackendWasm } from '../../../../src/main/engine/kernels/wasm-util';
import { type ConvCase as Case, convFilterGrad, convInputGrad, convOutShape as outShape, counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

const cases: Case[] = [
  { x: [1, 18, 18, 64], k: [3, 3], co: 64, s: 1, pad: 'valid' }, // ResNet block (after reflection padding), narrow
  { x: [1, 10, 10, 256], k: [3, 3], co: 256, s: 1, pad: 'valid' }, // ResNet block at paper width: 8x8 out
  { x: [2, 7, 9, 64], k: [3, 3], co: 72, s: 1, pad: 'same' }, // odd sizes: partial tiles
  { x: [1, 5, 6, 128], k: [3, 3], co: 64, s: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  { x: [3, 3, 3, 64], k: [3, 3], co: 64, s: 1, pad: 'same' },
];

describe('Winograd F(2x2,3x3) convolutions on wasm', () => {
  const saved = { ...winogradOptions };
  beforeAll(initWasm);
  afterAll(() => Object.assign(winogradOptions, saved));

  for (const c of cases) {
    const name = `x ${c.x} co ${c.co} pad ${JSON.stringify(c.pad)}`;
    const wShape = [...c.k, c.x[3], c.co];

    it(`Conv2D and FusedConv2D match cpu: ${name}`, async () => {
      winogradOptions.enabled = true;
      const xv = rand(size(c.x), 1);
      const wv = rand(size(wShape), 2, 0.1);
      const bv = rand(c.co, 3);
      const run = () => {
        const x = tf.tensor4d(xv, c.x);
        const w = tf.tensor4d(wv, wShape as [number, number, number, number]);
        return [
          tf.conv2d(x, w, 1, c.pad as 'same'),
          tf.fused.conv2d({ x, filter: w, strides: 1, pad: c.pad as 'same', bias: tf.tensor1d(bv), activation: 'relu' }),
        ];
      };
      const before = counts();
      const n = winogradCalls.forward;
      const ours = await on('wasm', run);
      expect(winogradCalls.forward - n).toBe(2);
      expect(counts()).toEqual(before);
      expectClose(ours, await on('cpu', run), 1e-4);
    });

    it(`Conv2DBackpropInput matches cpu: ${name}`, async () => {
      winogradOptions.enabled = true;
      const dyv = rand(size(outShape(c)), 4);
      const wv = rand(size(wShape), 5, 0.1);
      const run = () => convInputGrad(c, tf.tensor(dyv, outShape(c)), tf.tensor(wv, wShape));
      const before = counts();
      const n = winogradCalls.backpropInput;
      const ours = await on('wasm', run);
      expect(winogradCalls.backpropInput - n).toBe(1);
      expect(counts()).toEqual(before);
      const cpu = await on('cpu', run);
      expectClose(ours, cpu, 1e-4);
      // with its own transform of the rotated, swapped filter (taken from flipOwnMinTiles tiles)
      winogradOptions.flipOwnMinTiles = 0;
      const own = await on('wasm', run);
      winogradOptions.flipOwnMinTiles = saved.flipOwnMinTiles;
      expect(counts()).toEqual(before);
      expectClose(own, cpu, 1e-4);
      // and the same as the direct product on wasm
      winogradOptions.enabled = false;
      const direct = await on('wasm', run);
      winogradOptions.enabled = true;
      expectClose(ours, direct, 1e-4);
    });

    it(`Conv2DBackpropFilter matches cpu: ${name}`, async () => {
      winogradOptions.enabled = true;
      const xv = rand(size(c.x), 11);
      const dyv = rand(size(outShape(c)), 12);
      const run = () => convFilterGrad(c, tf.tensor(xv, c.x), tf.tensor(dyv, outShape(c)));
      const before = counts();
      const n = winogradCalls.backpropFilter;
      const ours = await on('wasm', run);
      expect(winogradCalls.backpropFilter - n).toBe(1);
      expect(counts()).toEqual(before);
      // the cpu backend's filter gradient is a scalar loop (minutes for the large cases on a busy
      // machine): the large cases compare with the im2col path, itself held to cpu in small-conv.test.ts
      if (size(c.x) * c.co * 9 < 1 << 22) expectClose(ours, await on('cpu', run), 1e-4);
      winogradOptions.enabled = false;
      const direct = await on('wasm', run);
      winogradOptions.enabled = true;
      expectClose(ours, direct, 1e-4);
    });
  }

  it('SIMD transforms compute the maps on every lane', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    const tw = winogradTransforms(backend)!;
    expect(tw).not.toBeNull();
    for (const name of Object.keys(MAPS) as MapName[]) {
      const r = MAPS[name].r;
      const nIn = r * r;
      const nOut = applyMap(name, new Array<number>(nIn).fill(0)).length;
      // 8 lanes (2 vectors) per input, inputs 8 floats apart; outputs likewise
      const buf = tf.zeros([8 * (nIn + nOut)]);
      const data = heapF32(backend, buf as unknown as tf.TensorInfo);
      const xs = rand(8 * nIn, 20 + nIn);
      data.set(xs);
      const base = heapOffset(backend, buf as unknown as tf.TensorInfo);
      tw[name](base, base + 32 * nIn, 1, 2, 32 * r, 32, 32 * Math.sqrt(nOut), 32, 0, 0, 16, 16);
      const got = heapF32(backend, buf as unknown as tf.TensorInfo);
      for (let lane = 0; lane < 8; lane++) {
        const want = applyMap(name, Array.from({ length: nIn }, (_, i) => xs[8 * i + lane]!));
        const have = Array.from({ length: nOut }, (_, j) => got[8 * nIn + 8 * j + lane]!);
        expect(have, `${name} lane ${lane}`).toEqual(want);
      }
      buf.dispose();
    }
  });

  it('transforms a filter once for its forward and input-gradient uses, and frees it with the filter', async () => {
    winogradOptions.enabled = true;
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    winogradCacheSweep(backend);
    const c: Case = { x: [1, 6, 6, 64], k: [3, 3], co: 64, s: 1, pad: 'valid' };
    const w = tf.tensor4d(rand(9 * 64 * 64, 7, 0.1), [3, 3, 64, 64]);
    const before = winogradCacheSweep(backend);
    const outs = [
      tf.conv2d(tf.tensor4d(rand(6 * 6 * 64, 8), c.x), w, 1, 'valid'),
      tf.conv2d(tf.tensor4d(rand(6 * 6 * 64, 9), c.x), w, 1, 'valid'),
      convInputGrad(c, tf.tensor(rand(4 * 4 * 64, 10), outShape(c)), w),
    ];
    // few tiles: the input gradient reads the forward's transform
    expect(winogradCacheSweep(backend)).toBe(before + 1);
    // the cached transform gives the same results as a fresh one (a clone has a new data id)
    const w2 = w.clone();
    const again = convInputGrad(c, tf.tensor(rand(4 * 4 * 64, 10), outShape(c)), w2);
    expectClose([again.dataSync() as Float32Array], [outs[2]!.dataSync() as Float32Array], 1e-7);
    tf.dispose([w, w2, again, ...outs]);
    expect(winogradCacheSweep(backend)).toBe(before);
  });

  it('is not taken for narrow channels or other kernels', async () => {
    winogradOptions.enabled = true;
    const n = { ...winogradCalls };
    await on('wasm', () => [
      tf.conv2d(tf.randomNormal([1, 8, 8, 16]) as tf.Tensor4D, tf.randomNormal([3, 3, 16, 64]) as tf.Tensor4D, 1, 'same'), // 16 input channels
      tf.conv2d(tf.randomNormal([1, 8, 8, 64]) as tf.Tensor4D, tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D, 2, 'same'), // stride 2
      tf.conv2d(tf.randomNormal([1, 8, 8, 64]) as tf.Tensor4D, tf.randomNormal([4, 4, 64, 64]) as tf.Tensor4D, 1, 'same'), // 4x4
    ]);
    expect(winogradCalls).toEqual(n);
  });
});
