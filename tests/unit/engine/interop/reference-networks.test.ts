/**
 * Reference checkpoints (written by PyTorch from reference-topology modules with random weights,
 * non-zero biases and batch-norm statistics, in both file formats) load strictly into the
 * reference-compatible networks, and Atelier's output equals PyTorch's within 1e-4.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { readPthFile } from '../../../../src/main/engine/interop/pth';
import { referenceDiscriminator, referenceGenerator } from '../../../../src/main/engine/interop/reference-networks';
import { detectReference, loadReferenceWeights } from '../../../../src/main/engine/interop/weights';
import { maxAbsDiff, NO_TORCH, nchwToNhwc, readF32, runReference, torchAvailable, type RefSpec } from './torch';

const SPECS: RefSpec[] = [
  { name: 'r6_instance_zip', net: 'resnet_6blocks', norm: 'instance', ngf: 4, size: 32, inc: 3, outc: 3, format: 'zip', seed: 1 },
  { name: 'r9_batch_legacy_dropout', net: 'resnet_9blocks', norm: 'batch', ngf: 4, size: 32, inc: 3, outc: 3, format: 'legacy', dropout: true, seed: 2 },
  { name: 'u128_batch_zip', net: 'unet_128', norm: 'batch', ngf: 2, size: 128, inc: 3, outc: 3, format: 'zip', dropout: true, seed: 3 },
  { name: 'u256_instance_legacy', net: 'unet_256', norm: 'instance', ngf: 2, size: 256, inc: 1, outc: 3, format: 'legacy', dropout: true, seed: 4 },
  { name: 'd_batch_zip', net: 'basic', norm: 'batch', ngf: 4, size: 64, inc: 6, outc: 1, format: 'zip', seed: 5 },
  { name: 'd_instance_legacy', net: 'basic', norm: 'instance', ngf: 4, size: 64, inc: 3, outc: 1, format: 'legacy', seed: 6 },
];

let dir = '';
beforeAll(async () => {
  await initBackend();
  if (!torchAvailable) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-ref-'));
  runReference('make', dir, SPECS);
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!torchAvailable)(`reference checkpoints match PyTorch${NO_TORCH}`, () => {
  for (const s of SPECS) {
    it(`${s.name}: detected, loaded strictly, output within 1e-4`, async () => {
      const sd = await readPthFile(path.join(dir, `${s.name}.pth`));
      expect(sd.format).toBe(s.format);
      const d = detectReference(sd);
      const before = tf.memory().numTensors;
      let model: tf.LayersModel;
      if (d.role === 'generator') {
        expect(d).toMatchObject({ netG: s.net, norm: s.norm, ngf: s.ngf, inChannels: s.inc, outChannels: s.outc });
        if (s.net.startsWith('resnet')) expect(d.dropout).toBe(!!s.dropout);
        model = referenceGenerator({ netG: d.netG, norm: d.norm, ngf: d.ngf, inChannels: d.inChannels, outChannels: d.outChannels, size: s.size, dropout: !!s.dropout });
      } else {
        expect(d).toMatchObject({ norm: s.norm, ndf: s.ngf, inChannels: s.inc, nLayers: 3 });
        model = referenceDiscriminator({ norm: d.norm, ndf: d.ndf, inChannels: d.inChannels, size: s.size });
      }
      loadReferenceWeights(model, sd);
      const x = nchwToNhwc(readF32(path.join(dir, `${s.name}.in.bin`)), 1, s.inc, s.size, s.size);
      const want = readF32(path.join(dir, `${s.name}.out.bin`));
      const y = tf.tidy(() => {
        const out = model.predict(tf.tensor4d(x, [1, s.size, s.size, s.inc])) as tf.Tensor4D;
        return out.transpose([0, 3, 1, 2]);
      });
      const got = y.dataSync();
      y.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(want.length);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    });
  }
});
