import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf, initBackend } from '../../../../src/main/engine/backend';
import { buildOnnx, checkParity, exportOnnx, parityOf, PARITY_THRESHOLD, type ExportSource } from '../../../../src/main/engine/export/onnx-export';
import { decodeModel, encodeModel, ONNX_OPSET } from '../../../../src/main/engine/export/onnx-proto';
import { createSession, floatTensor, int64Tensor } from '../../../../src/main/engine/export/ort';
import { samePads, permute } from '../../../../src/main/engine/export/tfjs-to-onnx';
import { StudioError } from '../../../../src/shared/errors';
import { tinyAutoencoder, tinyCgan, tinyDcgan, tinyResnet, tinyUnet } from './models';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-onnx-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const src = (over: Partial<ExportSource>): ExportSource => ({ kind: 'pix2pix', name: 'test', imageSize: 16, channels: 3, ...over });

async function parity(s: ExportSource): Promise<number> {
  let worst = 0;
  for (const b of buildOnnx(s)) worst = Math.max(worst, (await parityOf(b, 2, 99, s.classNames?.length ?? 10)).maxAbsDiff);
  return worst;
}

describe('helpers', () => {
  it('computes TF same padding with the extra pixel at the end', () => {
    expect(samePads(16, 4, 2)).toEqual([1, 1]);
    expect(samePads(15, 3, 2)).toEqual([1, 1]);
    expect(samePads(16, 3, 2)).toEqual([0, 1]);
    expect(samePads(5, 1, 1)).toEqual([0, 0]);
    expect(samePads(7, 3, 1, 2)).toEqual([2, 2]);
  });
  it('permutes like numpy transpose', () => {
    const d = Float32Array.from({ length: 24 }, (_, i) => i);
    const p = permute(d, [2, 3, 4], [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    // out[k][i][j] = in[i][j][k]
    expect(p.data[1 * 6 + 1 * 3 + 2]).toBe(1 * 12 + 2 * 4 + 1);
  });
});

describe('ONNX export parity (onnxruntime vs tfjs, < 1e-4)', () => {
  it('U-Net-like: strided conv, BN, leaky, transposed conv, dropout, skip concat', async () => {
    const m = tinyUnet();
    const d = await parity(src({ generator: m }));
    expect(d).toBeLessThan(PARITY_THRESHOLD);
    m.dispose();
  });

  it('ResNet-like: reflection pad, instance norm, residual add, transposed conv, resize-conv', async () => {
    const m = tinyResnet();
    const d = await parity(src({ kind: 'cyclegan', generator: m }));
    expect(d).toBeLessThan(PARITY_THRESHOLD);
    m.dispose();
  });

  it('DCGAN: dense + reshape (NHWC order) + BN + transposed convs', async () => {
    const m = tinyDcgan();
    const d = await parity(src({ kind: 'gan', generator: m, latentSize: 8 }));
    expect(d).toBeLessThan(PARITY_THRESHOLD);
    m.dispose();
  });

  it('conditional DCGAN: embedding + flatten + concat, bilinear resize, int64 label', async () => {
    const m = tinyCgan();
    const s = src({ kind: 'cgan', generator: m, latentSize: 8, channels: 1, classNames: 'abcdefghij'.split('') });
    const [b] = buildOnnx(s);
    expect(b!.inputs.map((i) => [i.name, i.dtype])).toEqual([['z', 'float32'], ['label', 'int64']]);
    expect(await parity(s)).toBeLessThan(PARITY_THRESHOLD);
    m.dispose();
  });

  it('autoencoder: encoder (flatten of NHWC) and decoder, composed and separate', async () => {
    const { encoder, decoder } = tinyAutoencoder();
    const s = src({ kind: 'autoencoder', encoder, decoder, channels: 1, latentSize: 4 });
    const builds = buildOnnx(s);
    expect(builds.map((b) => b.role)).toEqual(['model', 'encoder', 'decoder']);
    expect(builds[1]!.outputs[0]!.name).toBe('z');
    expect(await parity(s)).toBeLessThan(PARITY_THRESHOLD);
    encoder.dispose();
    decoder.dispose();
  });

  it('odd sizes: same padding asymmetry, valid transposed conv, k < stride, dilation, pooling', async () => {
    const L = tf.layers;
    const x = tf.input({ shape: [9, 11, 2] });
    let h = L.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }).apply(x) as tfTypes.SymbolicTensor;
    h = L.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'elu' }).apply(h) as tfTypes.SymbolicTensor;
    h = L.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'valid' }).apply(h) as tfTypes.SymbolicTensor;
    h = L.conv2dTranspose({ filters: 2, kernelSize: 1, strides: 2, padding: 'same' }).apply(h) as tfTypes.SymbolicTensor;
    h = L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(h) as tfTypes.SymbolicTensor;
    h = L.averagePooling2d({ poolSize: 2, padding: 'same' }).apply(h) as tfTypes.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: h });
    const d = await parity(src({ generator: m, channels: 2 }));
    expect(d).toBeLessThan(PARITY_THRESHOLD);
    m.dispose();
  });

  it('Sequential models and nested models (a sub-model used as a layer) are inlined', async () => {
    const L = tf.layers;
    const block = tf.sequential({ layers: [L.conv2d({ inputShape: [8, 8, 4], filters: 4, kernelSize: 3, padding: 'same' }), L.leakyReLU({ alpha: 0.1 })] });
    const x = tf.input({ shape: [8, 8, 2] });
    let h = L.conv2d({ filters: 4, kernelSize: 1 }).apply(x) as tfTypes.SymbolicTensor;
    h = block.apply(h) as tfTypes.SymbolicTensor;
    h = block.apply(h) as tfTypes.SymbolicTensor; // shared twice
    const y = L.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(h) as tfTypes.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: y });
    expect(await parity(src({ generator: m, channels: 2, imageSize: 8 }))).toBeLessThan(PARITY_THRESHOLD);
    const seq = tf.sequential({ layers: [L.dense({ inputShape: [6], units: 32, activation: 'relu' }), L.reshape({ targetShape: [4, 4, 2] }), L.upSampling2d({ size: [2, 2] }), L.conv2d({ filters: 1, kernelSize: 3, padding: 'same' })] });
    expect(await parity(src({ kind: 'gan', generator: seq, channels: 1, imageSize: 8 }))).toBeLessThan(PARITY_THRESHOLD);
    m.dispose();
    seq.dispose();
  });

  it('transposed convolutions: phase decomposition (default) and native ConvTranspose both match tfjs', async () => {
    const L = tf.layers;
    const x = tf.input({ shape: [5, 6, 3] });
    let h = L.conv2dTranspose({ filters: 4, kernelSize: 4, strides: 2, padding: 'same' }).apply(x) as tfTypes.SymbolicTensor; // 10x12
    h = L.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(h) as tfTypes.SymbolicTensor; // asymmetric crop
    h = L.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(h) as tfTypes.SymbolicTensor; // odd size: sliced
    h = L.conv2dTranspose({ filters: 2, kernelSize: [5, 3], strides: 3, padding: 'same' }).apply(h) as tfTypes.SymbolicTensor; // stride 3, non-square kernel
    const m = tf.model({ inputs: x, outputs: h });
    const s = src({ generator: m, channels: 2, imageSize: 5 });
    for (const mode of ['phase', 'native'] as const) {
      const [b] = buildOnnx(s, { transposedConv: mode });
      const ops = new Set(b!.model.graph.nodes.map((n) => n.opType));
      expect(ops.has('ConvTranspose')).toBe(mode === 'native');
      expect(ops.has('DepthToSpace')).toBe(mode === 'phase');
      expect((await parityOf(b!, 2, 5)).maxAbsDiff).toBeLessThan(PARITY_THRESHOLD);
    }
    m.dispose();
  });
});

