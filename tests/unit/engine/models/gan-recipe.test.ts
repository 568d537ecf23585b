/** The anti-collapse recipe of gan/cgan (models/gan.ts): hinge loss, two learning rates, EMA of G. */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { createModel, resolveOptions } from '../../../../src/main/engine/models';
import { useTestBackend } from '../layers/test-backend';

beforeAll(async () => {
  await useTestBackend();
});

const O = { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 4, numClasses: 3 };
const batch = () => ({
  a: tf.randomUniform([4, 16, 16, 1], -1, 1, 'float32', 3) as tf.Tensor4D,
  labels: tf.tensor2d([0, 1, 2, 0], [4, 1], 'int32'),
});
const flat = (m: tf.LayersModel) => tf.tidy(() => tf.concat(m.getWeights().map((w) => w.flatten())).dataSync() as Float32Array);

describe('gan/cgan recipe', () => {
  it('defaults: the DCGAN (vanilla loss, batch-norm D, D at lr, no EMA); the anti-collapse options are opt-in', () => {
    for (const kind of ['gan', 'cgan']) {
      const o = resolveOptions(kind, {});
      expect(o).toMatchObject({ loss: 'vanilla', spectralNorm: false, lrD: null, emaDecay: 0, modeSeeking: 0 });
    }
    const plain = createModel('cgan', { ...O, lr: 1e-4 });
    plain.setInput(batch());
    plain.trainStep();
    expect((plain.optimizers.D as unknown as { learningRate: number }).learningRate).toBeCloseTo(1e-4, 12);
    expect(plain.networkNames).toEqual(['G', 'D']);
    plain.dispose();
    const sn = createModel('cgan', { ...O, lr: 1e-4, spectralNorm: true, loss: 'hinge' });
    sn.setInput(batch());
    sn.trainStep();
    expect((sn.optimizers.D as unknown as { learningRate: number }).learningRate).toBeCloseTo(2e-4, 12);
    sn.dispose();
  });

  it('hinge: D losses start near 1 each (logits near 0); D steps at lrD, G at lr', () => {
    const m = createModel('cgan', { ...O, lr: 1e-4, lrD: 3e-4, loss: 'hinge', spectralNorm: true });
    m.setInput(batch());
    const l = m.trainStep();
    expect(l.D_real).toBeGreaterThan(0.5);
    expect(l.D_fake).toBeGreaterThan(0.5);
    expect((m.optimizers.D as unknown as { learningRate: number }).learningRate).toBeCloseTo(3e-4, 12);
    expect((m.optimizers.G as unknown as { learningRate: number }).learningRate).toBeCloseTo(1e-4, 12);
    m.dispose();
  });

  it('EMA: G_ema trails G, is what inference uses, and no tensor leaks; emaDecay 0 keeps no copy', () => {
    const m = createModel('cgan', { ...O, emaDecay: 0.999 });
    expect(m.networkNames).toContain('G_ema');
    for (let i = 0; i < 2; i++) {
      m.setInput(batch());
      m.trainStep();
    }
    m.setInput(batch());
    const before = tf.memory().numTensors;
    m.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    const g = flat(m.networks.G!);
    const e = flat(m.networks.G_ema!);
    expect(g.some((v, i) => Math.abs(v - e[i]!) > 1e-6)).toBe(true);
    expect(m.inferenceNetwork('G')).toBe(m.networks.G_ema);
    m.dispose();
    const off = createModel('cgan', { ...O, emaDecay: 0, spectralNorm: false, loss: 'vanilla' });
    expect(off.networkNames).toEqual(['G', 'D']);
    expect(off.inferenceNetwork('G')).toBe(off.networks.G);
    expect(off.networks.D!.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(true);
    off.dispose();
  });
});

describe('mode seeking (MSGAN)', () => {
  it('off by default; on: pairs share labels, MS is logged, G differs from the plain step, no tensor leaks', () => {
    expect(resolveOptions('cgan', {})).toMatchObject({ modeSeeking: 0 });
    const plain = createModel('cgan', { ...O, seed: 5 });
    expect(plain.lossNames).toEqual(['G', 'D_real', 'D_fake']);
    const m = createModel('cgan', { ...O, seed: 5, modeSeeking: 1 });
    expect(m.lossNames).toEqual(['G', 'D_real', 'D_fake', 'MS']);
    m.setInput(batch());
    m.trainStep();
    m.setInput(batch());
    const before = tf.memory().numTensors;
    const l = m.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    // 1 / (lz + eps) of two different images from different noise: positive and finite.
    expect(l.MS).toBeGreaterThan(0);
    expect(Number.isFinite(l.MS)).toBe(true);
    plain.setInput(batch());
    plain.trainStep();
    plain.setInput(batch());
    plain.trainStep();
    const g1 = flat(m.networks.G!);
    const g0 = flat(plain.networks.G!);
    expect(g1.some((v, i) => Math.abs(v - g0[i]!) > 1e-7)).toBe(true);
    m.dispose();
    plain.dispose();
  });

  it('the regulariser grows when two seeds of one class give the same image', () => {
    const m = createModel('cgan', { ...O, modeSeeking: 1 }) as unknown as { modeSeekingLoss(f: tf.Tensor4D, z: tf.Tensor2D): tf.Scalar; dispose(): void };
    const z = tf.randomNormal([4, 8], 0, 1, 'float32', 1) as tf.Tensor2D;
    const same = tf.concat([tf.ones([2, 16, 16, 1]), tf.ones([2, 16, 16, 1])]) as tf.Tensor4D;
    const apart = tf.concat([tf.ones([2, 16, 16, 1]), tf.neg(tf.ones([2, 16, 16, 1]))]) as tf.Tensor4D;
    const collapsed = m.modeSeekingLoss(same, z).dataSync()[0]!;
    const diverse = m.modeSeekingLoss(apart, z).dataSync()[0]!;
    expect(collapsed).toBeGreaterThan(1e4);
    expect(diverse).toBeLessThan(2);
    tf.dispose([z, same, apart]);
    m.dispose();
  });
});

describe('minibatch standard deviation in D (ProGAN)', () => {
  it('off by default (no MinibatchStd layer); class/batch: D has the layer, trains, no tensor leaks', () => {
    expect(resolveOptions('cgan', {})).toMatchObject({ minibatchStd: 'off', modeSeekingStart: 0 });
    const has = (m: { networks: Record<string, tf.LayersModel | undefined> }) => m.networks.D!.layers.some((l) => l.getClassName() === 'MinibatchStd');
    const off = createModel('cgan', O);
    expect(has(off)).toBe(false);
    off.dispose();
    for (const mode of ['class', 'batch'] as const) {
      const m = createModel('cgan', { ...O, minibatchStd: mode });
      expect(has(m)).toBe(true);
      m.setInput(batch());
      m.trainStep();
      m.setInput(batch());
      const before = tf.memory().numTensors;
      const l = m.trainStep();
      expect(tf.memory().numTensors).toBe(before);
      for (const v of Object.values(l)) expect(Number.isFinite(v)).toBe(true);
      m.dispose();
    }
  });

  it('unconditional gan: class falls back to the whole batch', () => {
    const { numClasses: _, ...plain } = O;
    const m = createModel('gan', { ...plain, minibatchStd: 'class' });
    const layer = m.networks.D!.layers.find((l) => l.getClassName() === 'MinibatchStd') as unknown as { numClasses: number };
    expect(layer.numClasses).toBe(0);
    m.setInput({ a: batch().a });
    expect(Number.isFinite(m.trainStep().G!)).toBe(true);
    m.dispose();
  });
});

describe('mode seeking from a later step', () => {
  it('modeSeekingStart: MS is 0 (not applied) before the start step, positive from it on', () => {
    const m = createModel('cgan', { ...O, modeSeeking: 0.1, modeSeekingStart: 2 });
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      m.setInput(batch());
      ms.push(m.trainStep().MS!);
    }
    expect(ms.slice(0, 2)).toEqual([0, 0]);
    expect(ms[2]).toBeGreaterThan(0);
    m.dispose();
  });
});

