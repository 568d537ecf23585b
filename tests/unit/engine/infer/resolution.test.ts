import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { InferenceModel } from '../../../../src/main/engine/infer/model';
import { translateImage } from '../../../../src/main/engine/infer/ops';
import { parseScale, scaleWarning, tileForBudget, workingSize } from '../../../../src/main/engine/infer/resolution';
import { buildOnnx, exportOnnx } from '../../../../src/main/engine/export/onnx-export';
import { decodeModel, encodeModel } from '../../../../src/main/engine/export/onnx-proto';
import { spatialGeometry } from '../../../../src/main/engine/export/onnx-geometry';
import { tinyAutoencoder, tinyResnet, tinyUnet } from '../export/models';

let dir: string;
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-resolution-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A photo-like test image made by code: smooth colour fields plus a few edges. */
async function photo(w: number, h: number, opts: { alpha?: boolean; depth16?: boolean } = {}): Promise<Buffer> {
  const c = opts.alpha ? 4 : 3;
  const px = Buffer.alloc(w * h * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * c;
      px[o] = Math.round(128 + 100 * Math.sin(x / 17));
      px[o + 1] = Math.round(128 + 100 * Math.cos(y / 11));
      px[o + 2] = (x + y) % 64 < 32 ? 60 : 200;
      if (c === 4) px[o + 3] = x < w / 2 ? 255 : 0;
    }
  }
  let p = sharp(px, { raw: { width: w, height: h, channels: c } });
  if (opts.depth16) p = p.toColourspace('rgb16');
  return p.png().toBuffer();
}

async function pixels(png: Uint8Array): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('scale', () => {
  it('parses native | model | N and sizes the working image', () => {
    expect([parseScale(undefined), parseScale('model'), parseScale('600')]).toEqual(['native', 'model', 600]);
    expect(() => parseScale('huge')).toThrow(/native, model or a long side/);
    expect(workingSize('native', 451, 300)).toEqual({ width: 451, height: 300 });
    expect(workingSize(600, 3000, 2000)).toEqual({ width: 600, height: 400 });
  });

  it('warns beyond 2x either way, naming the training size', () => {
    expect(scaleWarning(32, { width: 64, height: 40 })).toBeNull();
    expect(scaleWarning(32, { width: 451, height: 300 })).toMatch(/trained on 32x32 images.*451x300, 14\.1x larger/);
    expect(scaleWarning(256, { width: 100, height: 60 })).toMatch(/2\.6x smaller/);
  });

  it('tiles only above the budget, with stride-aligned tiles', () => {
    expect(tileForBudget(100, 100, 16, 1000, 100 * 1024 * 1024)).toBeNull();
    const t = tileForBudget(4096, 4096, 32, 4000, 256 * 1024 * 1024)!;
    expect(t % 32).toBe(0);
    expect(t * t * 4000).toBeLessThanOrEqual(256 * 1024 * 1024);
  });
});

