import { beforeAll, describe, expect, it } from 'vitest';
import { withKernelTimes } from '../../../../src/main/engine/kernels/profile';
import { elementwiseSimdCalls } from '../../../../src/main/engine/kernels/elementwise';
import { counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

/** Kernel names run by fn on wasm. */
function kernelsOf(fn: () => void): string[] {
  return [...withKernelTimes(fn).times.keys()];
}

describe('LeakyRelu, Relu, their gradients, channel Concat and bias Add on wasm', () => {
  beforeAll(initWasm);

  for (const shape of [[1, 5, 7, 3], [2, 16, 16, 64], [17]]) {
    it(`LeakyRelu and its gradient match cpu: ${shape}`, async () => {
      const xv = rand(size(shape), 1);
      xv[0] = 0; // the gradient at 0 is alpha * dy (tfjs: x > 0 takes dy)
      const dyv = rand(size(shape), 2);
      const run = () => {
        const x = tf.tensor(xv, shape);
        const y = tf.leakyRelu(x, 0.2);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(t, 0.2), tf.tensor(dyv, shape))))(x);
        return [y, g];
      };
      const before = counts();
      const simd = { ...elementwiseSimdCalls };
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      if (size(shape) >= 4) expect([elementwiseSimdCalls.leaky - simd.leaky, elementwiseSimdCalls.leakyGrad - simd.leakyGrad]).toEqual([2, 1]);
      expectClose(ours, await on('cpu', run), 1e-6);
      expect(ours[1]![0]).toBeCloseTo(0.2 * dyv[0]!, 6);
      // one kernel for the gradient instead of Greater + Select + Multiply
      const names = kernelsOf(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.leakyRelu(t, 0.2)))(tf.tensor(xv, shape)).dataSync()));
      expect(names).toContain('AtelierLeakyReluGrad');
      expect(names).not.toContain('Select');
    });
  }

  const concats: [number[][], number][] = [
    [[[1, 8, 8, 3], [1, 8, 8, 3]], 3],
    [[[2, 4, 5, 20], [2, 4, 5, 1], [2, 4, 5, 16]], -1],
    [[[3, 4], [3, 6]], 1],
    [[[2, 3, 4], [1, 3, 4]], 0], // not the last axis: the stock kernel
  ];
  for (const [shapes, axis] of concats) {
    it(`Concat matches cpu: ${shapes.map((s) => `[${s}]`).join(' + ')} axis ${axis}`, async () => {
      const vals = shapes.map((s, i) => rand(size(s), 10 + i));
      const run = () => tf.concat(vals.map((v, i) => tf.tensor(v, shapes[i])), axis);
      const before = counts();
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      expectClose(ours, await on('cpu', run), 1e-12);
      // and its gradient (split) too
      const grad = () => tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(ts, axis), tf.range(0, size(run().shape)).reshape(run().shape))))(vals.map((v, i) => tf.tensor(v, shapes[i])));
      expectClose(await on('wasm', grad), await on('cpu', grad), 1e-12);
    });
  }

  const reductions: [number[], number | number[], boolean, boolean][] = [
    // shape, axis, keepDims, takes the channel path
    [[2, 5, 7, 8], [0, 1, 2], true, true],
    [[2, 5, 7, 8], [2, 0, 1], false, true],
    [[1024, 256], 0, false, true],
    [[3, 4], [0], true, true],
    [[2, 5, 7, 8], [1, 2], false, false], // keeps the batch axis: stock
    [[4, 6], [0], false, false], // 6 channels: not groups of 4, stock
    [[4, 8], [0, 1], false, false], // everything: stock
  ];
  for (const [shape, axis, keepDims, channel] of reductions) {
    it(`Sum and Mean match cpu: [${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}`, async () => {
      const xv = rand(size(shape), 30);
      const run = () => [tf.sum(tf.tensor(xv, shape), axis, keepDims), tf.mean(tf.tensor(xv, shape), axis, keepDims)];
      const before = counts();
      const n = elementwiseSimdCalls.colSum;
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(elementwiseSimdCalls.colSum - n).toBe(channel ? 2 : 0);
      expectClose(ours, await on('cpu', run), 1e-5);
      // The output shape on wasm, against the shape the axes and keepDims call for.
      const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
      const want = shape.flatMap((d, i) => (axes.includes(i) ? (keepDims ? [1] : []) : [d]));
      const prev = tf.getBackend();
      await tf.setBackend('wasm');
      try {
        expect(tf.tidy(() => run().map((t) => t.shape))).toEqual([want, want]);
      } finally {
        await tf.setBackend(prev);
      }
    });
  }

  for (const shape of [[1, 5, 7, 3], [2, 16, 16, 64], [17]]) {
    it(`Relu and its gradient match cpu: ${shape}`, async () => {
      const xv = rand(size(shape), 3);
      xv[0] = 0; // the gradient at 0 is 0 (tfjs: step(0) = 0)
      const dyv = rand(size(shape), 4);
      const run = () => {
        const x = tf.tensor(xv, shape);
        const y = tf.relu(x);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tf.tensor(dyv, shape))))(x);
        return [y, g];
      };
      const before = counts();
      const simd = { ...elementwiseSimdCalls };
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      if (size(shape) >= 4) expect([elementwiseSimdCalls.relu - simd.relu, elementwiseSimdCalls.leakyGrad - simd.leakyGrad]).toEqual([2, 1]);
      expectClose(ours, await on('cpu', run), 1e-7);
      expect(ours[1]![0]).toBe(0);
      // one kernel for the gradient instead of Step + Cast + Multiply
      const names = kernelsOf(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)))(tf.tensor(xv, shape)).dataSync()));
      expect(names).toContain('AtelierLeakyReluGrad');
      expect(names).not.toContain('Step');
    });
  }

  const adds: [number[], number[], boolean][] = [
    // a, b, takes the per-channel SIMD pass
    [[2, 5, 7, 8], [8], true],
    [[8], [3, 5, 8], true], // bias first
    [[1, 6, 6, 12], [1, 1, 1, 12], true],
    [[3, 5, 3], [3], false], // 3 channels: the JS loop
    [[2, 5, 7, 8], [2, 5, 7, 8], false], // same shapes: stock
    [[4, 8], [4, 1], false], // broadcast along rows: stock
    [[1, 8], [8], false], // one row: nothing to broadcast, stock
  ];
  for (const [sa, sb, simd] of adds) {
    it(`Add with a channel vector matches cpu: [${sa}] + [${sb}]`, async () => {
      const av = rand(size(sa), 40);
      const bv = rand(size(sb), 41);
      const run = () => {
        const [a, b] = [tf.tensor(av, sa), tf.tensor(bv, sb)];
        // the gradients reduce back to each operand's shape
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.add(x, y))))([a, b]);
        return [tf.add(a, b), ga!, gb!];
      };
      const before = counts();
      const n = elementwiseSimdCalls.biasAdd;
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(elementwiseSimdCalls.biasAdd - n).toBe(simd ? 2 : 0);
      expectClose(ours, await on('cpu', run), 1e-6);
      const prev = tf.getBackend();
      await tf.setBackend('wasm');
      try {
        expect(tf.tidy(() => tf.add(tf.tensor(av, sa), tf.tensor(bv, sb)).shape)).toEqual(tf.backend_util.assertAndGetBroadcastShape(sa, sb));
      } finally {
        await tf.setBackend(prev);
      }
    });
  }
});

