import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { InferenceModel } from '../../../../src/main/engine/infer/model';
import { generateImages, interpolateLatent, latentDirections, renderLatent, translateFolder, translateImage } from '../../../../src/main/engine/infer/ops';
import { exportOnnx } from '../../../../src/main/engine/export/onnx-export';
import { imageToModel } from '../../../../src/main/engine/infer/image';
import { tinyAutoencoder, tinyCgan, tinyUnet } from '../export/models';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-infer-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function png(w: number, h: number, seed: number): Promise<Uint8Array> {
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + seed * 11) % 256;
  return new Uint8Array(await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
}

describe('translate', () => {
  it('onnx and tfjs runtimes agree; output keeps the input size by default; scale model at the model size', async () => {
    const g = tinyUnet();
    const src = { kind: 'pix2pix' as const, name: 'u', generator: g, imageSize: 16, channels: 3 };
    const onnx = InferenceModel.fromSource(src, 'onnx');
    const tfjs = InferenceModel.fromSource(src, 'tfjs');
    const input = await png(40, 24, 1);
    const x = await imageToModel(input, 16, 3);
    expect([x.width, x.height]).toEqual([40, 24]);
    const a = await onnx.translate(x.data, 1);
    const b = await tfjs.translate(x.data, 1);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    expect(max).toBeLessThan(1e-4);
    const r = await translateImage(onnx, input);
    const meta = await sharp(r.png).metadata();
    expect([meta.width, meta.height, r.width, r.height]).toEqual([40, 24, 40, 24]);
    const small = await translateImage(onnx, input, { scale: 'model', keepSize: false });
    expect([small.width, small.height]).toEqual([16, 16]);
    await onnx.dispose();
    await tfjs.dispose();
    g.dispose();
  });

  it('scale model: fit modes map the output back: contain drops the letterbox, cover gives the centre square', async () => {
    const { restoreGeometry } = await import('../../../../src/main/engine/infer/image');
    expect(restoreGeometry('fill', 16, 40, 24)).toEqual({ resizeTo: { width: 40, height: 24 } });
    expect(restoreGeometry('contain', 16, 40, 24)).toEqual({ extract: { left: 0, top: 3, width: 16, height: 10 }, resizeTo: { width: 40, height: 24 } });
    expect(restoreGeometry('cover', 16, 40, 24)).toEqual({ resizeTo: { width: 24, height: 24 } });
    const g = tinyUnet();
    const m = InferenceModel.fromSource({ kind: 'pix2pix', name: 'u', generator: g, imageSize: 16, channels: 3 });
    const input = await png(40, 24, 3);
    for (const [fit, w, h] of [['contain', 40, 24], ['cover', 24, 24]] as const) {
      const r = await translateImage(m, input, { scale: 'model', fit });
      const meta = await sharp(r.png).metadata();
      expect([meta.width, meta.height]).toEqual([w, h]);
    }
    await m.dispose();
    g.dispose();
  });

  it('a model with a layer ONNX cannot express still runs on the tfjs runtime; onnx says why not', async () => {
    const x = tf.input({ shape: [16, 16, 3] });
    const y = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(tf.layers.layerNormalization().apply(x)) as tf.SymbolicTensor;
    const g = tf.model({ inputs: x, outputs: y });
    const src = { kind: 'pix2pix' as const, name: 'ln', generator: g, imageSize: 16, channels: 3 };
    expect(() => InferenceModel.fromSource(src, 'onnx')).toThrow(/class LayerNormalization/);
    const m = InferenceModel.fromSource(src, 'tfjs');
    const r = await translateImage(m, await png(16, 16, 2));
    expect([r.width, r.height]).toEqual([16, 16]);
    await m.dispose();
    g.dispose();
  });

  it('folder: keeps names, writes PNGs, reports bad files, cancels', async () => {
    const g = tinyUnet();
    const m = InferenceModel.fromSource({ kind: 'pix2pix', name: 'u', generator: g, imageSize: 16, channels: 3 });
    const inDir = path.join(dir, 'in');
    fs.mkdirSync(inDir);
    fs.writeFileSync(path.join(inDir, 'a.png'), await png(16, 16, 1));
    fs.writeFileSync(path.join(inDir, 'b.jpg'), await sharp(await png(20, 20, 2)).jpeg().toBuffer());
    fs.writeFileSync(path.join(inDir, 'broken.png'), 'not an image');
    fs.writeFileSync(path.join(inDir, 'notes.txt'), 'skip');
    const steps: number[] = [];
    const res = await translateFolder(m, inDir, path.join(dir, 'out'), { onProgress: (d) => steps.push(d) });
    expect(res.written.map((f) => path.basename(f)).sort()).toEqual(['a.png', 'b.png']);
    expect(res.failed.map((f) => path.basename(f.file))).toEqual(['broken.png']);
    expect(steps).toEqual([1, 2, 3]);
    const cancelled = translateFolder(m, inDir, path.join(dir, 'out2'), {
      checkpoint: async () => {
        throw Object.assign(new Error('stop'), { code: 'CANCELLED' });
      },
    });
    await expect(cancelled).rejects.toThrow(/stop/);
    await m.dispose();
    g.dispose();
  });
});

