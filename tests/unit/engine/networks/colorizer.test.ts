/**
 * The colouriser generator (networks/colorizer.ts, layers/chroma-to-rgb.ts): grey in, colour out,
 * the input kept as the luminance, chroma at a reduced resolution; exports to ONNX with parity at
 * two sizes and translates at native size in both runtimes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { chromaToRgb, YCBCR_TO_RGB } from '../../../../src/main/engine/layers';
import { colorizerGenerator, loadModelFromDir, saveModelToDir } from '../../../../src/main/engine/networks';
import { exportOnnx } from '../../../../src/main/engine/export/onnx-export';
import { InferenceModel } from '../../../../src/main/engine/infer/model';
import { translateImage } from '../../../../src/main/engine/infer/ops';
import { randomizeBatchNorm } from '../export/models';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-colorizer-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** BT.709 luminance of an RGB tensor (what the grey input is made with). */
const luma = (rgb: tf.Tensor4D): tf.Tensor4D =>
  tf.tidy(() => {
    const [r, g, b] = tf.split(rgb, 3, 3);
    return tf.addN([tf.mul(r!, 0.2126), tf.mul(g!, 0.7152), tf.mul(b!, 0.0722)]) as tf.Tensor4D;
  });

const grey = (n: number, h: number, w: number, seed = 1): tf.Tensor4D => tf.randomUniform([n, h, w, 1], -0.8, 0.8, 'float32', seed);

