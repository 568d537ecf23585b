import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useWasmKernel } from '../../../../src/main/engine/kernels';
import { phaseConvCalls, phaseConvOptions } from '../../../../src/main/engine/kernels/conv2d-backprop-input';
import { stockCalls } from '../../../../src/main/engine/kernels/wasm-util';
import { narrowConvOptions } from '../../../../src/main/engine/kernels/narrow-conv';
import { smallConvOptions } from '../../../../src/main/engine/kernels/small-conv';
import { type ConvCase as Case, convInputGrad, convOutShape as dyShape, counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

/** Which path calls took while `f` ran: [phase decompositions, hand-offs to the stock kernel]. */
async function routed<T>(f: () => Promise<T>): Promise<{ out: T; phase: number; stock: number }> {
  const p = phaseConvCalls.phase;
  const s = stockCalls.Conv2DBackpropInput ?? 0;
  const out = await f();
  return { out, phase: phaseConvCalls.phase - p, stock: (stockCalls.Conv2DBackpropInput ?? 0) - s };
}

const cases: Case[] = [
  { x: [1, 8, 8, 3], k: [3, 3], co: 4, s: 1, pad: 'same' },
  { x: [3, 8, 8, 2], k: [3, 3], co: 5, s: 1, pad: 'valid' },
  { x: [1, 8, 8, 3], k: [4, 4], co: 4, s: 2, pad: 'same' }, // pix2pix up-conv
  { x: [3, 9, 7, 4], k: [4, 4], co: 3, s: 2, pad: 'same' }, // odd sizes: unequal phases
  { x: [3, 9, 9, 3], k: [3, 3], co: 2, s: 2, pad: 'valid' },
  { x: [1, 10, 10, 3], k: [3, 3], co: 2, s: 2, pad: 'valid' }, // last row/col never read: zeros
  { x: [1, 10, 9, 5], k: [4, 3], co: 6, s: [2, 1], pad: 'valid' },
  { x: [3, 7, 8, 1], k: [5, 5], co: 3, s: 3, pad: 'same' },
  { x: [1, 8, 8, 3], k: [4, 4], co: 2, s: 2, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
  { x: [1, 8, 8, 3], k: [3, 3], co: 2, s: 2, pad: [[0, 0], [3, 0], [0, 3], [0, 0]] }, // pad > tap reach
  { x: [3, 6, 6, 2], k: [3, 3], co: 4, s: 1, pad: 1 },
  { x: [1, 6, 6, 3], k: [1, 1], co: 4, s: 2, pad: 'valid' }, // kernel < stride: empty phases
  { x: [1, 8, 8, 3], k: [2, 2], co: 5, s: 2, pad: 'same' },
  { x: [3, 8, 8, 3], k: [5, 5], co: 4, s: 2, pad: 'same' }, // DCGAN generator up-conv
  { x: [1, 16, 16, 32], k: [4, 4], co: 64, s: 2, pad: 'same' }, // pix2pix-like layer, small
];

function runInputGrad(c: Case, dyv: Float32Array, wv: Float32Array): tf.Tensor {
  return convInputGrad(c, tf.tensor(dyv, dyShape(c)), tf.tensor4d(wv, [...c.k, c.x[3], c.co]));
}

describe('Conv2DBackpropInput (phase decomposition) on wasm', () => {
  const defaultMin = phaseConvOptions.minDyPixels;
  beforeAll(async () => {
    await initWasm();
    phaseConvOptions.minDyPixels = 0; // exercise the phase path even for tiny dy
    smallConvOptions.enabled = false; // (small-conv.test.ts covers the direct path)
    narrowConvOptions.enabled = false; // (and narrow-conv.test.ts the narrow dy one)
  });
  afterAll(() => {
    phaseConvOptions.minDyPixels = defaultMin;
    smallConvOptions.enabled = true;
    narrowConvOptions.enabled = true;
    useWasmKernel('Conv2DBackpropInput', 'ours');
  });

  for (const c of cases) {
    it(`matches cpu and the stock wasm kernel: dx ${c.x} k ${c.k} co ${c.co} stride ${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const dyv = rand(size(dyShape(c)), 1);
      const wv = rand(size([...c.k, c.x[3], c.co]), 2);
      const want = await on('cpu', () => runInputGrad(c, dyv, wv));
      useWasmKernel('Conv2DBackpropInput', 'ours');
      const r = await routed(() => on('wasm', () => runInputGrad(c, dyv, wv)));
      const got = r.out;
      expect([r.phase, r.stock]).toEqual([1, 0]); // ours ran, not a hand-off to stock
      useWasmKernel('Conv2DBackpropInput', 'stock');
      const stock = await on('wasm', () => runInputGrad(c, dyv, wv));
      useWasmKernel('Conv2DBackpropInput', 'ours');
      expect(got[0]!.length).toBe(size(c.x));
      expectClose(got, want);
      expectClose(stock, want); // the stock kernel agrees too: the reference is sound
    });
  }

  it('conv2dTranspose layer: forward and gradients match cpu', async () => {
    const xv = rand(3 * 5 * 5 * 4, 3);
    const wv = rand(4 * 4 * 6 * 4, 4);
    const bv = rand(6, 5);
    const f = () => {
      const x = tf.tensor4d(xv, [3, 5, 5, 4]);
      const w = tf.tensor4d(wv, [4, 4, 6, 4]);
      const b = tf.tensor1d(bv);
      const net = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.conv2dTranspose(xx as tf.Tensor4D, ww as tf.Tensor4D, [3, 10, 10, 6], 2, 'same').add(bb).tanh();
      const { value, grads } = tf.valueAndGrads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => net(xx, ww, bb).square().sum())([x, w, b]);
      return [net(x, w, b), value, ...grads];
    };
    expectClose(await on('wasm', f), await on('cpu', f));
  });

  it('falls back to the stock kernel for NCHW', async () => {
    const dyv = rand(1 * 3 * 4 * 4, 6);
    const wv = rand(3 * 3 * 2 * 3, 7);
    const f = () =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dyv, [1, 3, 4, 4]), filter: tf.tensor4d(wv, [3, 3, 2, 3]) }, {
        strides: 2, pad: 'same', dataFormat: 'NCHW', dimRoundingMode: undefined, inputShape: [1, 2, 8, 8],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const r = await routed(() => on('wasm', f));
    const got = r.out;
    expect([r.phase, r.stock]).toEqual([0, 1]);
    expect(got[0]!.length).toBe(2 * 8 * 8);
    // (the cpu backend has no NCHW Conv2DBackpropInput either; the stock wasm one is the reference)
    useWasmKernel('Conv2DBackpropInput', 'stock');
    const stock = await on('wasm', f);
    useWasmKernel('Conv2DBackpropInput', 'ours');
    expectClose(got, stock);
  });

  it('hands tiny dy to the stock kernel by default (same result)', async () => {
    const c = cases[2]!; // dy [1,4,4,4]: 16 pixels
    const dyv = rand(size(dyShape(c)), 1);
    const wv = rand(size([...c.k, c.x[3], c.co]), 2);
    const forced = await routed(() => on('wasm', () => runInputGrad(c, dyv, wv)));
    expect([forced.phase, forced.stock]).toEqual([1, 0]);
    phaseConvOptions.minDyPixels = defaultMin;
    try {
      const [b, h, w] = dyShape(c) as [number, number, number];
      expect(b * h * w).toBeLessThan(defaultMin);
      const byDefault = await routed(() => on('wasm', () => runInputGrad(c, dyv, wv)));
      expect([byDefault.phase, byDefault.stock]).toEqual([0, 1]);
      expectClose(byDefault.out, forced.out);
    } finally {
      phaseConvOptions.minDyPixels = 0;
    }
  });

  it('leaks no tensors or wasm buffers', () => {
    const c = cases[3]!;
    const dyv = rand(size(dyShape(c)), 1);
    const wv = rand(size([...c.k, c.x[3], c.co]), 2);
    const step = () => tf.tidy(() => void runInputGrad(c, dyv, wv).dataSync());
    step();
    const before = counts();
    for (let i = 0; i < 3; i++) step();
    const c2 = cases[9]!; // sliced dy and padded phases
    const step2 = () => tf.tidy(() => void runInputGrad(c2, rand(size(dyShape(c2)), 1), rand(size([...c2.k, c2.x[3], c2.co]), 2)).dataSync());
    step2();
    step2();
    expect(counts()).toEqual(before);
  });
});
