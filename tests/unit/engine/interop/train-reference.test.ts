/**
 * Training with the reference variant (--option variant=reference): pix2pix and CycleGAN train on
 * the reference's networks with finite losses and no tensor leak, and the resulting bundle exports
 * to checkpoints PyTorch loads strictly (weights_only) and runs to Atelier's output within 1e-4.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import type { Workspace } from '../../../../src/main/engine/core/workspace';
import { exportPytorch } from '../../../../src/main/engine/interop/export';
import { createModel } from '../../../../src/main/engine/models';
import { writeBundle } from '../../../../src/main/engine/train/bundle';
import { maxAbsDiff, NO_TORCH, nchwToNhwc, readF32, runReference, torchAvailable, type RefSpec } from './torch';
import { useTempWorkspace } from './workspace';

let dir = '';
let ws: Workspace;
useTempWorkspace('atelier-reftrain-', (d, w) => ((dir = d), (ws = w)));

const training = { runId: 'r', datasetId: '', steps: 2, epochs: 0, durationSec: 0, stepsPerSec: 0, backend: 'test', finalLosses: {}, meanLosses: {} };

function batch(size: number, seed: number) {
  return { a: tf.randomUniform([1, size, size, 3], -1, 1, 'float32', seed) as tf.Tensor4D, b: tf.randomUniform([1, size, size, 3], -1, 1, 'float32', seed + 1) as tf.Tensor4D };
}

async function trainAndExport(kind: 'pix2pix' | 'cyclegan', options: Record<string, unknown>, size: number, spec: RefSpec) {
  const m = createModel(kind, { size, ...options, variant: 'reference', seed: 3 });
  const counts: number[] = [];
  for (let s = 0; s < 3; s++) {
    const bt = batch(size, s * 2);
    m.setInput(bt);
    const losses = m.trainStep();
    tf.dispose([bt.a, bt.b]);
    for (const v of Object.values(losses)) expect(Number.isFinite(v)).toBe(true);
    counts.push(tf.memory().numTensors);
  }
  expect(counts[2]).toBe(counts[1]);
  const id = `${kind}-ref`;
  const { dir: bdir } = await writeBundle(ws.bundles, id, m, { name: id, training });
  const out = path.join(dir, `${kind}-out`);
  const res = await exportPytorch(ws, { bundleDir: bdir, out });
  const g = kind === 'cyclegan' ? 'G_A' : 'G';
  const ck = path.join(out, 'checkpoints', id);
  runReference('check', ck, [{ ...spec, name: `latest_net_${g}` }]);
  const x = nchwToNhwc(readF32(path.join(ck, `latest_net_${g}.in.bin`)), 1, 3, size, size);
  const y = tf.tidy(() => (m.networks[g]!.predict(tf.tensor4d(x, [1, size, size, 3])) as tf.Tensor).transpose([0, 3, 1, 2]));
  expect(maxAbsDiff(y.dataSync(), readF32(path.join(ck, `latest_net_${g}.out.bin`)))).toBeLessThan(1e-4);
  y.dispose();
  for (const n of Object.values(m.networks)) n.dispose();
  return res;
}

describe.skipIf(!torchAvailable)(`training with the reference variant${NO_TORCH}`, () => {
  it('pix2pix (unet_128, batch norm) trains and exports without loss', async () => {
    const res = await trainAndExport('pix2pix', { ngf: 2, ndf: 2 }, 128, { name: '', net: 'unet_128', norm: 'batch', ngf: 2, size: 128, inc: 3, outc: 3, dropout: true });
    expect(res.checkpoints.map((c) => c.network)).toEqual(['G', 'D']);
    expect(fs.readFileSync(res.trainScript, 'utf8')).toContain('--netG unet_128 --netD basic --norm batch --ngf 2');
  });

  it('cyclegan (resnet_6blocks, instance norm) trains and exports without loss', async () => {
    const res = await trainAndExport('cyclegan', { ngf: 2, ndf: 2, poolSize: 2 }, 32, { name: '', net: 'resnet_6blocks', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 3 });
    expect(res.checkpoints.map((c) => c.network)).toEqual(['G_A', 'G_B', 'D_A', 'D_B']);
  });

  it('refuses a U-Net size the reference cannot build', () => {
    expect(() => createModel('pix2pix', { size: 64, variant: 'reference' })).toThrow(/multiple of 128/);
  });
});
