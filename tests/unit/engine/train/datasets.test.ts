import { describe, expect, it } from 'vitest';
import type { Workspace } from '../../../../src/main/engine/core/workspace';
import { readLog } from '../../../../src/main/engine/train/run-files';
import { createRun } from '../../../../src/main/engine/train/run-create';
import { trainRun } from '../../../../src/main/engine/train/run';
import { loadBundle, disposeBundle } from '../../../../src/main/engine/train/bundle';
import { useTestBackend } from '../layers/test-backend';
import { tf } from '../../../../src/main/engine/backend';
import { openBatchSource } from '../../../../src/main/engine/train/source';
import '../../../../src/main/engine/train/dataset-source';
import { useDemoWorkspace } from '../demo-workspace';

let ws: Workspace;
useDemoWorkspace('atelier-train-ds-', useTestBackend, (_d, w) => (ws = w));

it('grey datasets resized to a power of two keep their pixels (28 -> 32 px, no channel-stride stripes)', async () => {
  const open = (size: number) => openBatchSource({ workspace: ws, datasetId: 'demo-fashion', size, channels: 1, batchSize: 8, seed: 0, needs: 'labelled', direction: 'AtoB' });
  const [s28, s32] = [await open(28), await open(32)];
  const [b28, b32] = [await s28.next(), await s32.next()];
  expect(b32.a.shape).toEqual([8, 32, 32, 1]);
  expect(Array.from(b32.labels!.dataSync())).toEqual(Array.from(b28.labels!.dataSync()));
  const means = (t: tf.Tensor) => tf.tidy(() => Array.from(tf.mean(t, [1, 2, 3]).dataSync()));
  const m28 = means(b28.a);
  const m32 = means(b32.a);
  for (let i = 0; i < 8; i++) expect(Math.abs(m28[i]! - m32[i]!)).toBeLessThan(0.05);
  tf.dispose([b28.a, b28.labels!, b32.a, b32.labels!]);
});

// Workspace datasets through the data loader: size/channels follow the dataset, the loader's
// cursor (order + augmentation RNG) is checkpointed, so resume equals the uninterrupted run.
describe.each([
  ['pix2pix', 'demo-edges2fashion', { ngf: 4, ndf: 4 }],
  ['cyclegan', 'demo-sneaker2boot', { ngf: 4, ndf: 4, blocks: 1, poolSize: 1 }],
  ['cgan', 'demo-fashion', { ngf: 4, ndf: 4, nz: 8, batchSize: 4 }],
] as const)('%s on %s', (model, datasetId, options) => {
  it('trains from the dataset; resume equals the uninterrupted run', async () => {
    const req = { model, datasetId, options: { ...options }, steps: 3, checkpointEvery: 1, sampleEvery: 3 };
    const a = await createRun(ws, req);
    expect(a.run.options.size).toBeGreaterThan(0);
    const sa = await trainRun(ws, a.runDir);
    expect(sa.state).toBe('done');
    const b = await createRun(ws, req);
    await trainRun(ws, b.runDir, { stopAtStep: 1 });
    await trainRun(ws, b.runDir);
    const la = await readLog(a.runDir);
    const lb = await readLog(b.runDir);
    expect(lb.map((e) => e.step)).toEqual([1, 2, 3]);
    for (let i = 0; i < 3; i++) for (const [k, v] of Object.entries(la[i]!.losses)) expect(Math.abs(lb[i]!.losses[k]! - v)).toBeLessThan(1e-5);
    if (model === 'cgan') {
      expect(a.run.options.numClasses).toBe(10);
      const bundle = await loadBundle(sa.bundleDir!);
      expect(bundle.meta.classes?.names?.length).toBe(10);
      disposeBundle(bundle);
    }
  });
});