describe('native-size translation', () => {
  it('exports dynamic height/width; parity holds at the training size and a non-square 2x/3x one', async () => {
    for (const [name, g] of [['unet', tinyUnet()], ['resnet', tinyResnet()]] as const) {
      const file = path.join(dir, `${name}.onnx`);
      const r = await exportOnnx({ kind: 'pix2pix', name, generator: g, imageSize: 16, channels: 3 }, file);
      expect(r.inputs[0]!.shape).toEqual(['batch', 3, 'height', 'width']);
      expect(r.outputs[0]!.shape).toEqual(['batch', 3, 'height', 'width']);
      expect(r.parity.sizes).toEqual([
        [16, 16],
        [32, 48],
      ]);
      expect(r.pass).toBe(true);
      g.dispose();
    }
  });

  it('runs at the image size on both runtimes (same numbers), OUT has IN size, tensors do not leak', async () => {
    const g = tinyUnet(16, 3, 4);
    const src = { kind: 'pix2pix' as const, name: 'u', generator: g, imageSize: 16, channels: 3 };
    const onnx = InferenceModel.fromSource(src, 'onnx');
    const tfjs = InferenceModel.fromSource(src, 'tfjs');
    expect(onnx.info.geometry).toMatchObject({ stride: 4, fixedReason: null });
    const input = await photo(75, 41);
    const a = await translateImage(onnx, input);
    await translateImage(tfjs, input); // warm: the first call builds kernels
    const before = tf.memory().numTensors;
    const b = await translateImage(tfjs, input);
    expect(tf.memory().numTensors).toBe(before);
    expect([a.width, a.height, a.workWidth, a.workHeight, a.tiles]).toEqual([75, 41, 75, 41, 1]);
    const pa = await pixels(a.png);
    const pb = await pixels(b.png);
    expect([pa.width, pa.height]).toEqual([75, 41]);
    let max = 0;
    for (let i = 0; i < pa.data.length; i++) max = Math.max(max, Math.abs(pa.data[i]! - pb.data[i]!));
    expect(max).toBeLessThanOrEqual(1);
    expect(a.warning).toMatch(/trained on 16x16/);
    await onnx.dispose();
    await tfjs.dispose();
    g.dispose();
  });

  it('tiled and untiled agree closely on an image small enough for both', async () => {
    const g = tinyUnet(16, 3, 4);
    const m = InferenceModel.fromSource({ kind: 'pix2pix', name: 'u', generator: g, imageSize: 16, channels: 3 }, 'onnx');
    const input = await photo(160, 96);
    const whole = await pixels((await translateImage(m, input)).png);
    const r = await translateImage(m, input, { tile: 48, overlap: 16 });
    expect(r.tiles).toBeGreaterThan(6);
    const tiled = await pixels(r.png);
    let sum = 0;
    for (let i = 0; i < whole.data.length; i++) sum += Math.abs(whole.data[i]! - tiled.data[i]!);
    expect(sum / whole.data.length).toBeLessThan(1);
    await m.dispose();
    g.dispose();
  });

  it('keeps EXIF orientation, 16-bit and alpha inputs as the data pipeline does', async () => {
    const g = tinyUnet(16, 3, 4);
    const m = InferenceModel.fromSource({ kind: 'pix2pix', name: 'u', generator: g, imageSize: 16, channels: 3 }, 'onnx');
    // Stored 40x24 with orientation 6 (rotate 90): shown, and translated, as 24x40.
    const rotated = await sharp(await photo(40, 24)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const r = await translateImage(m, rotated);
    expect([r.width, r.height]).toEqual([24, 40]);
    const deep = await translateImage(m, await photo(30, 20, { depth16: true }));
    expect([deep.width, deep.height]).toEqual([30, 20]);
    const alpha = await translateImage(m, await photo(30, 20, { alpha: true }));
    expect(alpha.notes.join(' ')).toMatch(/flattened onto black/);
    await m.dispose();
    g.dispose();
  });

  it('a greyscale model on a colour photo converts it and says so', async () => {
    const g = tinyUnet(16, 1, 4);
    const m = InferenceModel.fromSource({ kind: 'pix2pix', name: 'grey', generator: g, imageSize: 16, channels: 1 }, 'onnx');
    const r = await translateImage(m, await photo(50, 30));
    expect(r.notes.join(' ')).toMatch(/greyscale.*converted to grey/);
    const meta = await sharp(r.png).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([50, 30, 1]);
    await m.dispose();
    g.dispose();
  });

  it('an ONNX file exported with fixed 16x16 dims still runs at other sizes (derived in memory)', async () => {
    const g = tinyUnet(16, 3, 4);
    const built = buildOnnx({ kind: 'pix2pix', name: 'old', generator: g, imageSize: 16, channels: 3 })[0]!;
    const old = decodeModel(built.bytes);
    old.graph.inputs[0]!.shape = ['batch', 3, 16, 16];
    old.graph.outputs[0]!.shape = ['batch', 3, 16, 16];
    const file = path.join(dir, 'old.onnx');
    fs.writeFileSync(file, encodeModel(old));
    const m = await InferenceModel.fromOnnxFile(file);
    expect(m.info.geometry).toMatchObject({ stride: 4, fixedReason: null, declared: { height: 16, width: 16 } });
    const r = await translateImage(m, await photo(70, 30));
    expect([r.width, r.height]).toEqual([70, 30]);
    await m.dispose();
    g.dispose();
  });

  it('a model that cannot run at other sizes says why; with no scale asked it runs at its own size', async () => {
    const { encoder, decoder } = tinyAutoencoder(16, 1, 4);
    const m = InferenceModel.fromSource({ kind: 'autoencoder', name: 'ae', encoder, decoder, imageSize: 16, channels: 1, latentSize: 4 }, 'onnx');
    expect(spatialGeometry(decodeModel(buildOnnx({ kind: 'autoencoder', name: 'ae', encoder, decoder, imageSize: 16, channels: 1, latentSize: 4 })[0]!.bytes)).fixedReason).toMatch(/Reshape|Flatten|Gemm|MatMul/);
    const input = await photo(40, 24);
    await expect(translateImage(m, input, { scale: 'native' })).rejects.toThrow(/cannot run at another size than 16x16.*fixes the spatial size/);
    const r = await translateImage(m, input);
    expect([r.width, r.height, r.workWidth]).toEqual([40, 24, 16]);
    expect(r.notes.join(' ')).toMatch(/runs only at 16x16/);
    await m.dispose();
    encoder.dispose();
    decoder.dispose();
  });

  it('a corrupt or truncated image gets a clear BAD_INPUT error, not a crash', async () => {
    const g = tinyUnet(16, 3, 4);
    const m = InferenceModel.fromSource({ kind: 'pix2pix', name: 'u', generator: g, imageSize: 16, channels: 3 }, 'onnx');
    const good = await sharp(await photo(60, 40)).jpeg().toBuffer();
    for (const bad of [Buffer.from('not an image at all'), good.subarray(0, good.length >> 1)]) {
      await expect(translateImage(m, bad)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/Cannot read the image/) });
    }
    await m.dispose();
    g.dispose();
  });

  it('scale N runs at long side N and scales back to the input size', async () => {
    const g = tinyUnet(16, 3, 4);
    const m = InferenceModel.fromSource({ kind: 'pix2pix', name: 'u', generator: g, imageSize: 16, channels: 3 }, 'onnx');
    const r = await translateImage(m, await photo(120, 80), { scale: 30 });
    expect([r.width, r.height, r.workWidth, r.workHeight, r.warning]).toEqual([120, 80, 30, 20, undefined]);
    await m.dispose();
    g.dispose();
  });
});
