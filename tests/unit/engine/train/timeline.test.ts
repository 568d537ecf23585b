/** The checkpoint timeline (train/timeline.ts): pinned set, a frame per checkpoint, flags, diversity in the log. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';
import { capabilitiesFor } from '../../../../src/main/engine/models/registry';
import { readLog } from '../../../../src/main/engine/train/run-files';
import { createRun } from '../../../../src/main/engine/train/run-create';
import { trainRun } from '../../../../src/main/engine/train/run';
import { getTimeline } from '../../../../src/main/engine/train/runs';
import { sampleStats, varietyPicks, COLLAPSE_RATIO } from '../../../../src/main/engine/train/timeline';
import { useTestBackend } from '../layers/test-backend';

let ws: Workspace;
let root: string;
beforeAll(async () => {
  await useTestBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-timeline-'));
  ws = openWorkspace(root);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('checkpoint timeline', () => {
  it('pix2pix: 8 items pinned by k-means, a frame at every checkpoint (also pruned ones), promotable only while kept', async () => {
    const req = { model: 'pix2pix', datasetId: 'synthetic:paired', options: { size: 16, ngf: 4, ndf: 4 }, steps: 6, checkpointEvery: 2, sampleEvery: 2, keepCheckpoints: 2 };
    await trainRun(ws, (await createRun(ws, req)).runDir); // first run: the backend's one-time tensors
    const r = await createRun(ws, req);
    const n0 = tf.memory().numTensors;
    await trainRun(ws, r.runDir);
    expect(tf.memory().numTensors).toBe(n0);
    const t = await getTimeline(ws, r.runId);
    expect(t.pin).toEqual({ mode: 'kmeans', count: 8 });
    expect(new Set(t.indices).size).toBe(8);
    expect(t.frames.map((f) => f.step)).toEqual([2, 4, 6]);
    expect(t.frames.map((f) => f.checkpoint)).toEqual([false, true, true]);
    const f = t.frames[2]!;
    expect(f.png[1]).toBe(0x50); // PNG
    expect(f.rows).toEqual(['real_A', 'fake_B', 'real_B']);
    expect(Number.isFinite(f.stats.copy)).toBe(true);
    expect(Number.isFinite(f.stats.colourDrift)).toBe(true);
    // the losses log carries the sample diversity at sample steps
    const log = await readLog(r.runDir);
    expect(log.filter((e) => e.diversity).map((e) => e.step)).toEqual([2, 4, 6]);
    expect(Object.keys(log[1]!.diversity!)).toEqual(['fake_B']);
  });

  it('cgan with user-chosen pins keeps them; per-class diversity is logged', async () => {
    const r = await createRun(ws, { model: 'cgan', datasetId: 'synthetic:labelled', options: { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 2, sampleCount: 3 }, steps: 2, checkpointEvery: 1, sampleEvery: 1, pin: { mode: 'indices', indices: [3, 1, 2] } });
    await trainRun(ws, r.runDir);
    const t = await getTimeline(ws, r.runId);
    expect(t.pin).toEqual({ mode: 'indices', indices: [3, 1, 2] });
    expect(t.frames.map((f) => f.step)).toEqual([1, 2]);
    const log = await readLog(r.runDir);
    expect(Object.keys(log[0]!.diversity!).sort()).toEqual(['class_0', 'class_1', 'class_2', 'class_3']);
  });

  it('flags: collapse (identical outputs), copy (output = input), colour drift', () => {
    const same = tf.zeros([4, 8, 8, 1]) as tf.Tensor4D;
    const varied = tf.randomUniform([4, 8, 8, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
    const white = tf.ones([4, 8, 8, 1]) as tf.Tensor4D;
    const ref = { pairwise: { all: 0.4 }, colour: [0.5] };
    const collapsed = sampleStats(capabilitiesFor('gan', {}), { fake: same }, ref);
    expect(collapsed.diversityMin).toBe(0);
    expect(collapsed.flags.map((x) => x.kind)).toEqual(['collapse']);
    const copying = sampleStats(capabilitiesFor('pix2pix', {}), { real_A: varied, fake_B: varied, real_B: varied }, ref);
    expect(copying.copy).toBe(0);
    expect(copying.diversity.fake_B).toBeCloseTo(1, 6);
    expect(copying.flags.map((x) => x.kind)).toEqual(['copy']);
    const drift = sampleStats(capabilitiesFor('pix2pix', {}), { real_A: varied, fake_B: white, real_B: varied }, ref);
    expect(drift.flags.map((x) => x.kind).sort()).toEqual(['collapse', 'colour-drift']);
    expect(COLLAPSE_RATIO).toBe(0.3);
    tf.dispose([same, varied, white]);
  });

  it('varietyPicks takes one item per k-means cluster (the one nearest its centre)', () => {
    // three tight groups on a line: 0..4 near 0, 5..9 near 10, 10..14 near 20
    const data = Float32Array.from({ length: 15 }, (_, i) => Math.floor(i / 5) * 10 + (i % 5) * 0.1);
    const picks = varietyPicks(data, 15, 1, 3, 0).map((i) => Math.floor(i / 5)).sort();
    expect(picks).toEqual([0, 1, 2]);
  });
});
