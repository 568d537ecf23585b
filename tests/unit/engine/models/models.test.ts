import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { MODELS, createModel, lrAt, resolveOptions, ImagePool, Rng, type BaseModel, type ModelKind } from '../../../../src/main/engine/models';
import type { InMemoryBatchSource } from '../../../../src/main/engine/train/source';
import { useTestBackend } from '../layers/test-backend';
import { TINY, tinySource as source } from './tiny';

beforeAll(async () => {
  await useTestBackend();
});

function steps(m: BaseModel, src: InMemoryBatchSource, n: number): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (let i = 0; i < n; i++) {
    m.setInput(src.next());
    out.push(m.trainStep());
  }
  return out;
}

describe.each(Object.keys(TINY) as ModelKind[])('%s', (kind) => {
  const o = TINY[kind];

  it('declares its contract; losses finite; visuals shaped; tensors flat across a step', () => {
    const m = createModel(kind, o);
    expect(m.networkNames.every((n) => m.networks[n])).toBe(true);
    const src = source(kind, o);
    const first = steps(m, src, 1)[0]!;
    expect(Object.keys(first)).toEqual([...m.lossNames]);
    m.setInput(src.next());
    const before = tf.memory().numTensors;
    const losses = m.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    for (const n of m.lossNames) expect(Number.isFinite(losses[n])).toBe(true);
    const v = m.visuals();
    expect(Object.keys(v)).toEqual([...m.visualNames]);
    for (const t of Object.values(v)) {
      expect(t.shape.slice(1)).toEqual([o.size, o.size, o.channels]);
      const mx = tf.tidy(() => t.abs().max().dataSync()[0]!);
      expect(mx).toBeLessThanOrEqual(1.0001);
    }
    tf.dispose(Object.values(v));
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('state round trip: a fresh model with setState continues exactly like the original (1e-5)', async () => {
    const ref = createModel(kind, o);
    const srcRef = source(kind, o);
    const want = steps(ref, srcRef, 4);
    ref.dispose();

    const m1 = createModel(kind, o);
    const src1 = source(kind, o);
    const head = steps(m1, src1, 2);
    const state = await m1.getState();
    const cursor = JSON.parse(JSON.stringify(src1.state()));
    m1.dispose();
    for (let i = 0; i < 2; i++) for (const n of Object.keys(want[i]!)) expect(head[i]![n]).toBeCloseTo(want[i]![n]!, 5);

    const m2 = createModel(kind, { ...o, seed: 99 }); // different init: everything must come from the state
    await m2.setState(state);
    expect(m2.step).toBe(2);
    const src2 = source(kind, o);
    src2.restore(cursor);
    const tail = steps(m2, src2, 2);
    for (let i = 0; i < 2; i++) {
      for (const n of Object.keys(want[i + 2]!)) expect(Math.abs(tail[i]![n]! - want[i + 2]![n]!)).toBeLessThan(1e-5);
    }
    const n0 = tf.memory().numTensors;
    m2.dispose();
    expect(tf.memory().numTensors).toBeLessThan(n0);
  });
});

describe('options and schedules', () => {
  it('resolves defaults and rejects bad options with the key named', () => {
    const r = resolveOptions('pix2pix', {});
    expect(r.lambdaL1).toBe(100);
    expect(r.lr).toBe(2e-4);
    expect(r.beta1).toBe(0.5);
    expect(resolveOptions('cyclegan', {}).lrPolicy).toBe('linear');
    expect(resolveOptions('cyclegan', {}).lambdaIdentity).toBe(0.5);
    expect(() => resolveOptions('pix2pix', { lambdaL1: 'x' })).toThrow(/lambdaL1/);
    expect(() => resolveOptions('nope', {})).toThrow(/Unknown model/);
    for (const e of Object.values(MODELS)) for (const s of e.options) expect(s.description.length).toBeGreaterThan(5);
  });

  it('LR policies', () => {
    const s = { lr: 1, totalSteps: 100, decayStart: 0.5, stepSize: 10, gamma: 0.5 };
    expect(lrAt(70, { ...s, policy: 'constant' })).toBe(1);
    expect(lrAt(49, { ...s, policy: 'linear' })).toBe(1);
    expect(lrAt(75, { ...s, policy: 'linear' })).toBeCloseTo(0.5);
    expect(lrAt(25, { ...s, policy: 'step' })).toBeCloseTo(0.25);
    expect(lrAt(50, { ...s, policy: 'cosine' })).toBeCloseTo(0.5);
    expect(lrAt(100, { ...s, policy: 'cosine' })).toBeCloseTo(0);
  });

  it('image pool: fills, then swaps about half the time', () => {
    const pool = new ImagePool(2);
    const rng = new Rng(1);
    const img = (v: number) => tf.fill([1, 2, 2, 1], v) as tf.Tensor4D;
    const seen: number[] = [];
    for (let i = 0; i < 40; i++) {
      const x = img(i);
      const y = pool.query(x, rng);
      seen.push(y.dataSync()[0]!);
      tf.dispose([x, y]);
    }
    expect(seen.slice(0, 2)).toEqual([0, 1]);
    const old = seen.slice(2).filter((v, i) => v !== i + 2).length;
    expect(old).toBeGreaterThan(8);
    expect(old).toBeLessThan(32);
  });
});

describe('variants', () => {
  it.each([
    ['pix2pix', { size: 16, ngf: 4, ndf: 4, netG: 'resnet', netD: 'pixel', ganMode: 'lsgan', reconLoss: 'l2', norm: 'instance', lrPolicy: 'cosine' }],
    ['pix2pix', { size: 16, ngf: 4, ndf: 4, norm: 'none', dropout: false, unetDepth: 3, lrPolicy: 'step', lrStepSize: 1 }],
    ['cyclegan', { size: 16, ngf: 4, ndf: 4, netG: 'unet', lambdaIdentity: 0, poolSize: 0, ganMode: 'vanilla' }],
    ['cyclegan', { size: 16, ngf: 4, ndf: 4, blocks: 1, upsample: 'resize', norm: 'batch' }],
    ['autoencoder', { size: 32, latent: 3, ngf: 4, norm: 'batch', batchSize: 2 }],
  ] as const)('%s %j: two finite steps, tensors flat, LR follows the schedule', (kind, o) => {
    const m = createModel(kind, o as Record<string, unknown>);
    m.totalSteps = 4;
    const src = source(kind, { channels: 3, ...o });
    steps(m, src, 1);
    m.setInput(src.next());
    const before = tf.memory().numTensors;
    const lr = m.learningRate();
    const l = m.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    for (const v of Object.values(l)) expect(Number.isFinite(v)).toBe(true);
    const opt = Object.values(m.optimizers)[0] as unknown as { learningRate: number };
    expect(opt.learningRate).toBeCloseTo(lr, 12);
    if ((o as { lrPolicy?: string }).lrPolicy === 'step') expect(lr).toBeCloseTo(2e-5, 10);
    m.dispose();
  });
});