describe('ChromaToRgb', () => {
  it('zero chroma gives back the grey input in R, G and B; any chroma keeps its BT.709 luminance', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const y = grey(2, 5, 7);
      const same = chromaToRgb(y, tf.zeros([2, 5, 7, 2]));
      expect(tf.max(tf.abs(tf.sub(same, tf.tile(y, [1, 1, 1, 3])))).dataSync()[0]).toBe(0);
      // Small chroma (no clipping): luminance unchanged to the matrix's 4 decimals.
      const c = tf.randomUniform([2, 5, 7, 2], -0.1, 0.1, 'float32', 2) as tf.Tensor4D;
      const rgb = chromaToRgb(tf.mul(y, 0.5) as tf.Tensor4D, c);
      expect(tf.max(tf.abs(tf.sub(luma(rgb), tf.mul(y, 0.5)))).dataSync()[0]).toBeLessThan(1e-3);
      // Chroma changes colour: Cr' = 0.2 raises R by 1.5748 * 0.2.
      const red = chromaToRgb(tf.zeros([1, 1, 1, 1]), tf.tensor4d([0, 0.2], [1, 1, 1, 2]));
      const px = Array.from(red.dataSync());
      expect(px[0]).toBeCloseTo(YCBCR_TO_RGB[0]![2] * 0.2, 6);
      expect(px[2]).toBeCloseTo(0, 6);
      // Clipped to the model range.
      const hot = chromaToRgb(tf.ones([1, 1, 1, 1]), tf.tensor4d([1, 1], [1, 1, 1, 2]));
      expect(tf.max(tf.abs(hot)).dataSync()[0]).toBeLessThanOrEqual(1);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('colorizerGenerator', () => {
  it('maps [B, S, S, 1] to [B, S, S, 3] with chroma at S / chromaScale; output luminance = input', () => {
    for (const chromaScale of [1, 2, 4]) {
      const g = colorizerGenerator({ size: 16, ngf: 4, norm: 'batch', dropout: true, chromaScale, seed: 3 });
      // The layer that makes the chroma: the tanh itself at full resolution, else a bilinear up-sampling of it.
      const head = g.layers.find((l) => l.getClassName() === 'ChromaToRgb')!;
      const src = head.inboundNodes[0]!.inputTensors[1]!.sourceLayer;
      if (chromaScale === 1) expect(src.getClassName()).toBe('Activation');
      else {
        expect(src.getClassName()).toBe('UpSampling2D');
        expect((src.inboundNodes[0]!.inputTensors[0]!.shape as number[]).slice(1)).toEqual([16 / chromaScale, 16 / chromaScale, 2]);
      }
      // The decoder up-samples by resize + conv: no transposed convolution anywhere.
      expect(g.layers.some((l) => l.getClassName() === 'Conv2DTranspose')).toBe(false);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.mul(grey(2, 16, 16), 0.3) as tf.Tensor4D;
        const y = g.apply(x, { training: false }) as tf.Tensor4D;
        expect(y.shape).toEqual([2, 16, 16, 3]);
        expect(tf.max(tf.abs(tf.sub(luma(y), x))).dataSync()[0]).toBeLessThan(1e-3);
      });
      expect(tf.memory().numTensors).toBe(before);
      g.dispose();
    }
  });

  it('refuses a chroma scale that is not a power of two within the U-Net depth', () => {
    expect(() => colorizerGenerator({ size: 16, ngf: 4, norm: 'batch', dropout: false, chromaScale: 3, seed: 1 })).toThrow(/outputScale/);
    expect(() => colorizerGenerator({ size: 16, ngf: 4, norm: 'batch', dropout: false, chromaScale: 16, seed: 1 })).toThrow(/outputScale/);
  });

  it('saves and loads (ChromaToRgb is registered) with the same outputs', async () => {
    const g = colorizerGenerator({ size: 16, ngf: 4, norm: 'batch', dropout: true, chromaScale: 2, seed: 5 });
    randomizeBatchNorm(g);
    await saveModelToDir(g, path.join(dir, 'g'));
    const h = await loadModelFromDir(path.join(dir, 'g'));
    const d = tf.tidy(() => {
      const x = grey(1, 16, 16, 9);
      return tf.max(tf.abs(tf.sub(g.predict(x) as tf.Tensor, h.predict(x) as tf.Tensor))).dataSync()[0]!;
    });
    expect(d).toBe(0);
    g.dispose();
    h.dispose();
  });
});

describe('colorizer export and native-size translation', () => {
  for (const chromaScale of [1, 2]) {
    it(`exports with dynamic height/width and parity < 1e-4 at two sizes (chromaScale ${chromaScale})`, async () => {
      const g = colorizerGenerator({ size: 16, ngf: 4, norm: 'batch', dropout: true, chromaScale, seed: 7 });
      randomizeBatchNorm(g);
      const r = await exportOnnx({ kind: 'pix2pix', name: 'col', generator: g, imageSize: 16, channels: 3, inChannels: 1 }, path.join(dir, `col${chromaScale}.onnx`));
      expect(r.inputs[0]!.shape).toEqual(['batch', 1, 'height', 'width']);
      expect(r.outputs[0]!.shape).toEqual(['batch', 3, 'height', 'width']);
      expect(r.parity.sizes).toEqual([
        [16, 16],
        [32, 48],
      ]);
      expect(r.parity.maxAbsDiff).toBeLessThan(1e-4);
      expect(r.pass).toBe(true);
      g.dispose();
    });
  }

  it('translates a colour photo at its own size in both runtimes (same pixels), untiled and tiled, without leaks', async () => {
    const g = colorizerGenerator({ size: 16, ngf: 4, norm: 'batch', dropout: true, chromaScale: 2, seed: 11 });
    randomizeBatchNorm(g);
    const src = { kind: 'pix2pix' as const, name: 'col', generator: g, imageSize: 16, channels: 3, inChannels: 1 };
    const onnx = InferenceModel.fromSource(src, 'onnx');
    const tfjs = InferenceModel.fromSource(src, 'tfjs');
    const px = Buffer.alloc(75 * 41 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 37 + Math.floor(i / 225) * 11) % 256;
    const input = await sharp(px, { raw: { width: 75, height: 41, channels: 3 } }).png().toBuffer();
    const a = await translateImage(onnx, input);
    await translateImage(tfjs, input); // warm: the first call builds kernels
    const before = tf.memory().numTensors;
    const b = await translateImage(tfjs, input);
    expect(tf.memory().numTensors).toBe(before);
    const t = await translateImage(onnx, input, { tile: 32, overlap: 8 });
    expect([a.width, a.height, b.width, b.height, t.width, t.height]).toEqual([75, 41, 75, 41, 75, 41]);
    expect(t.tiles).toBeGreaterThan(1);
    const ra = await sharp(a.png).raw().toBuffer({ resolveWithObject: true });
    const rb = await sharp(b.png).raw().toBuffer();
    const rt = await sharp(t.png).raw().toBuffer();
    expect(ra.info.channels).toBe(3);
    let maxAB = 0;
    let sumAT = 0;
    for (let i = 0; i < ra.data.length; i++) {
      maxAB = Math.max(maxAB, Math.abs(ra.data[i]! - rb[i]!));
      sumAT += Math.abs(ra.data[i]! - rt[i]!);
    }
    expect(maxAB).toBeLessThanOrEqual(1);
    expect(sumAT / ra.data.length).toBeLessThan(2);
    await onnx.dispose();
    await tfjs.dispose();
    g.dispose();
  });
});