describe('files, reader and metadata', () => {
  it('writes the model and the sidecar; the reader sees names, opset 17, dynamic batch, metadata', async () => {
    const m = tinyCgan();
    const file = path.join(dir, 'digits.onnx');
    const res = await exportOnnx(src({ kind: 'cgan', name: 'digits', generator: m, latentSize: 8, channels: 1, classNames: '0123456789'.split(''), training: { steps: 10 } }), file);
    expect(res.pass).toBe(true);
    expect(res.parity.maxAbsDiff).toBeLessThan(PARITY_THRESHOLD);
    const model = decodeModel(new Uint8Array(fs.readFileSync(file)));
    expect(model.opsets).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(model.opsets[0]!.version).toBe(17);
    expect(model.graph.inputs.map((i) => i.name)).toEqual(['z', 'label']);
    expect(model.graph.inputs[0]!.shape).toEqual(['batch', 8]);
    expect(model.graph.inputs[1]!.shape).toEqual(['batch']);
    expect(model.graph.inputs[1]!.elemType).toBe(7);
    expect(model.graph.outputs.map((o) => [o.name, o.shape])).toEqual([['output', ['batch', 1, 16, 16]]]);
    expect(model.metadata['Image.NominalPixelRange']).toBe('Normalized_1_1');
    expect(model.metadata['Image.BitmapPixelFormat']).toBe('Gray8');
    expect(model.metadata['atelier.kind']).toBe('cgan');
    expect(model.metadata['atelier.latentSize']).toBe('8');
    expect(JSON.parse(model.metadata['atelier.classNames']!)).toHaveLength(10);
    expect(JSON.parse(model.metadata['atelier.training']!)).toEqual({ steps: 10 });
    const side = JSON.parse(fs.readFileSync(path.join(dir, 'digits.json'), 'utf8'));
    expect(side).toMatchObject({ format: 'atelier-onnx', kind: 'cgan', imageSize: 16, channels: 1, latentSize: 8, pixelFormat: 'Gray8', dropout: 'identity' });
    expect(side.parity.pass).toBe(true);
    expect(side.inputs[1]).toEqual({ name: 'label', dtype: 'int64', shape: ['batch'] });
    m.dispose();
  });

  it('translator input is `input` NCHW, RGB metadata; keep-dropout is explicit and parity is measured without it', async () => {
    const m = tinyUnet();
    const file = path.join(dir, 'unet.onnx');
    const res = await exportOnnx(src({ generator: m, dropout: 'keep' }), file);
    const model = decodeModel(new Uint8Array(fs.readFileSync(file)));
    // Translators declare dynamic height and width (DESIGN.md §3).
    expect(model.graph.inputs.map((i) => [i.name, i.shape])).toEqual([['input', ['batch', 3, 'height', 'width']]]);
    expect(model.metadata['Image.BitmapPixelFormat']).toBe('Rgb8');
    expect(model.metadata['atelier.dropout']).toBe('keep');
    expect(model.graph.nodes.some((n) => n.opType === 'Dropout')).toBe(true);
    expect(res.parity.note).toMatch(/identity/);
    expect(res.pass).toBe(true);
    const plain = buildOnnx(src({ generator: m }))[0]!;
    expect(plain.model.graph.nodes.some((n) => n.opType === 'Dropout')).toBe(false);
    m.dispose();
  });

  it('a soft-label variant of a cGAN equals the index graph for one-hot labels and blends embeddings', async () => {
    const m = tinyCgan();
    const s = src({ kind: 'cgan', generator: m, latentSize: 8, channels: 1 });
    // Make class 5's embedding the midpoint of classes 1 and 2: a soft label of half 1, half 2
    // must then give exactly what the index graph gives for class 5.
    const embedding = m.layers.find((l) => l.getClassName() === 'Embedding')!;
    const E = Array.from(embedding.getWeights()[0]!.arraySync() as number[][]);
    E[5] = E[1]!.map((v, j) => (v + E[2]![j]!) / 2);
    embedding.setWeights([tf.tensor2d(E)]);
    const soft = buildOnnx(s, { labelMode: 'soft' })[0]!;
    expect(soft.inputs[1]).toEqual({ name: 'label', dtype: 'float32', shape: ['batch', 10] });
    const index = buildOnnx(s)[0]!;
    expect(index.inputs[1]).toMatchObject({ name: 'label', dtype: 'int64' });
    const softSession = await createSession(encodeModel(soft.model));
    const indexSession = await createSession(encodeModel(index.model));
    const batch = 4;
    const z = Float32Array.from({ length: batch * 8 }, (_, i) => Math.sin(i * 1.7));
    const classes = [0, 3, 9, 5];
    const oneHot = new Float32Array(batch * 10);
    classes.forEach((c, b) => (oneHot[b * 10 + c] = 1));
    const run = async (session: Awaited<ReturnType<typeof createSession>>, label: ReturnType<typeof floatTensor>) =>
      (await session.run({ z: floatTensor(z, [batch, 8]), label })).output!.data as Float32Array;
    const byIndex = await run(indexSession, int64Tensor(classes, [batch]));
    const byOneHot = await run(softSession, floatTensor(oneHot, [batch, 10]));
    expect(byIndex.length).toBe(batch * 16 * 16);
    expect(maxDiff(byOneHot, byIndex)).toBeLessThan(1e-5);
    // And both equal tfjs on the same inputs (the index graph is the parity-checked one).
    const want = tf.tidy(() => (m.predict([tf.tensor2d(z, [batch, 8]), tf.tensor2d(classes, [batch, 1])]) as tfTypes.Tensor).transpose([0, 3, 1, 2]).dataSync());
    expect(maxDiff(byIndex, want as Float32Array)).toBeLessThan(1e-4);
    // Half class 1, half class 2 in every row: the blended embedding, i.e. class 5's output.
    const half = new Float32Array(batch * 10);
    for (let b = 0; b < batch; b++) half[b * 10 + 1] = half[b * 10 + 2] = 0.5;
    const blended = await run(softSession, floatTensor(half, [batch, 10]));
    const fives = await run(indexSession, int64Tensor([5, 5, 5, 5], [batch]));
    expect(maxDiff(blended, fives)).toBeLessThan(1e-5);
    // ...which is neither pure class (the blend did something).
    expect(maxDiff(blended, await run(indexSession, int64Tensor([1, 1, 1, 1], [batch])))).toBeGreaterThan(1e-3);
    await softSession.release();
    await indexSession.release();
    m.dispose();
  });
});

