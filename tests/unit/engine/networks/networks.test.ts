import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import {
  autoencoderNetworks,
  dcganDiscriminator,
  dcganGenerator,
  patchGanDiscriminator,
  patchReceptiveField,
  pixelDiscriminator,
  resnetGenerator,
  unetGenerator,
  deserializeModel,
  serializeModel,
} from '../../../../src/main/engine/networks';
import { useTestBackend } from '../layers/test-backend';

beforeAll(async () => {
  await useTestBackend();
});

const outShape = (m: tf.LayersModel) => (m.outputs[0]!.shape as number[]).slice(1);
const countClass = (m: tf.LayersModel, cls: string) => m.layers.filter((l) => l.getClassName() === cls).length;

function run(m: tf.LayersModel, x: tf.Tensor | tf.Tensor[]): number[] {
  const y = m.predict(x) as tf.Tensor;
  const s = y.shape;
  const v = y.dataSync();
  for (const a of v) expect(Number.isFinite(a)).toBe(true);
  y.dispose();
  return s;
}

describe('U-Net', () => {
  it('16 px: depth 4 down to 1x1, skips, 3 dropout blocks, tanh range', () => {
    const g = unetGenerator({ size: 16, inChannels: 3, outChannels: 3, ngf: 4, norm: 'batch', dropout: true, seed: 1 });
    expect(outShape(g)).toEqual([16, 16, 3]);
    expect(countClass(g, 'Dropout')).toBe(3);
    expect(countClass(g, 'Concatenate')).toBe(3);
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 1);
    const y = g.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 16, 16, 3]);
    expect(y.max().dataSync()[0]).toBeLessThanOrEqual(1);
    tf.dispose([x, y]);
    g.dispose();
  });
  it('256 px: 8 levels, bottleneck 1x1 x 8ngf (symbolic)', () => {
    const g = unetGenerator({ size: 256, inChannels: 3, outChannels: 3, ngf: 8, norm: 'instance', dropout: true, seed: 1 });
    expect(outShape(g)).toEqual([256, 256, 3]);
    const shapes = g.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => (l.output as tf.SymbolicTensor).shape.slice(1));
    expect(shapes.length).toBe(8);
    expect(shapes[7]).toEqual([1, 1, 64]);
    expect(countClass(g, 'InstanceNormalization')).toBe(6 + 7);
    g.dispose();
  });
  it('init is N(0, 0.02)', () => {
    const g = unetGenerator({ size: 32, inChannels: 3, outChannels: 3, ngf: 16, norm: 'batch', dropout: false, seed: 3 });
    const k = g.layers.find((l) => l.getClassName() === 'Conv2D' && l.countParams() > 5000)!.getWeights()[0]!;
    const { mean, variance } = tf.moments(k);
    expect(Math.abs(mean.dataSync()[0]!)).toBeLessThan(0.002);
    expect(Math.sqrt(variance.dataSync()[0]!)).toBeGreaterThan(0.017);
    expect(Math.sqrt(variance.dataSync()[0]!)).toBeLessThan(0.023);
    tf.dispose([mean, variance]);
    g.dispose();
  });
});

describe('ResNet generator', () => {
  it('16 px with transpose conv and 2 blocks; default blocks 6 <= 128 px, 9 at 256 px', () => {
    const g = resnetGenerator({ size: 16, inChannels: 3, outChannels: 3, ngf: 4, norm: 'instance', blocks: 2, upsample: 'transpose', seed: 1 });
    expect(run(g, tf.zeros([1, 16, 16, 3]))).toEqual([1, 16, 16, 3]);
    expect(countClass(g, 'ReflectionPadding2D')).toBe(2 + 2 * 2);
    g.dispose();
    const r = resnetGenerator({ size: 16, inChannels: 1, outChannels: 3, ngf: 4, norm: 'instance', blocks: 1, upsample: 'resize', seed: 1 });
    expect(run(r, tf.ones([1, 16, 16, 1]))).toEqual([1, 16, 16, 3]);
    expect(countClass(r, 'UpSampling2D')).toBe(2);
    r.dispose();
    const big = resnetGenerator({ size: 256, inChannels: 3, outChannels: 3, ngf: 4, norm: 'instance', upsample: 'transpose', seed: 1 });
    expect(countClass(big, 'Add')).toBe(9);
    big.dispose();
    const mid = resnetGenerator({ size: 128, inChannels: 3, outChannels: 3, ngf: 4, norm: 'instance', upsample: 'transpose', seed: 1 });
    expect(countClass(mid, 'Add')).toBe(6);
    mid.dispose();
  });
});

