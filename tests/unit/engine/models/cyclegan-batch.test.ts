/**
 * CycleGAN's step runs a generator's independent applications (G_A(A) with the identity G_A(B))
 * and the discriminators' real and fake halves as one batch under instance norm and no norm
 * (models/cyclegan.ts, `batchable`). Each sample's result must not change: the gradients handed to
 * the optimizers and the losses are compared with the separate applications
 * (ATELIER_CYCLEGAN_BATCH=0) on the same model state and batch; batch norm keeps separate
 * applications (bit for bit the same step either way).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { createModel, type BaseModel } from '../../../../src/main/engine/models';
import { useTestBackend } from '../layers/test-backend';
import { tinySource } from './tiny';

beforeAll(async () => {
  await useTestBackend();
});
afterEach(() => {
  delete process.env.ATELIER_CYCLEGAN_BATCH;
});

interface StepRecord {
  losses: Record<string, number>;
  /** Per optimizer, its gradients in the order handed over (names differ between two models: global suffixes). */
  grads: Record<string, Float32Array[]>;
}

/** One step of a fresh model (fixed seed) on the source's first batch; the optimizers' inputs captured. */
function recordStep(options: Record<string, unknown>, batched: boolean): StepRecord {
  process.env.ATELIER_CYCLEGAN_BATCH = batched ? '1' : '0';
  const m: BaseModel = createModel('cyclegan', options);
  const grads: StepRecord['grads'] = {};
  for (const [name, opt] of Object.entries(m.optimizers)) {
    const apply = opt.applyGradients.bind(opt);
    opt.applyGradients = (g) => {
      const map = g as tf.NamedTensorMap;
      grads[name] = Object.values(map).map((t) => t.dataSync() as Float32Array);
      apply(g);
    };
  }
  try {
    m.setInput(tinySource('cyclegan', options).next());
    const losses = m.trainStep();
    return { losses, grads };
  } finally {
    m.dispose();
  }
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe('cyclegan: independent applications batched', () => {
  const base = { size: 16, channels: 3, ngf: 4, ndf: 4, blocks: 2, poolSize: 2, seed: 3 };

  it.each([
    ['instance norm, identity 0.5', { ...base }],
    ['no norm, batch 2 of each domain', { ...base, norm: 'none', batchSize: 2 }],
    ['U-Net generators, vanilla GAN loss', { ...base, netG: 'unet', ganMode: 'vanilla' }],
  ])('%s: same losses and gradients as separate applications', (_, options) => {
    const apart = recordStep(options, false);
    const together = recordStep(options, true);
    expect(Object.keys(together.losses)).toEqual(Object.keys(apart.losses));
    for (const [k, v] of Object.entries(apart.losses)) expect(together.losses[k]).toBeCloseTo(v, 5);
    expect(Object.keys(together.grads).sort()).toEqual(['D', 'G']);
    for (const net of ['G', 'D']) {
      const a = apart.grads[net]!;
      const b = together.grads[net]!;
      // the same variables in the same order: the optimizer keys its moments by position
      expect(b.map((g) => g.length)).toEqual(a.map((g) => g.length));
      for (const [v, ga] of a.entries()) {
        const gb = b[v]!;
        const scale = Math.max(1e-3, maxAbs(ga));
        let worst = 0;
        for (let i = 0; i < ga.length; i++) worst = Math.max(worst, Math.abs(ga[i]! - gb[i]!));
        expect(worst / scale, `${net} variable ${v}`).toBeLessThan(1e-4);
      }
    }
  });

  it('batch norm keeps separate applications: the same bits either way', () => {
    const options = { ...base, norm: 'batch' };
    const apart = recordStep(options, false);
    const together = recordStep(options, true);
    expect(together.losses).toEqual(apart.losses);
    for (const net of ['G', 'D']) expect(together.grads[net]).toEqual(apart.grads[net]);
  });

  it('leaks no tensors across batched steps', () => {
    process.env.ATELIER_CYCLEGAN_BATCH = '1';
    const m = createModel('cyclegan', base);
    const src = tinySource('cyclegan', base);
    try {
      m.setInput(src.next());
      m.trainStep();
      m.setInput(src.next());
      const before = tf.memory().numTensors;
      m.trainStep();
      m.setInput(src.next());
      m.trainStep();
      // the pool of 2 is full after the second step, so the count is flat from there
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      m.dispose();
    }
  });
});
