import { beforeAll, describe, expect, it } from 'vitest';
import { stockCalls } from '../../../../src/main/engine/kernels/wasm-util';
import { counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

const cases: [number[], number[]][] = [
  [[1, 1, 1, 8], [1, 4, 3, 1]], // a per-channel vector to a feature map (normalisation gradients)
  [[2, 3, 1, 5], [2, 1, 4, 3]],
  [[3], [4]],
  [[2, 3], [1, 1]],
  [[2, 1, 3], [3, 5, 2]],
  [[1, 2, 2, 1], [2, 2, 2, 7]], // innermost dimension of 1
  [[2, 0, 3], [2, 2, 2]], // empty
];

describe('Tile (block copies) on wasm', () => {
  beforeAll(initWasm);
  for (const [shape, reps] of cases) {
    it(`matches cpu: ${JSON.stringify(shape)} x ${JSON.stringify(reps)}`, async () => {
      const v = rand(size(shape), 1);
      const run = () => [tf.tile(tf.tensor(v, shape), reps), tf.tile(tf.tensor(v, shape).mul(100).round().toInt(), reps).toFloat()];
      const before = counts();
      const stock = stockCalls.Tile ?? 0;
      const ours = await on('wasm', run);
      expect(stockCalls.Tile ?? 0).toBe(stock); // block copies, not a hand-off to the stock Tile
      expect(counts()).toEqual(before);
      expect(ours[0]!.length).toBe(size(shape.map((d, i) => d * reps[i]!)));
      expectClose(ours, await on('cpu', run), 1e-9);
    });
  }
  it('bool takes the stock kernel and still matches cpu', async () => {
    const run = () => tf.tile(tf.tensor([true, false, true], [3], 'bool'), [2]).toFloat();
    const stock = stockCalls.Tile ?? 0;
    const ours = await on('wasm', run);
    expect((stockCalls.Tile ?? 0) - stock).toBe(1);
    expectClose(ours, await on('cpu', run), 1e-9);
  });
});

describe('Identity (shared, refcounted data) on wasm', () => {
  beforeAll(initWasm);
  it('a clone keeps its values after the original is disposed, and frees its data after', () => {
    const before = counts();
    const a = tf.tensor([1, 2, 3, 4], [2, 2]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4]);
    b.dispose();
    expect(counts()).toEqual(before);
  });
  it('a variable updated by FusedAdam does not change a clone taken before the step', async () => {
    const { fusedAdam } = await import('../../../../src/main/engine/kernels/fused-adam');
    const v = tf.variable(tf.tensor([1, 2, 3, 4]));
    const opt = fusedAdam(0.1);
    const g = tf.tensor([1, 1, 1, 1]);
    opt.applyGradients([{ name: v.name, tensor: g }]);
    const snapshot = tf.clone(v);
    const before = Array.from(snapshot.dataSync());
    opt.applyGradients([{ name: v.name, tensor: g }]);
    expect(Array.from(snapshot.dataSync())).toEqual(before);
    expect(Array.from(v.dataSync())).not.toEqual(before);
    tf.dispose([v, g, snapshot]);
    opt.dispose();
  });
});

describe('Cast to the same dtype (shared data) on wasm', () => {
  beforeAll(initWasm);
  it('shares a float32 cast, still matches cpu through a clone gradient, and other casts stay stock', async () => {
    const v = rand(24, 5);
    // tfjs-core's Identity gradient is cast(dy, 'float32'): a clone on a tape casts backward
    const run = () => {
      const x = tf.tensor(v, [2, 3, 4]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.clone(t), t)))(x);
      return [tf.cast(x, 'float32'), g, tf.cast(tf.cast(tf.mul(x, 10), 'int32'), 'float32')];
    };
    const before = counts();
    const stock = stockCalls.Cast ?? 0;
    const ours = await on('wasm', run);
    expect(counts()).toEqual(before);
    expect((stockCalls.Cast ?? 0) - stock).toBe(2); // float32 -> int32 -> float32: stock
    expectClose(ours, await on('cpu', run), 1e-9);
  });
  it('a shared cast keeps its values after the original is disposed', () => {
    const before = counts();
    const a = tf.tensor([1, 2, 3, 4], [2, 2]);
    const b = tf.cast(a, 'float32');
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4]);
    b.dispose();
    expect(counts()).toEqual(before);
  });
});

describe('saves for the backward pass share data without a kernel call (wasm, gradient depth 1)', () => {
  beforeAll(initWasm);
  it('the same gradients as tfjs\'s clones, no leaks, no Identity calls; a gradient of a gradient keeps tfjs\'s clone', async () => {
    const { saveOptions, saveStats } = await import('../../../../src/main/engine/kernels/identity');
    const { withKernelTimes } = await import('../../../../src/main/engine/kernels/profile');
    const xv = rand(2 * 5 * 5 * 4, 8), wv = rand(3 * 3 * 4 * 8, 9);
    const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'))));
    const run = () => {
      const x = tf.tensor(xv, [2, 5, 5, 4]), w = tf.tensor(wv, [3, 3, 4, 8]);
      const { times, result } = withKernelTimes(() => tf.grads(f)([x, w]));
      return { data: result.map((g) => g.dataSync().slice()), identity: times.get('Identity')?.calls ?? 0, dispose: () => tf.dispose([x, w, ...result]) };
    };
    const before = counts();
    const light0 = saveStats.light;
    const light = run();
    expect(saveStats.light - light0).toBeGreaterThanOrEqual(3); // conv2d's x and w, relu's x (square's too)
    expect(light.identity).toBe(0);
    light.dispose();
    saveOptions.light = false;
    let clones: ReturnType<typeof run>;
    try {
      clones = run();
    } finally {
      saveOptions.light = true;
    }
    expect(clones.identity).toBeGreaterThanOrEqual(3);
    clones.dispose();
    expect(counts()).toEqual(before);
    light.data.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(clones.data[i]!)));
    // d/dx of (d/dx sum(x^3)) = 6x: the inner forward records at depth 2, where saves are tfjs's clones
    const x = tf.tensor([1, -2, 3]);
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.pow(u, 3)))(t)))(x);
    expect(Array.from(g2.dataSync())).toEqual([6, -12, 18]);
    tf.dispose([x, g2]);
    expect(counts()).toEqual(before);
  });
});
