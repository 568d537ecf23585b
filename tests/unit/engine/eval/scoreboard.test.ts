/**
 * run.scoreboard through the in-process engine on a tiny pix2pix run (2 checkpoints, ngf 4):
 * a row per checkpoint, the best marked, scores.json reused on the second call. The CycleGAN
 * alarm and the ranking are checked on synthetic metric rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { ensureDemoDatasets } from '../../../../src/main/engine/data/demo';
import { openWorkspace } from '../../../../src/main/engine/core/workspace';
import { capabilitiesFor } from '../../../../src/main/engine/models/registry';
import { bestStepOf, diversityAt, keyMetric, scoreboardAlarm, TRANSFER_ALARM } from '../../../../src/main/engine/eval/scoreboard';
import type { EvalMetric } from '../../../../src/shared/channels/eval';
import type { Scoreboard, ScoreboardRow } from '../../../../src/shared/channels/scoreboard';
import type { Envelope } from '../../../../src/shared/errors';
import { type RecordedEvent, waitJob } from '../../../fixtures/engine-jobs';

describe('scoreboard rules (synthetic metrics)', () => {
  const cyc = (ab: number, ba: number): EvalMetric[] => [
    { key: 'transferRate.AtoB', label: '', value: ab, better: 'higher' },
    { key: 'transferRate.BtoA', label: '', value: ba, better: 'higher' },
  ];
  const row = (step: number, metrics: EvalMetric[], loss: number, outputVariance = 0.05) => ({
    step,
    metrics,
    losses: { G_A: loss, G_B: loss, D_A: 0.25 },
    outputVariance,
  });

  it('ranks by the key metric of the kind (lower L1 wins for pix2pix, higher transfer for cyclegan, NaN never)', () => {
    const l1 = (v: number): EvalMetric[] => [{ key: 'l1', label: '', value: v, better: 'lower' }];
    const rows = [10, 20, 30].map((step, i) => ({ step, key: keyMetric(capabilitiesFor('pix2pix', {}).metrics, l1([0.3, 0.1, 0.2][i]!)) }));
    expect(rows[0]!.key).toMatchObject({ name: 'l1', higherIsBetter: false });
    expect(bestStepOf(rows)).toBe(20);
    const c = [keyMetric(capabilitiesFor('cyclegan', {}).metrics, cyc(0.2, 0.4)), keyMetric(capabilitiesFor('cyclegan', {}).metrics, cyc(0.9, 0.7)), keyMetric(capabilitiesFor('cyclegan', {}).metrics, cyc(NaN, 1))];
    expect(c[1]).toMatchObject({ name: 'transferRate.mean', value: 0.8, higherIsBetter: true });
    expect(bestStepOf(c.map((key, i) => ({ step: i, key })))).toBe(1);
    expect(bestStepOf([{ step: 1, key: { name: 'l1', value: NaN, higherIsBetter: false } }])).toBeNull();
  });

  it('alarms when a transfer rate is near zero while the losses fell', () => {
    const a = scoreboardAlarm(capabilitiesFor('cyclegan', {}), [row(100, cyc(0.5, 0.5), 3), row(200, cyc(0.05, 0.6), 1.5)]);
    expect(a).toMatchObject({ kind: 'collapse', step: 200 });
    expect(a!.message).toMatch(/^Outputs look collapsed\/inverted/);
    expect(a!.message).toContain('A->B');
    expect(a!.hint).toMatch(/lambdaIdentity 0\.5/);
  });

  it('does not alarm when transfer is fine, the losses rose, there is one checkpoint, or the model is not a CycleGAN', () => {
    expect(scoreboardAlarm(capabilitiesFor('cyclegan', {}), [row(100, cyc(0.5, 0.5), 3), row(200, cyc(0.6, 0.7), 1.5)])).toBeNull();
    expect(scoreboardAlarm(capabilitiesFor('cyclegan', {}), [row(100, cyc(0.5, 0.5), 1), row(200, cyc(0.05, 0.05), 2)])).toBeNull();
    expect(scoreboardAlarm(capabilitiesFor('cyclegan', {}), [row(200, cyc(0.05, 0.05), 1)])).toBeNull();
    expect(scoreboardAlarm(capabilitiesFor('pix2pix', {}), [row(100, cyc(0.5, 0.5), 3), row(200, cyc(0.01, 0.01), 1, 0)])).toBeNull();
    // exactly at the threshold is not "below"
    expect(scoreboardAlarm(capabilitiesFor('cyclegan', {}), [row(100, cyc(0.5, 0.5), 3), row(200, cyc(TRANSFER_ALARM, 0.5), 1)])).toBeNull();
  });

  it('alarms on outputs with almost no variance across inputs, whatever the losses', () => {
    const a = scoreboardAlarm(capabilitiesFor('cyclegan', {}), [row(100, cyc(0.5, 0.5), 1), row(200, cyc(0.6, 0.6), 2, 1e-5)]);
    expect(a?.kind).toBe('collapse');
    expect(a!.message).toMatch(/barely vary/);
    // only the newest checkpoint counts
    expect(scoreboardAlarm(capabilitiesFor('cyclegan', {}), [row(200, cyc(0.6, 0.6), 2), row(100, cyc(0.5, 0.5), 1, 0)])).toBeNull();
  });
});

describe('collapse alarm from the logged sample diversity', () => {
  it('any kind: the newest checkpoint whose fixed samples fell below 30% of real images\' variety alarms; above, or no diversity logged, does not', () => {
    const r = (step: number, diversity?: number) => ({ step, metrics: [], ...(diversity !== undefined ? { diversity } : {}) });
    const a = scoreboardAlarm(capabilitiesFor('cgan', {}), [r(100, 0.8), r(200, 0.12)]);
    expect(a).toMatchObject({ kind: 'collapse', step: 200 });
    expect(a!.message).toContain('12%');
    expect(a!.hint).toMatch(/spectralNorm/);
    expect(a!.hint).toMatch(/minibatchStd class/);
    expect(scoreboardAlarm(capabilitiesFor('cgan', {}), [r(100, 0.1), r(200, 0.6)])).toBeNull();
    expect(scoreboardAlarm(capabilitiesFor('gan', {}), [r(100), r(200)])).toBeNull();
    // an untrained model is not collapsed: low from the start alarms only after three checkpoints
    expect(scoreboardAlarm(capabilitiesFor('pix2pix', {}), [r(100, 0.05), r(200, 0.05)])).toBeNull();
    expect(scoreboardAlarm(capabilitiesFor('pix2pix', {}), [r(100, 0.05), r(200, 0.05), r(300, 0.04)])?.message).toMatch(/their inputs/);
  });

  it('diversityAt takes the lowest row of the last logged sample at or before the step', () => {
    const log = [
      { step: 1, epoch: 0, lr: 0, t: 0, losses: {}, diversity: { class_0: 0.9, class_1: 0.5 } },
      { step: 2, epoch: 0, lr: 0, t: 0, losses: {} },
      { step: 3, epoch: 0, lr: 0, t: 0, losses: {}, diversity: { class_0: 0.2, class_1: 0.7 } },
    ];
    expect(diversityAt(log, 2)).toBe(0.5);
    expect(diversityAt(log, 3)).toBe(0.2);
    expect(diversityAt(log, 0)).toBeUndefined();
  });
});

describe('run.scoreboard (in-process engine)', () => {
  let tmp: string;
  let eng: InProcessEngine;
  const events: RecordedEvent[] = [];
  const saved = process.env.ATELIER_DEMO_FROM;
  const JOB_POLLS = 30000; // training and scoring take longer than waitJob's default

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-scoreboard-'));
    process.env.ATELIER_DEMO_FROM = 'resources';
    await ensureDemoDatasets(openWorkspace(path.join(tmp, 'ws')));
    eng = new InProcessEngine({ workspaceRoot: path.join(tmp, 'ws') });
    eng.onEvent((event, payload) => events.push({ event, payload }));
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.ATELIER_DEMO_FROM;
    else process.env.ATELIER_DEMO_FROM = saved;
    await eng.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function call<T>(ch: string, req: unknown): Promise<T> {
    const env = (await eng.request(ch as never, req as never)) as Envelope<T>;
    if (!env.ok) throw Object.assign(new Error(env.error.message), { code: env.error.code });
    return env.data;
  }

  it('answers NOT_FOUND for an unknown run before starting a job', async () => {
    const env = (await eng.request('run.scoreboard', { runId: 'no-such-run' })) as Envelope<unknown>;
    expect(env.ok ? 'ok' : env.error.code).toBe('NOT_FOUND');
  });

  it('scores each checkpoint of a tiny pix2pix run, marks the best, and reuses scores.json', async () => {
    const { jobId, runId } = await call<{ jobId: string; runId: string }>('train.start', {
      model: 'pix2pix',
      datasetId: 'demo-edges2fashion',
      options: { ngf: 4, ndf: 4 },
      steps: 2,
      checkpointEvery: 1,
      keepCheckpoints: 5,
      sampleEvery: 100,
      bundle: false,
    });
    await waitJob(events, jobId, JOB_POLLS);
    const first = await waitJob<Scoreboard>(events, (await call<{ jobId: string }>('run.scoreboard', { runId, limit: 4 })).jobId, JOB_POLLS);
    expect(first.rows.map((r: ScoreboardRow) => r.step)).toEqual([1, 2]);
    expect(first).toMatchObject({ model: 'pix2pix', datasetId: 'demo-edges2fashion', split: 'test', limit: 4, evaluated: 2, cached: 0, alarm: null });
    for (const r of first.rows) {
      expect(r.key).toMatchObject({ name: 'l1', higherIsBetter: false });
      expect(Number.isFinite(r.key.value)).toBe(true);
      expect(r.metrics.map((m) => m.key)).toEqual(expect.arrayContaining(['l1', 'ssim', 'baselineInput.l1']));
      expect(r.outputVariance).toBeGreaterThanOrEqual(0);
    }
    const best = first.rows.reduce((a, b) => (b.key.value < a.key.value ? b : a));
    expect(first.bestStep).toBe(best.step);
    const runDir = path.join(tmp, 'ws', 'runs', runId);
    const file = JSON.parse(fs.readFileSync(path.join(runDir, 'scores.json'), 'utf8'));
    expect(Object.keys(file.entries).sort()).toEqual(['1', '2']);
    // no temp bundles left behind, none in the workspace's bundles
    expect(fs.readdirSync(path.join(tmp, 'ws', 'tmp')).filter((n) => n.startsWith('scoreboard-'))).toEqual([]);
    expect(fs.readdirSync(path.join(tmp, 'ws', 'bundles'))).toEqual([]);

    const second = await waitJob<Scoreboard>(events, (await call<{ jobId: string }>('run.scoreboard', { runId, limit: 4 })).jobId, JOB_POLLS);
    expect(second).toMatchObject({ cached: 2, evaluated: 0, bestStep: first.bestStep });
    expect(second.rows).toEqual(first.rows);
    const cachedOnly = await call<Scoreboard>('run.scores', { runId, limit: 4 });
    expect(cachedOnly.rows).toEqual(first.rows);
    // another slice size is another cache key: nothing cached for it
    expect((await call<Scoreboard>('run.scores', { runId, limit: 6 })).rows).toEqual([]);
  });
  it('scores a tiny CycleGAN run both ways (transfer rates, output variance) and derives its alarm from the rows', async () => {
    const { jobId, runId } = await call<{ jobId: string; runId: string }>('train.start', {
      model: 'cyclegan',
      datasetId: 'demo-sneaker2boot',
      options: { ngf: 4, ndf: 4, blocks: 1, poolSize: 1 },
      steps: 2,
      checkpointEvery: 1,
      keepCheckpoints: 5,
      sampleEvery: 100,
      bundle: false,
    });
    await waitJob(events, jobId, JOB_POLLS);
    const started = await call<{ jobId: string }>('run.scoreboard', { runId, limit: 4 });
    // one scoreboard job per run (they share scores.json); two checkpoints to evaluate keep the first busy
    const again = (await eng.request('run.scoreboard', { runId, limit: 4 })) as Envelope<unknown>;
    expect(again.ok ? 'ok' : again.error.code).toBe('CONFLICT');
    const b = await waitJob<Scoreboard>(events, started.jobId, JOB_POLLS);
    // Literal values of this seeded run (seed 0, wasm, one thread; recorded from it). Two steps of a
    // 4-wide CycleGAN translate nothing yet: no image crosses the classifier's boundary (0 of 4 each
    // way), while the real images are classified right (1), so the classifier is not what fails.
    expect(b.rows.map((r) => r.step)).toEqual([1, 2]);
    const rate = (r: ScoreboardRow, k: string) => r.metrics.find((m) => m.key === k)?.value;
    for (const r of b.rows) {
      expect(r.key).toEqual({ name: 'transferRate.mean', value: 0, higherIsBetter: true });
      expect([rate(r, 'transferRate.AtoB'), rate(r, 'transferRate.BtoA'), rate(r, 'realRate.A'), rate(r, 'realRate.B')]).toEqual([0, 0, 1, 1]);
      expect(Object.keys(r.losses ?? {}).sort()).toEqual(['D_A', 'D_B', 'G_A', 'G_B', 'cycle_A', 'cycle_B', 'idt_A', 'idt_B']);
    }
    // Output variance across inputs, [0,1] scale: small (an untrained generator) but above the
    // collapse alarm's 1e-3.
    expect(b.rows[0]!.outputVariance).toBeCloseTo(0.003016, 4);
    expect(b.rows[1]!.outputVariance).toBeCloseTo(0.002991, 4);
    // The losses logged at each checkpoint's step.
    expect(b.rows[0]!.losses!.G_A).toBeCloseTo(1.508, 2);
    expect(b.rows[0]!.losses!.G_B).toBeCloseTo(1.103, 2);
    expect(b.rows[1]!.losses!.G_A).toBeCloseTo(1.533, 2);
    expect(b.rows[1]!.losses!.G_B).toBeCloseTo(1.218, 2);
    // Transfer is below the alarm's 0.2, but the generator losses rose (2.61 -> 2.75): no alarm.
    expect(b.bestStep).toBe(1);
    expect(b.alarm).toBeNull();
  });
});
