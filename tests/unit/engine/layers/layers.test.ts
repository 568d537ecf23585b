import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { InstanceNormalization, ReflectionPadding2D, instanceNorm, reflectionPad2d } from '../../../../src/main/engine/layers';
import { deserializeModel, serializeModel } from '../../../../src/main/engine/networks/io';
import { maxAbsDiff, numericGrad, useTestBackend } from './test-backend';

beforeAll(async () => {
  await useTestBackend();
});

describe('ReflectionPadding2D', () => {
  it('pads by reflection (hand-computed)', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const y = new ReflectionPadding2D({ padding: 1 }).apply(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 5, 5, 1]);
    expect(Array.from(y.dataSync())).toEqual([
      5, 4, 5, 6, 5,
      2, 1, 2, 3, 2,
      5, 4, 5, 6, 5,
      8, 7, 8, 9, 8,
      5, 4, 5, 6, 5,
    ]);
    tf.dispose([x, y]);
  });

  it('gradient of sum counts every copy of each pixel (hand-computed; tfjs MirrorPad grad gives all ones)', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(reflectionPad2d(t as tf.Tensor4D, 1)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 3, 1, 3, 9, 3, 1, 3, 1]);
    tf.dispose([x, g]);
  });

  it.each([
    [2, 4, 5],
    [1, 6, 7],
    [3, 8, 4],
    [1, 2, 2],
  ])('gradient matches finite differences (p = %i, %ix%i, 2 channels)', (p, h, wd) => {
    const x = tf.randomNormal([2, h, wd, 2], 0, 1, 'float32', 1);
    const w = tf.randomNormal([2, h + 2 * p, wd + 2 * p, 2], 0, 1, 'float32', 2);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(reflectionPad2d(t as tf.Tensor4D, p), w)) as tf.Scalar;
    const g = tf.grad(f)(x);
    const n = numericGrad(f, x, 1e-2);
    expect(maxAbsDiff(g.dataSync(), n)).toBeLessThan(2e-2);
    tf.dispose([x, w, g]);
  });

  it('refuses padding that does not fit', () => {
    const x = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    expect(() => reflectionPad2d(x, 2)).toThrow(/padding 2/);
    x.dispose();
  });
});

describe('InstanceNormalization', () => {
  it('normalises each channel of each sample over H, W (hand-computed)', () => {
    // channel 0: 1,2,3,4 (mean 2.5, var 1.25); channel 1: 10,10,10,10 (var 0 -> 0)
    const x = tf.tensor4d([1, 10, 2, 10, 3, 10, 4, 10], [1, 2, 2, 2]);
    const layer = new InstanceNormalization({ affine: false });
    const y = layer.apply(x) as tf.Tensor;
    const s = Math.sqrt(1.25 + 1e-5);
    const want = [-1.5 / s, 0, -0.5 / s, 0, 0.5 / s, 0, 1.5 / s, 0];
    expect(maxAbsDiff(y.dataSync(), want)).toBeLessThan(1e-5);
    tf.dispose([x, y]);
  });

  it('gradients (input, gamma, beta) match finite differences', () => {
    const x = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 3);
    const w = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 4);
    const layer = new InstanceNormalization({ affine: true });
    layer.apply(x); // build
    layer.setWeights([tf.tensor1d([1.5, 0.7]), tf.tensor1d([0.1, -0.2])]);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t) as tf.Tensor, w)) as tf.Scalar;
    const g = tf.grad(f)(x);
    const n = numericGrad(f, x, 1e-2);
    expect(maxAbsDiff(g.dataSync(), n)).toBeLessThan(3e-2);
    // parameter gradients
    const { grads } = tf.variableGrads(() => f(x), layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val));
    const gammaVar = layer.trainableWeights[0]!;
    const gGamma = grads[(gammaVar as unknown as { val: tf.Variable }).val.name]!;
    const gammaNum = numericGrad((gm) => {
      const old = layer.getWeights();
      layer.setWeights([gm, old[1]!]);
      const r = f(x);
      layer.setWeights(old);
      return r;
    }, tf.tensor1d([1.5, 0.7]), 1e-2);
    expect(maxAbsDiff(gGamma.dataSync(), gammaNum)).toBeLessThan(3e-2);
    tf.dispose([x, w, g, ...Object.values(grads)]);
  });
});

describe('instanceNorm analytic gradient', () => {
  it.each([1, 3])('matches finite differences and autodiff of the textbook formula (batch %i)', (b) => {
    const x = tf.randomNormal([b, 3, 4, 2], 0.5, 2, 'float32', 11);
    const w = tf.randomNormal([b, 3, 4, 2], 0, 1, 'float32', 12);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(instanceNorm(t as tf.Tensor4D), w)) as tf.Scalar;
    const textbook = (t: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, [1, 2], true);
      return tf.sum(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), w)) as tf.Scalar;
    };
    const g = tf.grad(f)(x);
    const ref = tf.grad(textbook)(x);
    expect(maxAbsDiff(g.dataSync(), ref.dataSync())).toBeLessThan(1e-4);
    expect(maxAbsDiff(g.dataSync(), numericGrad(f, x, 1e-2))).toBeLessThan(3e-2);
    const n0 = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grad(f)(x);
    });
    expect(tf.memory().numTensors).toBe(n0);
    tf.dispose([x, w, g, ref]);
  });
});

describe('serialisation', () => {
  it('a model with both layers saves and reloads with the same outputs', async () => {
    const input = tf.input({ shape: [6, 6, 3] });
    let h = new ReflectionPadding2D({ padding: 2 }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ filters: 4, kernelSize: 5, padding: 'valid', kernelInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: 1 }) }).apply(h) as tf.SymbolicTensor;
    h = new InstanceNormalization({ affine: true }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    model.layers[3]!.setWeights([tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([0, 0.5, -0.5, 1])]);
    const files = await serializeModel(model);
    const json = JSON.stringify(files.modelJson);
    expect(json).toContain('"class_name":"ReflectionPadding2D"');
    expect(json).toContain('"class_name":"InstanceNormalization"');
    const back = await deserializeModel(files);
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 5);
    const a = model.predict(x) as tf.Tensor;
    const b = back.predict(x) as tf.Tensor;
    expect(a.shape).toEqual([2, 6, 6, 4]);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-6);
    const cfg = back.layers[1]!.getConfig();
    expect(cfg.padding).toBe(2);
    expect(back.layers[3]!.getConfig().epsilon).toBe(1e-5);
    tf.dispose([x, a, b]);
    model.dispose();
    back.dispose();
  });
});