describe('generate and latent tools (cgan from an exported ONNX file)', () => {
  it('generates from seeds, renders with hard labels and blends; one-hot blend equals the hard label', async () => {
    const g = tinyCgan();
    const file = path.join(dir, 'cgan.onnx');
    await exportOnnx({ kind: 'cgan', name: 'c', generator: g, imageSize: 16, channels: 1, latentSize: 8, classNames: 'abcdefghij'.split('') }, file);
    const m = await InferenceModel.fromOnnxFile(file);
    expect(m.info).toMatchObject({ kind: 'cgan', imageSize: 16, channels: 1, latentSize: 8, numClasses: 10 });
    const imgs = await generateImages(m, { seed: 5, count: 3, label: 2 });
    expect(imgs.map((i) => i.seed)).toEqual([5, 6, 7]);
    // image i alone equals image i of the batch
    const alone = await generateImages(m, { seed: 6, count: 1, label: 2 });
    expect(Buffer.from(alone[0]!.png).equals(Buffer.from(imgs[1]!.png))).toBe(true);

    const hard = await m.generate({ z: new Float32Array(8).fill(0.3), n: 1, labels: [4] });
    const oneHot = new Float32Array(10);
    oneHot[4] = 1;
    const soft = await m.generate({ z: new Float32Array(8).fill(0.3), n: 1, labelWeights: oneHot });
    let max = 0;
    for (let i = 0; i < hard.length; i++) max = Math.max(max, Math.abs(hard[i]! - soft[i]!));
    expect(max).toBeLessThan(1e-5);

    const r = await renderLatent(m, { z: { seed: 1 }, blend: { a: 1, b: 7, t: 0.5 } });
    expect([r.width, r.height, r.z.length]).toEqual([16, 16, 8]);
    const r2 = await renderLatent(m, { z: { seed: 1 }, minus: { seed: 2 }, plus: { seed: 3 }, label: 1, dims: [{ index: 0, value: 2 }] });
    expect(r2.z[0]).toBe(2);
    await expect(renderLatent(m, { z: { seed: 1 }, label: 12 })).rejects.toThrow(/Class 12/);

    const it = await interpolateLatent(m, { from: { seed: 1 }, to: { seed: 2 }, steps: 4, mode: 'slerp', label: 3 });
    expect(it.frames).toHaveLength(4);

    const dirs = await latentDirections(m, { count: 3, samples: 40, seed: 1, space: 'features' });
    expect(dirs.space).toBe('features');
    expect(dirs.directions).toHaveLength(3);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const d = dirs.directions[i]!.reduce((s, x, k) => s + x * dirs.directions[j]![k]!, 0);
        expect(d).toBeCloseTo(i === j ? 1 : 0, 6);
      }
    await m.dispose();
    g.dispose();
  });

  it('autoencoder: encode two images, interpolate, decode', async () => {
    const { encoder, decoder } = tinyAutoencoder();
    const m = InferenceModel.fromSource({ kind: 'autoencoder', name: 'ae', encoder, decoder, imageSize: 16, channels: 1 });
    expect(m.info.latentSize).toBe(4);
    const res = await interpolateLatent(m, { fromImage: await png(16, 16, 1), toImage: await png(16, 16, 9), steps: 3, mode: 'lerp' });
    expect(res.frames).toHaveLength(3);
    expect(res.z[0]).toHaveLength(4);
    // the endpoints are the encodings
    const x = await imageToModel(await png(16, 16, 1), 16, 1);
    const z = await m.encode(x.data, 1);
    res.z[0]!.forEach((v, i) => expect(v).toBeCloseTo(z[i]!, 5));
    const before = tf.memory().numTensors;
    const t = InferenceModel.fromSource({ kind: 'autoencoder', name: 'ae', encoder, decoder, imageSize: 16, channels: 1 }, 'tfjs');
    await t.encode(x.data, 1);
    await t.decode(z, 1);
    expect(tf.memory().numTensors).toBe(before);
    await m.dispose();
    encoder.dispose();
    decoder.dispose();
  });
});

describe('fast Gram product', () => {
  it('onnxruntime X X^T equals the definition', async () => {
    const { gramOrt } = await import('../../../../src/main/engine/infer/gram');
    const n = 5;
    const d = 7;
    const X = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.3));
    const G = await gramOrt(X, n, d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += X[i * d + t]! * X[j * d + t]!;
        expect(G[i * n + j]).toBeCloseTo(s, 4);
      }
  });
});
