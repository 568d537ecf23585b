/**
 * pix2pix with colorize 'chroma' (grey -> colour): trains with a flat tensor count, resumes
 * exactly, keeps the grey input as the output's luminance, refuses configurations it cannot
 * build, and keeps the kind's capabilities (one translate direction through G).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { createModel, resolveOptions, type BaseModel } from '../../../../src/main/engine/models';
import { capabilitiesFor } from '../../../../src/main/engine/models/registry';
import { Rng } from '../../../../src/main/engine/analysis/rng';
import { useTestBackend } from '../layers/test-backend';

beforeAll(async () => {
  await useTestBackend();
});

const O = { size: 16, channels: 3, inChannels: 1, ngf: 4, ndf: 4, batchSize: 2, colorize: 'chroma', chromaScale: 2 };

/** Paired batches: b a smooth colour field, a its BT.709 grey (as the demo dataset's). */
function batch(seed: number): { a: tf.Tensor4D; b: tf.Tensor4D } {
  const r = new Rng(seed);
  const n = 2;
  const S = 16;
  const b = new Float32Array(n * S * S * 3);
  const a = new Float32Array(n * S * S);
  for (let i = 0; i < n; i++) {
    const [p, q, s] = [r.next() * 6, r.next() * 6, r.next() * 6];
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const o = (i * S + y) * S + x;
        const rgb = [Math.sin(x / 5 + p), Math.cos(y / 4 + q), Math.sin((x + y) / 7 + s)].map((v) => 0.8 * v);
        b.set(rgb, o * 3);
        a[o] = 0.2126 * rgb[0]! + 0.7152 * rgb[1]! + 0.0722 * rgb[2]!;
      }
    }
  }
  return { a: tf.tensor4d(a, [n, S, S, 1]), b: tf.tensor4d(b, [n, S, S, 3]) };
}

function steps(m: BaseModel, from: number, n: number): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (let i = 0; i < n; i++) {
    m.setInput(batch(from + i));
    out.push(m.trainStep());
  }
  return out;
}

describe("pix2pix colorize 'chroma'", () => {
  it('resolves its options (off by default, chroma at half resolution) and keeps the capabilities', () => {
    expect(resolveOptions('pix2pix', {})).toMatchObject({ colorize: 'none', chromaScale: 2 });
    expect(() => resolveOptions('pix2pix', { colorize: 'lab' })).toThrow(/colorize/);
    expect(capabilitiesFor('pix2pix', O).translate).toEqual({ AtoB: 'G' });
  });

  it('refuses what it cannot build: colour input, grey output, the ResNet and the reference networks', () => {
    expect(() => createModel('pix2pix', { ...O, inChannels: 3 })).toThrow(/inChannels 1 and channels 3/);
    expect(() => createModel('pix2pix', { ...O, channels: 1 })).toThrow(/inChannels 1 and channels 3/);
    expect(() => createModel('pix2pix', { ...O, netG: 'resnet' })).toThrow(/U-Net/);
    expect(() => createModel('pix2pix', { ...O, size: 128, variant: 'reference' })).toThrow(/colorize/);
  });

  it('trains with finite losses and a flat tensor count; fake_B keeps real_A as its luminance', () => {
    const m = createModel('pix2pix', O);
    steps(m, 0, 1);
    m.setInput(batch(1));
    const before = tf.memory().numTensors;
    const losses = m.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    for (const n of m.lossNames) expect(Number.isFinite(losses[n])).toBe(true);
    const v = m.visuals();
    expect(v.fake_B!.shape).toEqual([2, 16, 16, 3]);
    const d = tf.tidy(() => {
      const [r, g, b] = tf.split(v.fake_B!, 3, 3);
      const y = tf.addN([tf.mul(r!, 0.2126), tf.mul(g!, 0.7152), tf.mul(b!, 0.0722)]);
      // Pixels where the colour was clipped to [-1, 1] lose the exact luminance; the rest keep it.
      const inside = tf.cast(tf.less(tf.max(tf.abs(v.fake_B!), 3, true), 0.999), 'float32');
      return tf.max(tf.mul(tf.abs(tf.sub(y, v.real_A!)), inside)).dataSync()[0]!;
    });
    expect(d).toBeLessThan(1e-3);
    tf.dispose(Object.values(v));
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('state round trip: a fresh model with setState continues exactly like the original (1e-5)', async () => {
    const ref = createModel('pix2pix', O);
    const want = steps(ref, 0, 3);
    ref.dispose();
    const m1 = createModel('pix2pix', O);
    steps(m1, 0, 2);
    const state = await m1.getState();
    m1.dispose();
    const m2 = createModel('pix2pix', { ...O, seed: 99 });
    await m2.setState(state);
    const tail = steps(m2, 2, 1);
    for (const n of Object.keys(want[2]!)) expect(Math.abs(tail[0]![n]! - want[2]![n]!)).toBeLessThan(1e-5);
    m2.dispose();
  });
});
