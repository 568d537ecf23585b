import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';
import { readLog } from '../../../../src/main/engine/train/run-files';
import { createRun, type TrainRequest } from '../../../../src/main/engine/train/run-create';
import { modelFromCheckpoint, promoteRun } from '../../../../src/main/engine/train/run-promote';
import { trainRun } from '../../../../src/main/engine/train/run';
import { listCheckpoints } from '../../../../src/main/engine/train/checkpoint';
import { disposeBundle, encode, generate, loadBundle, translate } from '../../../../src/main/engine/train/bundle';
import type { ModelKind } from '../../../../src/main/engine/models';
import { useTestBackend } from '../layers/test-backend';

let ws: Workspace;
let root: string;
beforeAll(async () => {
  await useTestBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-train-'));
  ws = openWorkspace(root);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const REQ: Record<ModelKind, Omit<TrainRequest, 'steps'>> = {
  pix2pix: { model: 'pix2pix', datasetId: 'synthetic:paired', options: { size: 16, ngf: 4, ndf: 4 } },
  cyclegan: { model: 'cyclegan', datasetId: 'synthetic:unpaired', options: { size: 16, ngf: 4, ndf: 4, blocks: 1, poolSize: 1 } },
  gan: { model: 'gan', datasetId: 'synthetic:images', options: { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 2, sampleCount: 2 } },
  cgan: { model: 'cgan', datasetId: 'synthetic:labelled', options: { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 2, sampleCount: 2 } },
  autoencoder: { model: 'autoencoder', datasetId: 'synthetic:images', options: { size: 16, latent: 4, ngf: 4, batchSize: 2 } },
};

const isPng = (b: Uint8Array) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;

describe.each(Object.keys(REQ) as ModelKind[])('training job: %s', (kind) => {
  it('run folder, samples, checkpoints; resume equals the uninterrupted run; bundle reloads and generates the same output', async () => {
    const base = { ...REQ[kind], steps: 4, checkpointEvery: 2, sampleEvery: 2, keepCheckpoints: 2 };
    // uninterrupted
    const a = await createRun(ws, base);
    const progress: number[] = [];
    const samples: Uint8Array[] = [];
    const sa = await trainRun(ws, a.runDir, { progress: (p) => progress.push(p.step), sample: (s) => samples.push(s.png) });
    expect(sa.state).toBe('done');
    expect(sa.step).toBe(4);
    expect(progress.at(-1)).toBe(4);
    expect(samples.length).toBe(2);
    expect(isPng(samples[0]!)).toBe(true);
    expect(fs.existsSync(path.join(a.runDir, 'samples', 'step-4.png'))).toBe(true);
    const opts = JSON.parse(fs.readFileSync(path.join(a.runDir, 'options.json'), 'utf8'));
    expect(opts.options.lr).toBe(2e-4);
    expect((await listCheckpoints(a.runDir)).map((c) => c.step)).toEqual([2, 4]);
    const logA = await readLog(a.runDir);
    expect(logA.map((e) => e.step)).toEqual([1, 2, 3, 4]);

    // interrupted at 2, resumed
    const b = await createRun(ws, base);
    const s1 = await trainRun(ws, b.runDir, { stopAtStep: 2 });
    expect(s1.state).toBe('cancelled');
    expect(s1.checkpoint).toBe(2);
    const n0 = tf.memory().numTensors;
    const s2 = await trainRun(ws, b.runDir);
    expect(tf.memory().numTensors).toBe(n0);
    expect(s2.resumedFrom).toBe(2);
    expect(s2.state).toBe('done');
    const logB = await readLog(b.runDir);
    expect(logB.map((e) => e.step)).toEqual([1, 2, 3, 4]);
    for (let i = 0; i < 4; i++) {
      for (const [k, v] of Object.entries(logA[i]!.losses)) expect(Math.abs(logB[i]!.losses[k]! - v)).toBeLessThan(1e-5);
    }

    // bundle: reload with no flags and compare with the final checkpoint's networks
    expect(sa.bundleDir).toBeTruthy();
    const bundle = await loadBundle(sa.bundleDir!);
    expect(bundle.meta.model).toBe(kind);
    expect(bundle.meta.preprocessing.valueRange).toEqual([-1, 1]);
    expect(bundle.meta.training.steps).toBe(4);
    const { model } = await modelFromCheckpoint(a.runDir);
    const S = 16;
    const C = (REQ[kind].options!.channels as number | undefined) ?? 3;
    let got: tf.Tensor;
    let want: tf.Tensor;
    if (kind === 'gan' || kind === 'cgan') {
      const z = tf.randomNormal([3, 8], 0, 1, 'float32', 5) as tf.Tensor2D;
      got = generate(bundle, { z, labels: [0, 1, 2] });
      const g = model.inferenceNetwork('G'); // the bundle stores what inference uses (gan/cgan: the EMA of G)
      want = g.predict(kind === 'cgan' ? [z, tf.tensor2d([0, 1, 2], [3, 1], 'int32')] : z) as tf.Tensor;
      z.dispose();
    } else {
      const x = tf.randomUniform([2, S, S, C], -1, 1, 'float32', 6) as tf.Tensor4D;
      got = translate(bundle, x);
      const nets = model.networks;
      want =
        kind === 'autoencoder'
          ? (nets.decoder!.predict(nets.encoder!.predict(x) as tf.Tensor) as tf.Tensor)
          : ((kind === 'cyclegan' ? nets.G_A! : nets.G!).predict(x) as tf.Tensor);
      if (kind === 'autoencoder') {
        const zz = encode(bundle, x);
        expect(zz.shape).toEqual([2, 4]);
        zz.dispose();
      }
      x.dispose();
    }
    expect(got.shape).toEqual(want.shape);
    expect(got.shape.slice(1)).toEqual([S, S, C]);
    const diff = tf.tidy(() => tf.sub(got, want).abs().max().dataSync()[0]!);
    expect(diff).toBeLessThan(1e-6);
    tf.dispose([got, want]);
    model.dispose();
    disposeBundle(bundle);
  });
});

describe('promote', () => {
  it('makes a bundle from an earlier checkpoint', async () => {
    const r = await createRun(ws, { ...REQ.pix2pix, steps: 2, checkpointEvery: 1, keepCheckpoints: 5, bundle: false });
    await trainRun(ws, r.runDir);
    const p = await promoteRun(ws, r.runId, { step: 1 });
    expect(p.bundleId).toContain('step-1');
    const b = await loadBundle(p.dir);
    expect(b.meta.training.steps).toBe(1);
    expect(b.meta.preprocessing.inference.dropout).toBe('off');
    disposeBundle(b);
  });
});

describe('damaged checkpoint', () => {
  it('a truncated newest checkpoint falls back to the previous one', async () => {
    const r = await createRun(ws, { ...REQ.autoencoder, steps: 4, checkpointEvery: 1, keepCheckpoints: 3, bundle: false });
    await trainRun(ws, r.runDir, { stopAtStep: 3 });
    const ck = await listCheckpoints(r.runDir);
    expect(ck.map((c) => c.step)).toEqual([1, 2, 3]);
    fs.truncateSync(path.join(ck[2]!.dir, 'state.bin'), 10);
    const s = await trainRun(ws, r.runDir);
    expect(s.resumedFrom).toBe(2);
    expect(s.step).toBe(4);
    expect((await readLog(r.runDir)).map((e) => e.step)).toEqual([1, 2, 3, 4]);
  });
});
