/**
 * The colour photo demos end to end on tiny generated photos (no mate-backgrounds needed):
 * a grey -> colour pix2pix and a green <-> autumn CycleGAN train two steps from the datasets
 * the builder cuts, then ship (bundle, ONNX parity, held-out evaluation with the colour
 * metrics, samples, card with the licences). The shipped models' own numbers are checked in
 * models.test below when models/ holds them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { buildPhotoDemos } from '../../../../src/main/engine/data/demo-photos';
import { evaluateBundle, greyLutBaseline, metricValue } from '../../../../src/main/engine/eval/evaluate';
import { shipPhotoDemo } from '../../../../src/main/engine/eval/photo-demos';
import { openBatchSource } from '../../../../src/main/engine/train/source';
import '../../../../src/main/engine/train/dataset-source';
import { createRun } from '../../../../src/main/engine/train/run-create';
import { trainRun } from '../../../../src/main/engine/train/run';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';

let tmp: string;
let ws: Workspace;

async function photo(file: string, rgb: [number, number, number]): Promise<void> {
  const w = 256;
  const h = 192;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const k = 0.65 + 0.35 * Math.sin(x / 7) * Math.cos(y / 11);
      for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = Math.round(rgb[c]! * k);
    }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

beforeAll(async () => {
  await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-photo-demos-'));
  const dir = path.join(tmp, 'nature');
  fs.mkdirSync(dir);
  await photo(path.join(dir, 'Leaf.png'), [70, 190, 40]);
  await photo(path.join(dir, 'Flame.png'), [240, 120, 20]);
  await photo(path.join(dir, 'Meadow.png'), [80, 200, 60]);
  await photo(path.join(dir, 'Sunset.png'), [250, 150, 30]);
  await photo(path.join(dir, 'Pond.png'), [60, 110, 200]);
  ws = openWorkspace(path.join(tmp, 'ws'));
  await buildPhotoDemos(ws, { dir, copyright: path.join(tmp, 'none'), heldOut: ['Meadow.png', 'Sunset.png'], validation: ['Pond.png'], colorizeVal: 3, size: 32, minCrop: 32, maxCrop: 128, colorizeTrain: 8, colorizeTest: 4, foliageCandidates: 30, foliageTrain: 6, foliageTest: 3 });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('colour photo demos', () => {
  it('feeds a grey -> colour pix2pix grey A (the channel mean of the stored R=G=B crop) and colour B', async () => {
    const src = await openBatchSource({ workspace: ws, datasetId: 'demo-nature-colorize', batchSize: 2, seed: 0, needs: 'paired', direction: 'AtoB', inChannels: 1 });
    const n0 = tf.memory().numTensors;
    const b = await src.next();
    expect(b.a.shape).toEqual([2, 32, 32, 1]);
    expect(b.b!.shape).toEqual([2, 32, 32, 3]);
    tf.dispose([b.a, b.b!]);
    expect(tf.memory().numTensors).toBe(n0);
  });

  it('the grey-level colour table baseline maps each grey level to its mean training colour', () => {
    const grey = { data: Float32Array.from([0, 0, 1, 1]), n: 1, size: 2, channels: 1 };
    const colour = { data: Float32Array.from([0.2, 0, 0, 0.4, 0, 0, 0, 1, 0, 0, 0.5, 0]), n: 1, size: 2, channels: 3 };
    const out = greyLutBaseline(grey, colour, { data: Float32Array.from([1, 0, 0.5, 1]), n: 1, size: 2, channels: 1 });
    expect(Array.from(out.data.subarray(0, 6))).toEqual([0, 0.75, 0, expect.closeTo(0.3, 6), 0, 0]);
    expect(Array.from(out.data.subarray(6, 9))).toEqual([0.5, 0.5, 0.5]); // an unseen level stays grey
  });

  it('trains and ships a colouriser (colorize chroma, as shipped): bundle takes grey, ONNX parity, PSNR/SSIM/colourfulness against the grey and table baselines, licences in the card', async () => {
    const { runDir } = await createRun(ws, { model: 'pix2pix', datasetId: 'demo-nature-colorize', options: { size: 32, inChannels: 1, ngf: 4, ndf: 4, batchSize: 2, seed: 0, colorize: 'chroma' }, steps: 2, checkpointEvery: 1, sampleEvery: 100 });
    await trainRun(ws, runDir);
    const n0 = tf.memory().numTensors;
    // The checkpoint is chosen on the validation split (eval --split val), then shipped by step.
    const { promoteRun } = await import('../../../../src/main/engine/train/run-promote');
    const first = await promoteRun(ws, path.basename(runDir), { step: 1 });
    const val = await evaluateBundle(ws, { model: first.dir, dataset: 'demo-nature-colorize', split: 'val' });
    expect(val.dataset).toMatchObject({ split: 'val', count: 3 });
    expect(Number.isFinite(metricValue(val, 'psnr'))).toBe(true);
    const card = await shipPhotoDemo(ws, 'nature-colorize-pix2pix', runDir, { out: path.join(tmp, 'models'), reproduce: ['atelier train ...'], step: 1 });
    expect(tf.memory().numTensors).toBe(n0);
    expect(card.steps).toBe(1);
    const dir = path.join(tmp, 'models', 'nature-colorize-pix2pix');
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'bundle.json'), 'utf8')) as { preprocessing: { inChannels: number; channels: number } };
    expect(meta.preprocessing).toMatchObject({ inChannels: 1, channels: 3 });
    expect(card.onnx).toEqual([expect.objectContaining({ pass: true })]);
    const m = card.metrics['demo-nature-colorize'] as Record<string, number>;
    for (const k of ['psnr', 'ssim', 'l1', 'colourfulness', 'baselineInput.psnr', 'baselineInput.ssim', 'baselineLut.psnr', 'baselineLut.ssim', 'target.colourfulness']) expect(Number.isFinite(m[k]), k).toBe(true);
    expect(m['baselineInput.colourfulness']).toBe(0);
    expect(m['target.colourfulness']).toBeGreaterThan(10);
    expect(card.keyMetric).toMatchObject({ name: 'psnr', dataset: 'demo-nature-colorize', split: 'test' });
    expect(fs.existsSync(path.join(dir, 'samples.png'))).toBe(true);
    const md = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(md).toMatch(/\| Meadow\.png \| - \| 256x192 \| test \| 4 \|/);
    expect(md).toMatch(/\| Pond\.png \| - \| 256x192 \| val \| 3 \|/);
    expect(md).toContain('step 1 of the 2 planned');
    expect(md).toContain('chosen on the validation photos');
    expect(md).toContain('PSNR above the grey input');
    // Judged on the validation photos too: their gains are bars, their metrics in the card.
    expect(card.bars.map((b) => b.name)).toEqual(expect.arrayContaining(['validation photos: PSNR gain over the grey input clear (95% interval above 0)', 'validation photos: SSIM gain over the grey input clear (95% interval above 0)']));
    const mv = card.metrics['demo-nature-colorize:val'] as Record<string, number>;
    expect(mv['psnr']).toBeCloseTo(metricValue(val, 'psnr'), 3);
    expect(md).toContain('## Metrics (validation photos)');
  });

  it('trains and ships a colour CycleGAN scored by the colour statistic and cycle L1, without the Fashion classifier', async () => {
    const { runDir } = await createRun(ws, { model: 'cyclegan', datasetId: 'demo-green2autumn', options: { size: 32, netG: 'unet', ngf: 4, ndf: 4, lambdaIdentity: 0, seed: 0 }, steps: 2, checkpointEvery: 1, sampleEvery: 100 });
    await trainRun(ws, runDir);
    const card = await shipPhotoDemo(ws, 'green2autumn-cyclegan', runDir, { out: path.join(tmp, 'models'), reproduce: [] });
    expect(card.onnx).toHaveLength(2);
    const r = await evaluateBundle(ws, { model: path.join(tmp, 'models', 'green2autumn-cyclegan'), dataset: 'demo-green2autumn', classifier: path.join(tmp, 'no-classifier') });
    expect(r.details.domains).toEqual({ A: 'green', B: 'autumn' });
    expect(metricValue(r, 'realRate.A')).toBeGreaterThan(0.9);
    expect(metricValue(r, 'baselineIdentity.transferRate.AtoB')).toBe(0);
    for (const k of ['transferRate.AtoB', 'transferRate.BtoA', 'cycleL1.A', 'cycleL1.B']) expect(Number.isFinite(metricValue(r, k)), k).toBe(true);
    expect(metricValue(r, 'transferRate.AtoB')).toBe((card.metrics['demo-green2autumn'] as Record<string, number>)['transferRate.AtoB']);
  });
});