describe('bad cases', () => {
  it('parity fails (and says so) when the ONNX graph and the tfjs model differ', async () => {
    const m = tinyDcgan();
    const s = src({ kind: 'gan', generator: m });
    const builds = buildOnnx(s);
    const dense = m.layers.find((l) => l.getClassName() === 'Dense')!;
    const w = dense.getWeights();
    dense.setWeights(w.map((t) => t.mul(1.01)));
    const rep = await checkParity(builds, s, () => 'x.onnx');
    expect(rep.pass).toBe(false);
    expect(rep.maxAbsDiff).toBeGreaterThan(PARITY_THRESHOLD);
    expect(rep.files[0]).toMatchObject({ file: 'x.onnx', pass: false });
    m.dispose();
  });


  it('an unsupported layer fails with a clear error naming the layer and its class', () => {
    const x = tf.input({ shape: [8, 8, 3] });
    const y = tf.layers.layerNormalization({ name: 'ln_odd' }).apply(x) as tfTypes.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: y });
    let err: unknown;
    try {
      buildOnnx(src({ generator: m, imageSize: 8 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StudioError);
    expect((err as StudioError).code).toBe('BAD_INPUT');
    expect((err as StudioError).message).toMatch(/layer "ln_odd" \(class LayerNormalization\)/);
    m.dispose();
  });

  it('an unsupported activation is named', () => {
    const x = tf.input({ shape: [4] });
    const y = tf.layers.dense({ units: 2, activation: 'gelu' as never, name: 'dg' }).apply(x) as tfTypes.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: y });
    expect(() => buildOnnx(src({ kind: 'gan', generator: m }))).toThrow(/activation "gelu"/);
    m.dispose();
  });

  it('conversion and parity do not leak tensors', async () => {
    const m = tinyDcgan();
    const s = src({ kind: 'gan', generator: m });
    await parity(s);
    const before = tf.memory().numTensors;
    await parity(s);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});
