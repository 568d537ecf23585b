/**
 * Batch norm's running variance between Atelier and PyTorch. Both store the variance inference
 * divides by, so the stored value maps across unchanged (import -> export is bit-exact, and eval
 * outputs match: export.test.ts, continue.test.ts). Training updates it differently by default:
 * PyTorch averages in the batch's UNBIASED variance (n / (n - 1)), tfjs the biased one. The
 * reference networks use TorchBatchNorm, which updates as PyTorch does; here one training-mode
 * forward on the same weights and input moves the running mean and variance of every batch-norm
 * layer as PyTorch's does, including the 2x2 layers of the U-Net where the two estimators differ
 * by 4/3.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { readPthFile } from '../../../../src/main/engine/interop/pth';
import { referenceDiscriminator, referenceGenerator } from '../../../../src/main/engine/interop/reference-networks';
import { loadReferenceWeights, referenceStateDict } from '../../../../src/main/engine/interop/weights';
import { maxAbsDiff, NO_TORCH, nchwToNhwc, nhwcToNchw, readF32, runReference, torchAvailable, type RefSpec } from './torch';

let dir = '';
beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-bn-'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Relative gap between two arrays (|a - b| / max(|b|, 1e-6)), the largest. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-6));
  return m;
}

describe.skipIf(!torchAvailable)(`batch-norm running statistics move as PyTorch's${NO_TORCH}`, () => {
  const cases: { spec: RefSpec; build: () => tf.LayersModel }[] = [
    {
      // 128 px, batch 1: the U-Net's up-norm just outside the innermost sees a 2x2 map (n = 4).
      spec: { name: 'unet', net: 'unet_128', norm: 'batch', ngf: 2, size: 128, inc: 3, outc: 3, seed: 71, dropout: false },
      build: () => referenceGenerator({ netG: 'unet_128', norm: 'batch', ngf: 2, inChannels: 3, outChannels: 3, size: 128, dropout: false }),
    },
    {
      // Batch 2: n counts the batch as well as the pixels.
      spec: { name: 'resnet', net: 'resnet_6blocks', norm: 'batch', ngf: 2, size: 16, inc: 3, outc: 3, seed: 72, batch: 2 },
      build: () => referenceGenerator({ netG: 'resnet_6blocks', norm: 'batch', ngf: 2, inChannels: 3, outChannels: 3, size: 16, dropout: false }),
    },
    {
      spec: { name: 'patch', net: 'basic', norm: 'batch', ngf: 2, size: 64, inc: 6, outc: 1, seed: 73 },
      build: () => referenceDiscriminator({ norm: 'batch', ndf: 2, inChannels: 6, size: 64 }),
    },
  ];
  for (const { spec, build } of cases) {
    it(`${spec.net} (batch ${spec.batch ?? 1}): one training forward gives PyTorch's output and running_mean / running_var`, async () => {
      runReference('make', dir, [spec]);
      runReference('trainstep', dir, [spec]);
      const model = build();
      loadReferenceWeights(model, await readPthFile(path.join(dir, `${spec.name}.pth`)));
      const n = spec.batch ?? 1;
      const x = nchwToNhwc(readF32(path.join(dir, `${spec.name}.in.bin`)), n, spec.inc, spec.size, spec.size);
      const before = tf.memory().numTensors;
      const y = tf.tidy(() => model.apply(tf.tensor4d(x, [n, spec.size, spec.size, spec.inc]), { training: true }) as tf.Tensor4D);
      const [, h, w, c] = y.shape;
      // In training mode both normalise with the batch's biased variance: outputs agree.
      expect(maxAbsDiff(nhwcToNchw(y.dataSync() as Float32Array, n, c, h, w), readF32(path.join(dir, `${spec.name}.out.bin`)))).toBeLessThan(1e-4);
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const after = await readPthFile(path.join(dir, `${spec.name}.after.pth`));
      const ours = new Map(referenceStateDict(model));
      let checked = 0;
      for (const [k, t] of after.tensors) {
        if (!/running_(mean|var)$/.test(k)) continue;
        const got = ours.get(k)!;
        expect(got, k).toBeDefined();
        expect(maxRelDiff(got.data, t.data), k).toBeLessThan(1e-4);
        checked++;
      }
      expect(checked).toBeGreaterThan(4);
      model.dispose();
    });
  }
});
