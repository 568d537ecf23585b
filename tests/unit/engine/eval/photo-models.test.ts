/**
 * The shipped colour photo demos (models/nature-colorize-pix2pix, models/green2autumn-cyclegan):
 * ONNX parity, and their cards' held-out numbers re-measured on the held-out photos' crops
 * (cut by the dataset builder's own code from mate-backgrounds). Skipped, with the reason in
 * the name, when a model folder or the photos are absent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { colourfulness, foliageDomain, hueShares } from '../../../../src/main/engine/analysis/colour';
import { psnr, ssim } from '../../../../src/main/engine/analysis/metrics';
import { heldOutSets, photoSourceMissing } from '../../../../src/main/engine/data/demo-photos';
import type { ModelCard } from '../../../../src/main/engine/eval/demos';
import { disposeSource, exportOnnx, PARITY_THRESHOLD } from '../../../../src/main/engine/export/onnx-export';
import { loadBundleSource } from '../../../../src/main/engine/infer/registry';
import { disposeBundle, loadBundle, translate, type LoadedBundle } from '../../../../src/main/engine/train/bundle';
import { appRoot } from '../../../../src/main/engine/core/workspace';

const MODELS = path.join(appRoot(), 'models');
const COLORIZE = path.join(MODELS, 'nature-colorize-pix2pix');
const FOLIAGE = path.join(MODELS, 'green2autumn-cyclegan');
const photosMissing = photoSourceMissing();
const why = (dir: string) => (!fs.existsSync(dir) ? `models/${path.basename(dir)} is not in this checkout` : photosMissing ? 'mate-backgrounds is not installed' : null);
const title = (dir: string, what: string, needsPhotos = true) => {
  const r = needsPhotos ? why(dir) : fs.existsSync(dir) ? null : `models/${path.basename(dir)} is not in this checkout`;
  return r ? `${path.basename(dir)}: ${what} — SKIPPED: ${r}` : `${path.basename(dir)}: ${what}`;
};
const card = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'card.json'), 'utf8')) as ModelCard;

let sets: Awaited<ReturnType<typeof heldOutSets>> | null = null;
let tmp: string;
beforeAll(async () => {
  await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-photo-models-'));
  if (!photosMissing && (fs.existsSync(COLORIZE) || fs.existsSync(FOLIAGE))) sets = await heldOutSets();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** uint8 HWC crops -> NHWC in [-1, 1] with `channels` (1: the first channel of an R=G=B crop). */
function tensorOf(crops: Uint8Array[], size: number, channels: number): tf.Tensor4D {
  const out = new Float32Array(crops.length * size * size * channels);
  crops.forEach((c, i) => {
    for (let p = 0; p < size * size; p++) for (let k = 0; k < channels; k++) out[(i * size * size + p) * channels + k] = c[p * 3 + k]! / 127.5 - 1;
  });
  return tf.tensor4d(out, [crops.length, size, size, channels]);
}

/** Translate in chunks; rows in [0, 1] per image. */
function run(b: LoadedBundle, x: tf.Tensor4D, direction: 'AtoB' | 'BtoA' = 'AtoB'): Float32Array[] {
  const out: Float32Array[] = [];
  for (let s = 0; s < x.shape[0]; s += 16) {
    const y = tf.tidy(() => tf.clipByValue(tf.div(tf.add(translate(b, x.slice([s, 0, 0, 0], [Math.min(16, x.shape[0] - s), -1, -1, -1]), { direction }), 1), 2), 0, 1));
    const d = y.dataSync() as Float32Array;
    const per = d.length / y.shape[0];
    for (let i = 0; i < y.shape[0]; i++) out.push(d.slice(i * per, (i + 1) * per));
    y.dispose();
  }
  return out;
}

const img = (data: Float32Array, size: number) => ({ height: size, width: size, channels: 3, data });
const unit = (c: Uint8Array) => Float32Array.from(c, (v) => v / 255);

