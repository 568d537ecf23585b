/**
 * A full tf.grad through a small pix2pix-like generator + discriminator on wasm matches cpu:
 * strided conv (+bias), leakyRelu, batch norm (moments), conv2dTranspose, relu, skip concat,
 * resize-conv upsampling (nearest and bilinear), mirror pad, tanh, sigmoid cross-entropy, L1.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedAdam } from '../../../../src/main/engine/kernels/fused-adam';
import { counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

const shapes: Record<string, number[]> = {
  e1: [4, 4, 3, 4], e1b: [4],
  e2: [4, 4, 4, 6], g2: [6], b2: [6],
  d1: [4, 4, 4, 6], g3: [4], b3: [4], // conv2dTranspose filter [kh,kw,out,in]
  u1: [3, 3, 8, 5], u1b: [5], // resize-conv after concat(4+4)
  o1: [3, 3, 5, 3],
  D1: [4, 4, 6, 4], D2: [3, 3, 4, 1], // discriminator on concat(input, output)
};
const names = Object.keys(shapes);
const weightValues = names.map((n, i) => rand(size(shapes[n]!), 100 + i, 0.4));
const inputValues = rand(2 * 8 * 8 * 3, 7);
const targetValues = rand(2 * 8 * 8 * 3, 8);
// The cpu backend's ResizeNearestNeighborGrad (tfjs 4.22) is wrong for batch > 1, so the
// nearest-neighbour network is compared at batch 1 (resize-nearest-neighbor tests cover batch 3).
const batchOf = (bilinear: boolean) => (bilinear ? 2 : 1);

function bn(x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean, variance, b, g, 1e-5) as tf.Tensor4D;
}

function forward(w: Record<string, tf.Tensor>, x: tf.Tensor4D, bilinear: boolean): tf.Tensor4D {
  const c = (t: tf.Tensor4D, f: string, s: number, pad: 'same' | 'valid' = 'same') => tf.conv2d(t, w[f] as tf.Tensor4D, s, pad);
  const e1 = tf.leakyRelu(tf.fused.conv2d({ x, filter: w.e1 as tf.Tensor4D, strides: 2, pad: 'same', bias: w.e1b }), 0.2) as tf.Tensor4D; // [2,4,4,4]
  const e2 = tf.leakyRelu(bn(c(e1, 'e2', 2), w.g2!, w.b2!), 0.2) as tf.Tensor4D; // [2,2,2,6]
  const d1 = tf.relu(bn(tf.conv2dTranspose(e2, w.d1 as tf.Tensor4D, [x.shape[0], 4, 4, 4], 2, 'same'), w.g3!, w.b3!)) as tf.Tensor4D; // [2,4,4,4]
  const cat = tf.concat([d1, e1], 3) as tf.Tensor4D; // [2,4,4,8]
  const up = bilinear ? tf.image.resizeBilinear(cat, [8, 8]) : tf.image.resizeNearestNeighbor(cat, [8, 8]);
  const u1 = tf.relu(c(up, 'u1', 1).add(w.u1b!)) as tf.Tensor4D; // [2,8,8,5]
  const padded = tf.mirrorPad(u1, [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect');
  return tf.tanh(c(padded, 'o1', 1, 'valid')); // [2,8,8,3]
}

function lossFn(w: Record<string, tf.Tensor>, bilinear: boolean): tf.Scalar {
  const n = batchOf(bilinear);
  const x = tf.tensor4d(inputValues.subarray(0, n * 192), [n, 8, 8, 3]);
  const target = tf.tensor4d(targetValues.subarray(0, n * 192), [n, 8, 8, 3]);
  const fake = forward(w, x, bilinear);
  const pair = tf.concat([x, fake], 3) as tf.Tensor4D;
  const h = tf.leakyRelu(tf.conv2d(pair, w.D1 as tf.Tensor4D, 2, 'same'), 0.2) as tf.Tensor4D;
  const logits = tf.conv2d(h, w.D2 as tf.Tensor4D, 1, 'valid');
  const adv = tf.losses.sigmoidCrossEntropy(tf.onesLike(logits), logits);
  const l1 = tf.mean(tf.abs(fake.sub(target)));
  return adv.add(l1.mul(100)) as tf.Scalar;
}

function gradsOf(bilinear: boolean): tf.Tensor[] {
  const ws = names.map((n, i) => tf.tensor(weightValues[i]!, shapes[n]));
  const f = (...ts: tf.Tensor[]) => lossFn(Object.fromEntries(names.map((n, i) => [n, ts[i]!])), bilinear);
  const { value, grads } = tf.valueAndGrads(f)(ws);
  return [value, ...grads];
}

describe('tf.grad through a small GAN on wasm', () => {
  beforeAll(initWasm);

  for (const bilinear of [false, true]) {
    it(`matches cpu (${bilinear ? 'bilinear' : 'nearest'} resize-conv)`, async () => {
      const got = await on('wasm', () => gradsOf(bilinear));
      const want = await on('cpu', () => gradsOf(bilinear));
      expect(got.length).toBe(names.length + 1);
      for (const g of got.slice(1)) expect(g.some((v) => v !== 0)).toBe(true); // every weight gets a gradient
      expectClose(got, want);
    });
  }

  it('training steps keep tensors and wasm buffers flat', () => {
    const vars = names.map((n, i) => tf.variable(tf.tensor(weightValues[i]!, shapes[n]), true, `netgrad_${n}`));
    const w = Object.fromEntries(names.map((n, i) => [n, vars[i]!]));
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => lossFn(w, true), vars);
        for (const v of vars) v.assign(v.sub(grads[v.name]!.mul(1e-3)));
      });
    step();
    const before = counts();
    for (let i = 0; i < 3; i++) step();
    expect(counts()).toEqual(before);
    tf.dispose(vars);
  });
});

describe('a tf.layers model trained with FusedAdam on wasm', () => {
  beforeAll(initWasm);

  /** Three steps of a small encoder/decoder (conv, BN, leakyRelu, conv2dTranspose, tanh); final weights. */
  function trainLayers(optimizerKind: 'fused' | 'stock'): tf.Tensor[] {
    const init = (seed: number) => tf.initializers.glorotNormal({ seed });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 6, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init(1) }),
        tf.layers.batchNormalization(),
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init(2) }),
        tf.layers.activation({ activation: 'tanh' }),
      ],
    });
    const opt = optimizerKind === 'fused' ? fusedAdam(2e-3, 0.5) : tf.train.adam(2e-3, 0.5);
    const x = tf.tensor4d(inputValues.subarray(0, 2 * 192), [2, 8, 8, 3]);
    const y = tf.tensor4d(targetValues.subarray(0, 2 * 192), [2, 8, 8, 3]).tanh();
    for (let i = 0; i < 3; i++) {
      opt.minimize(() => tf.mean(tf.abs(tf.sub(model.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar);
    }
    const weights = model.getWeights().map((w) => w.clone());
    opt.dispose();
    model.dispose();
    return weights;
  }

  it('matches tf.train.adam on cpu', async () => {
    const got = await on('wasm', () => trainLayers('fused'));
    const want = await on('cpu', () => trainLayers('stock'));
    expect(got.length).toBe(want.length);
    expectClose(got, want);
  });
});
