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
  it('defaults: hinge loss, spectral norm, D at 2x lr, EMA 0.999', () => {
    for (const kind of ['gan', 'cgan']) {
      const o = resolveOptions(kind, {});
      expect(o).toMatchObject({ loss: 'hinge', spectralNorm: true, lrD: null, emaDecay: 0.999 });
    }
  });

  it('hinge: D losses start near 1 each (logits near 0); D steps at lrD, G at lr', () => {
    const m = createModel('cgan', { ...O, lr: 1e-4, lrD: 3e-4 });
    m.setInput(batch());
    const l = m.trainStep();
    expect(l.D_real).toBeGreaterThan(0.5);
    expect(l.D_fake).toBeGreaterThan(0.5);
    expect((m.optimizers.D as unknown as { learningRate: number }).learningRate).toBeCloseTo(3e-4, 12);
    expect((m.optimizers.G as unknown as { learningRate: number }).learningRate).toBeCloseTo(1e-4, 12);
    m.dispose();
  });

  it('EMA: G_ema trails G, is what inference uses, and no tensor leaks; emaDecay 0 keeps no copy', () => {
    const m = createModel('cgan', { ...O });
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