describe('Tanh and its gradient on wasm (one SIMD pass each)', () => {
  beforeAll(initWasm);
  it('tanh is float32(Math.tanh) but for rare ties (within 1.2e-7: relative where |tanh x| < 1e-3, absolute above) over -12..12, tails and specials', async () => {
    const xs: number[] = [];
    for (let i = -120000; i <= 120000; i++) xs.push(i / 10000);
    xs.push(1e-30, -1e-30, 0, -0, 1e-7, 0.1249999, 0.125, 0.1250001, -0.125, 40, -40, 88.8, -1e4);
    const x = new Float32Array(xs.length + 3); // + 3: a tail for the JS loop
    x.set(xs);
    const before = counts();
    const calls = elementwiseSimdCalls.tanh;
    const [ours] = await on('wasm', () => tf.tanh(tf.tensor(x)));
    expect(elementwiseSimdCalls.tanh - calls).toBe(1);
    expect(counts()).toEqual(before);
    let worst = 0;
    for (let i = 0; i < x.length; i++) {
      const ref = Math.tanh(x[i]!);
      const d = Math.abs(ours![i]! - ref);
      worst = Math.max(worst, Math.abs(ref) < 1e-3 ? d / Math.max(Math.abs(ref), 1e-38) : d);
    }
    expect(worst).toBeLessThan(1.2e-7);
    // computed in float64, then rounded: float32(Math.tanh(x)) but for rare ties
    let differ = 0;
    for (let i = 0; i < x.length; i++) if (ours![i] !== Math.fround(Math.tanh(x[i]!))) differ++;
    expect(differ).toBeLessThan(x.length * 1e-4);
    expect(ours!.every(Number.isFinite)).toBe(true);
    expect(Object.is(ours![xs.indexOf(-0)]!, -0) || ours![xs.indexOf(-0)] === 0).toBe(true);
  });
  for (const shape of [[1, 128, 128, 3], [2, 5, 7, 3], [3]]) {
    it(`tanh and its gradient match cpu within 1e-6: ${shape}`, async () => {
      const xv = rand(size(shape), 11, 3);
      const wv = rand(size(shape), 12);
      const run = () => {
        const x = tf.tensor(xv, shape);
        const w = tf.tensor(wv, shape);
        return [tf.tanh(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tanh(t), w)))(x)];
      };
      const before = counts();
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      expectClose(ours, await on('cpu', run), 1e-6);
    });
  }
  it('the gradient is one kernel on wasm', () => {
    const names = kernelsOf(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.tanh(t)))(tf.randomNormal([4, 8])).dataSync()));
    expect(names).toContain('AtelierTanhGrad');
    expect(names).not.toContain('Square');
  });
});