describe('auxiliary classifier (AC-GAN)', () => {
  it('off by default; on: D has a class head, AC losses are logged and finite, no tensor leaks', () => {
    expect(resolveOptions('cgan', {})).toMatchObject({ auxClassifier: 0 });
    expect(createModel('cgan', O).networks.D!.outputs.length).toBe(1);
    const m = createModel('cgan', { ...O, auxClassifier: 1, minibatchStd: 'class' });
    expect(m.lossNames).toEqual(['G', 'D_real', 'D_fake', 'AC_real', 'AC_fake']);
    expect(m.networks.D!.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 3]]);
    m.setInput(batch());
    m.trainStep();
    m.setInput(batch());
    const before = tf.memory().numTensors;
    const l = m.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    // Cross-entropy over 3 classes from a near-zero head: about ln 3.
    expect(l.AC_real).toBeGreaterThan(0.5);
    expect(l.AC_real).toBeLessThan(2);
    expect(Number.isFinite(l.AC_fake)).toBe(true);
    m.dispose();
  });

  it('the class head learns the real labels: AC_real falls over a few steps on a fixed batch', () => {
    const m = createModel('cgan', { ...O, auxClassifier: 1, lr: 2e-3 });
    // batch() is seeded: the same images and labels every time (setInput takes ownership).
    const first = (() => {
      m.setInput(batch());
      return m.trainStep().AC_real!;
    })();
    let last = first;
    for (let i = 0; i < 15; i++) {
      m.setInput(batch());
      last = m.trainStep().AC_real!;
    }
    expect(last).toBeLessThan(first * 0.8);
    m.dispose();
  });
});