describe('shipped colour photo demos', () => {
  for (const dir of [COLORIZE, FOLIAGE]) {
    it.skipIf(!fs.existsSync(dir))(title(dir, 'ONNX export has parity < 1e-4 with the tfjs bundle (both directions)', false), async () => {
      for (const direction of dir === FOLIAGE ? (['AtoB', 'BtoA'] as const) : (['AtoB'] as const)) {
        const src = await loadBundleSource(dir, { direction });
        try {
          const r = await exportOnnx(src, path.join(tmp, `${path.basename(dir)}-${direction}.onnx`));
          expect(r.parity.maxAbsDiff).toBeLessThan(PARITY_THRESHOLD);
        } finally {
          disposeSource(src);
        }
      }
    });
  }

  it.skipIf(why(COLORIZE) !== null)(title(COLORIZE, 'beats the grey input on the held-out photos (PSNR +1 dB, colourful) and reproduces its card (PSNR; SSIM on the side of the grey input the card states)'), async () => {
    const b = await loadBundle(COLORIZE);
    const n0 = tf.memory().numTensors;
    try {
      const { grey, colour } = sets!.colorize;
      const size = sets!.size;
      const x = tensorOf(grey, size, 1);
      const out = run(b, x);
      x.dispose();
      let pm = 0;
      let pg = 0;
      let cf = 0;
      let ct = 0;
      let sm = 0;
      let sg = 0;
      colour.forEach((c, i) => {
        const target = img(unit(c), size);
        pm += psnr(img(out[i]!, size), target, 1) / colour.length;
        pg += psnr(img(unit(grey[i]!), size), target, 1) / colour.length;
        sm += ssim(img(out[i]!, size), target, 1) / colour.length;
        sg += ssim(img(unit(grey[i]!), size), target, 1) / colour.length;
        cf += colourfulness({ data: out[i]!, channels: 3, scale: 1 }) / colour.length;
        ct += colourfulness({ data: c, channels: 3, scale: 255 }) / colour.length;
      });
      expect(pm).toBeGreaterThanOrEqual(pg + 1);
      expect(cf).toBeGreaterThanOrEqual(ct / 3);
      // SSIM against the grey input: re-measured, and on the side of the grey input's SSIM the card says.
      const c = card(COLORIZE);
      expect(Math.abs(sm - (c.metrics['demo-nature-colorize'] as Record<string, number>).ssim!)).toBeLessThan(0.005);
      expect(sm > sg).toBe(c.bars.find((b) => b.name === 'SSIM above the grey input')!.pass);
      const k = c.keyMetric;
      expect(k.name).toBe('psnr');
      expect(Math.abs(pm - k.value)).toBeLessThanOrEqual(k.tolerance);
      expect(tf.memory().numTensors).toBe(n0);
    } finally {
      disposeBundle(b);
    }
  });

  it.skipIf(why(FOLIAGE) !== null)(title(FOLIAGE, 'turns held-out green crops autumn-coloured (colour statistic) as its card says, with a cycle L1 under half the change it makes'), async () => {
    const b = await loadBundle(FOLIAGE);
    const n0 = tf.memory().numTensors;
    try {
      const { a } = sets!.foliage;
      const size = sets!.size;
      const x = tensorOf(a, size, 3);
      const fakeB = run(b, x);
      const fb = tf.tensor4d(Float32Array.from(fakeB.flatMap((r) => Array.from(r, (v) => v * 2 - 1))), [a.length, size, size, 3]);
      const rec = run(b, fb, 'BtoA');
      tf.dispose([x, fb]);
      const rate = fakeB.filter((r) => foliageDomain(hueShares({ data: r, channels: 3, scale: 1 })) === 'autumn').length / a.length;
      const realRate = a.filter((r) => foliageDomain(hueShares({ data: r, channels: 3, scale: 255 })) === 'autumn').length / a.length;
      let cyc = 0;
      let change = 0;
      rec.forEach((r, i) => {
        const t = unit(a[i]!);
        let s = 0;
        let c = 0;
        for (let j = 0; j < r.length; j++) {
          s += Math.abs(r[j]! - t[j]!);
          c += Math.abs(fakeB[i]![j]! - t[j]!);
        }
        cyc += s / r.length / rec.length;
        change += c / r.length / rec.length;
      });
      const c = card(FOLIAGE);
      expect(c.keyMetric.name).toBe('transferRate.AtoB');
      expect(Math.abs(rate - c.keyMetric.value)).toBeLessThanOrEqual(c.keyMetric.tolerance);
      expect(realRate).toBe(0);
      expect(rate).toBeGreaterThanOrEqual(0.5);
      expect(cyc).toBeLessThan(change / 2);
      expect(tf.memory().numTensors).toBe(n0);
    } finally {
      disposeBundle(b);
    }
  });
});
