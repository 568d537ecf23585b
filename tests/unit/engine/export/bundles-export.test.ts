/**
 * End to end on real bundles: models from the registry -> writeBundle (train/bundle.ts) ->
 * loadBundleSource -> ONNX export with parity < 1e-4 -> inference from the exported file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../../src/main/engine/backend';
import { createModel } from '../../../../src/main/engine/models/registry';
import { writeBundle } from '../../../../src/main/engine/train/bundle';
import { exportOnnx, PARITY_THRESHOLD } from '../../../../src/main/engine/export/onnx-export';
import { loadBundleSource } from '../../../../src/main/engine/infer/registry';
import { InferenceModel } from '../../../../src/main/engine/infer/model';
import { sampleZ } from '../../../../src/main/engine/infer/latent';

let root: string;
beforeAll(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-bx-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const training = { runId: 'r1', datasetId: 'd1', steps: 0, epochs: 0, durationSec: 0, stepsPerSec: 0, backend: 'wasm', finalLosses: {}, meanLosses: {} };

const cases: [string, Record<string, unknown>, { classes?: { count: number; names?: string[] } }][] = [
  ['pix2pix', { size: 16, channels: 3, inChannels: 1, ngf: 4, ndf: 4 }, {}],
  ['cyclegan', { size: 16, channels: 3, ngf: 4, ndf: 4, blocks: 1, upsample: 'resize' }, {}],
  ['gan', { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4 }, {}],
  ['cgan', { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, numClasses: 3 }, { classes: { count: 3, names: ['shirt', 'shoe', 'bag'] } }],
  ['autoencoder', { size: 16, channels: 1, latent: 6, ngf: 4, norm: 'batch' }, {}],
];

describe('registry models -> bundle -> ONNX', () => {
  for (const [kind, options, extra] of cases) {
    it(`${kind}: exports with parity and runs from the file`, async () => {
      const model = createModel(kind, options);
      const { dir } = await writeBundle(path.join(root, 'bundles'), kind, model, { name: kind, training, ...extra });
      model.dispose();
      const src = await loadBundleSource(dir);
      const file = path.join(dir, `${kind}.onnx`);
      const res = await exportOnnx(src, file);
      for (const m of [src.generator, src.encoder, src.decoder]) m?.dispose();
      expect(res.parity.maxAbsDiff).toBeLessThan(PARITY_THRESHOLD);
      expect(res.pass).toBe(true);
      const m = await InferenceModel.fromOnnxFile(file);
      expect(m.info.kind).toBe(kind);
      expect(m.info.imageSize).toBe(16);
      if (kind === 'pix2pix') {
        expect(m.info.inChannels).toBe(1);
        const y = await m.translate(new Float32Array(16 * 16), 1);
        expect(y.length).toBe(3 * 16 * 16);
      } else if (kind === 'cyclegan') {
        expect((await m.translate(new Float32Array(3 * 16 * 16), 1)).length).toBe(3 * 16 * 16);
      } else {
        expect(m.info.latentSize).toBe(kind === 'autoencoder' ? 6 : 8);
        const L = m.info.latentSize!;
        const y = await m.generate({ z: sampleZ(1, 2, L), n: 2, ...(kind === 'cgan' ? { labels: [0, 2] } : {}) });
        expect(y.length).toBe(2 * 16 * 16);
        if (kind === 'cgan') expect(m.info.classNames).toEqual(['shirt', 'shoe', 'bag']);
      }
      await m.dispose();
    });
  }
});