describe('discriminators', () => {
  it('PatchGAN: 30x30 logits with a 70x70 receptive field at 256 px', () => {
    expect(patchReceptiveField(3)).toBe(70);
    const d = patchGanDiscriminator({ size: 256, inChannels: 6, ndf: 4, norm: 'batch', seed: 1 });
    expect(outShape(d)).toEqual([30, 30, 1]);
    d.dispose();
  });
  it('PatchGAN: one output sees exactly 70 input columns (gradient support)', () => {
    const d = patchGanDiscriminator({ size: 128, inChannels: 1, ndf: 2, nLayers: 3, norm: 'none', seed: 2 });
    const x = tf.randomNormal([1, 128, 128, 1], 0, 1, 'float32', 1);
    const g = tf.grad((t: tf.Tensor) => tf.slice(d.apply(t) as tf.Tensor4D, [0, 7, 7, 0], [1, 1, 1, 1]).sum())(x);
    const col = tf.abs(g).sum([0, 1, 3]).dataSync();
    const nz = Array.from(col).map((v, i) => (v > 0 ? i : -1)).filter((i) => i >= 0);
    expect(nz[nz.length - 1]! - nz[0]! + 1).toBeLessThanOrEqual(70);
    expect(nz[nz.length - 1]! - nz[0]! + 1).toBeGreaterThan(60);
    tf.dispose([x, g]);
    d.dispose();
  });
  it('PatchGAN scales its depth down for small images; pixel D is per pixel', () => {
    const d = patchGanDiscriminator({ size: 16, inChannels: 6, ndf: 4, norm: 'batch', seed: 1 });
    expect(run(d, tf.zeros([2, 16, 16, 6]))).toEqual([2, 2, 2, 1]);
    d.dispose();
    const p = pixelDiscriminator({ size: 16, inChannels: 3, ndf: 4, norm: 'batch', seed: 1 });
    expect(run(p, tf.zeros([1, 16, 16, 3]))).toEqual([1, 16, 16, 1]);
    p.dispose();
  });
});

describe('DCGAN', () => {
  it('unconditional G and D (logits)', () => {
    const o = { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, numClasses: 0, seed: 1 };
    const g = dcganGenerator(o);
    const d = dcganDiscriminator(o);
    expect(run(g, tf.randomNormal([3, 8]))).toEqual([3, 16, 16, 1]);
    expect(run(d, tf.zeros([3, 16, 16, 1]))).toEqual([3, 1]);
    g.dispose();
    d.dispose();
  });
  it('conditional: label embedding into G, projection in D; the label changes the output', () => {
    const o = { size: 16, channels: 3, nz: 8, ngf: 4, ndf: 4, numClasses: 5, seed: 1 };
    const g = dcganGenerator(o);
    const d = dcganDiscriminator(o);
    expect(g.inputs.length).toBe(2);
    const z = tf.randomNormal([2, 8], 0, 1, 'float32', 9);
    const y0 = g.predict([z, tf.tensor2d([[0], [0]], [2, 1], 'int32')]) as tf.Tensor;
    const y1 = g.predict([z, tf.tensor2d([[3], [3]], [2, 1], 'int32')]) as tf.Tensor;
    expect(y0.shape).toEqual([2, 16, 16, 3]);
    expect(tf.sub(y0, y1).abs().max().dataSync()[0]).toBeGreaterThan(0);
    const l0 = d.predict([y0, tf.tensor2d([[0], [0]], [2, 1], 'int32')]) as tf.Tensor;
    const l1 = d.predict([y0, tf.tensor2d([[4], [4]], [2, 1], 'int32')]) as tf.Tensor;
    expect(l0.shape).toEqual([2, 1]);
    expect(tf.sub(l0, l1).abs().max().dataSync()[0]).toBeGreaterThan(0);
    g.dispose();
    d.dispose();
  });
});

describe('autoencoder', () => {
  it('separate encoder and decoder models, latent size as chosen, serialisable', async () => {
    const { encoder, decoder } = autoencoderNetworks({ size: 32, channels: 3, latent: 7, ngf: 4, norm: 'batch', seed: 1 });
    expect(outShape(encoder)).toEqual([7]);
    expect(outShape(decoder)).toEqual([32, 32, 3]);
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 1);
    const z = encoder.predict(x) as tf.Tensor;
    expect(z.shape).toEqual([2, 7]);
    const y = decoder.predict(z) as tf.Tensor;
    expect(y.shape).toEqual([2, 32, 32, 3]);
    const back = await deserializeModel(await serializeModel(decoder));
    const y2 = back.predict(z) as tf.Tensor;
    expect(tf.sub(y, y2).abs().max().dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, z, y, y2]);
    encoder.dispose();
    decoder.dispose();
    back.dispose();
  });
});
