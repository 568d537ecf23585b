/** The spectral-norm constraint of GAN discriminators (models/spectral.ts). */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { SpectralConstraint, constrainedKernels } from '../../../../src/main/engine/models/spectral';
import { createModel } from '../../../../src/main/engine/models';
import { useTestBackend } from '../layers/test-backend';

beforeAll(async () => {
  await useTestBackend();
});

/** Largest singular value by many power iterations (reference). */
function sigmaRef(w: tf.Tensor): number {
  return tf.tidy(() => {
    const m = tf.reshape(w, [-1, w.shape[w.shape.length - 1]!]) as tf.Tensor2D;
    let u = tf.ones([m.shape[1], 1]) as tf.Tensor2D;
    for (let i = 0; i < 200; i++) {
      const v = tf.matMul(m, u);
      const u2 = tf.matMul(m, v, true, false);
      u = tf.div(u2, tf.norm(u2)) as tf.Tensor2D;
    }
    return tf.norm(tf.matMul(m, u)).dataSync()[0]!;
  });
}

describe('SpectralConstraint', () => {
  it('brings a kernel above 1 down to spectral norm 1 and leaves one below 1 alone; no tensor leaks', () => {
    const big = tf.variable(tf.mul(tf.randomNormal([3, 3, 4, 5], 0, 1, 'float32', 1), 2));
    const small = tf.variable(tf.mul(tf.eye(4), 0.3));
    const c = new SpectralConstraint([big, small], 7);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) c.apply();
    expect(tf.memory().numTensors).toBe(before);
    expect(sigmaRef(big)).toBeCloseTo(1, 2);
    expect(sigmaRef(small)).toBeCloseTo(0.3, 6);
    expect(c.sigmas()[0]).toBeCloseTo(1, 2);
    c.dispose();
    tf.dispose([big, small]);
  });

  it('state round trip: the u vectors come back from arrays()', async () => {
    const w = tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', 2));
    const a = new SpectralConstraint([w], 1);
    a.apply();
    const saved = await a.arrays('extra/u');
    const b = new SpectralConstraint([w], 99);
    b.setArrays('extra/u', saved);
    expect(Array.from((await b.arrays('extra/u'))[0]!.data)).toEqual(Array.from(saved[0]!.data));
    a.dispose();
    b.dispose();
    w.dispose();
  });

  it('a cgan with spectralNorm has no batch norm in D and constrains its convs, dense and projection embedding', () => {
    const m = createModel('cgan', { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 2, numClasses: 3, spectralNorm: true });
    const D = m.networks.D!;
    expect(D.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
    expect(constrainedKernels(D).length).toBe(D.layers.filter((l) => ['Conv2D', 'Dense', 'Embedding'].includes(l.getClassName())).length);
    for (const k of constrainedKernels(D)) expect(sigmaRef(k)).toBeLessThanOrEqual(1.05);
    m.dispose();
  });
});
