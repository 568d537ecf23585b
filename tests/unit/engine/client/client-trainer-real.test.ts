/**
 * Training in its own engine host, with real host processes (childProcessSpawner) and a temp
 * workspace: the primary answers requests while a pix2pix step is in progress in the trainer;
 * job and run channels reach the right host; SIGKILL of the primary leaves training running;
 * SIGKILL of the trainer fails its job (ENGINE_CRASHED) while the primary keeps answering, and
 * the run resumes in a fresh trainer. Structural assertions, no tight timings (2-core CI).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineClient, childProcessSpawner } from '../../../../src/main/engine/client/client';
import type { Envelope } from '../../../../src/shared/errors';
import type { JobInfo } from '../../../../src/shared/channels/job';
import type { RunDetail, RunSummary } from '../../../../src/shared/channels/train';
import type { EngineStats } from '../../../../src/shared/channels/app';
import { listCheckpoints } from '../../../../src/main/engine/train/checkpoint';
import { waitFor } from '../../../fixtures/wait';

/** `seq`: the position in one order shared by events and request answers (no clock involved). */
type Ev = { event: string; payload: Record<string, unknown>; seq: number };

describe('training runs in its own engine host', () => {
  let ws: string;
  let client: EngineClient;
  const events: Ev[] = [];
  let paired = '';
  let jobId = '';
  let runId = '';
  let seq = 0;

  const ok = <T>(e: Envelope<unknown>): T => {
    if (!e.ok) throw new Error(`${e.error.code}: ${e.error.message}`);
    return e.data as T;
  };
  const jobEnd = (id: string) => waitFor(() => events.find((e) => (e.event === 'job.done' || e.event === 'job.failed') && e.payload.jobId === id));
  const progress = (id: string) => events.filter((e) => e.event === 'job.progress' && e.payload.jobId === id && typeof e.payload.step === 'number');
  const lastStep = (id: string) => (progress(id).at(-1)?.payload.step as number | undefined) ?? -1;

  beforeAll(async () => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-trainer-'));
    client = new EngineClient(childProcessSpawner({ ...process.env, ATELIER_WORKSPACE: ws, ATELIER_ENGINE_FROM_SOURCE: '1' }), { maxCrashesPerMinute: 100 });
    client.onEvent((event, payload) => events.push({ event, payload: payload as Record<string, unknown>, seq: ++seq }));
    const demo = ok<{ jobId: string }>(await client.request('dataset.demo', {}));
    expect((await jobEnd(demo.jobId)).event).toBe('job.done');
    paired = ok<{ id: string; kind: string }[]>(await client.request('dataset.list', {})).find((d) => d.kind === 'paired')!.id;
  });
  afterAll(async () => {
    await client.close();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  it('starts a second host for training and answers other requests while a step is in progress', async () => {
    expect(client.trainerPid).toBeUndefined();
    const primaryPid = client.pid!;
    // Steps slow enough (well over the 250 ms progress throttle) that progress comes every step.
    const start = ok<{ jobId: string; runId: string }>(
      await client.request('train.start', { model: 'pix2pix', datasetId: paired, steps: 100_000, sampleEvery: 100_000, checkpointEvery: 4, keepCheckpoints: 2, options: { size: 128, ngf: 64, ndf: 32, seed: 1 } }),
    );
    ({ jobId, runId } = start);
    expect(client.trainerPid).toBeGreaterThan(0);
    expect(client.trainerPid).not.toBe(primaryPid);
    expect(client.pid).toBe(primaryPid);
    expect(client.trainerStarts).toBe(1);
    await waitFor(() => lastStep(jobId) >= 2);

    // Fire small requests back to back while it trains, for six more steps. With one host, a
    // request sent during a step is answered only after that step (and its progress event); here
    // the primary answers several requests sent after one step's progress event and answered
    // before the next one's. Checked on the order of events, not on a clock.
    const answered: { sent: number; got: number }[] = [];
    const until = progress(jobId).length + 6;
    let i = 0;
    while (progress(jobId).length < until) {
      if (events.some((e) => e.event === 'job.failed' && e.payload.jobId === jobId)) throw new Error('training failed');
      const sent = ++seq;
      ok(await client.request(i++ % 2 ? 'app.stats' : 'dataset.list', {}));
      answered.push({ sent, got: ++seq });
      await new Promise((r) => setTimeout(r, 5));
    }
    const ps = progress(jobId);
    let best = 0;
    let pairs = 0;
    for (let k = 1; k < ps.length; k++) {
      const a = ps[k - 1]!;
      const b = ps[k]!;
      // One step between the two events, no checkpoint write (which awaits file I/O) in between.
      if ((b.payload.step as number) - (a.payload.step as number) !== 1 || (a.payload.step as number) % 4 === 0) continue;
      pairs++;
      best = Math.max(best, answered.filter((r) => r.sent > a.seq && r.got < b.seq).length);
    }
    expect(pairs).toBeGreaterThan(0);
    expect(best).toBeGreaterThanOrEqual(4);
  });

  it('routes job and run channels to the host that knows the job', async () => {
    const jobs = ok<JobInfo[]>(await client.request('job.list', {}));
    expect(jobs.find((j) => j.id === jobId)).toMatchObject({ kind: 'train', state: 'running', runId });
    expect(jobs.some((j) => j.kind === 'dataset.demo' && j.state === 'done')).toBe(true);

    const runs = ok<RunSummary[]>(await client.request('run.list', {}));
    expect(runs.find((r) => r.runId === runId)).toMatchObject({ state: 'running', jobId });
    const detail = ok<RunDetail>(await client.request('run.get', { runId }));
    expect(detail.summary).toMatchObject({ state: 'running', jobId });
    expect(await client.request('run.delete', { runId })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(await client.request('train.resume', { runId })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });

    expect(ok<JobInfo>(await client.request('train.pause', { jobId, paused: true })).state).toBe('paused');
    expect(ok<JobInfo[]>(await client.request('job.list', {})).find((j) => j.id === jobId)?.state).toBe('paused');
    const stats = ok<EngineStats>(await client.request('app.stats', {}));
    expect(stats.trainer).toMatchObject({ pid: client.trainerPid, runningJobs: 1 });
    expect(stats.runningJobs).toBe(1);
    expect(stats.trainer!.tensors).toBeGreaterThan(0);
    expect(ok<JobInfo>(await client.request('train.pause', { jobId, paused: false })).state).toBe('running');
    expect(await client.request('job.cancel', { jobId: 'train-nope' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('keeps training when the primary host is killed', async () => {
    const primaryPid = client.pid!;
    const trainerPid = client.trainerPid!;
    const before = lastStep(jobId);
    process.kill(primaryPid, 'SIGKILL');
    await waitFor(() => events.some((e) => e.event === 'engine.state' && e.payload.state === 'crashed'));
    await waitFor(() => client.pid && client.pid !== primaryPid);
    ok(await client.request('app.version', {}));
    await waitFor(() => lastStep(jobId) > before + 1);
    expect(events.some((e) => e.event === 'job.failed' && e.payload.jobId === jobId)).toBe(false);
    expect(client.trainerPid).toBe(trainerPid);
    // The fresh primary does not know the job; the client still lists and routes it.
    expect(ok<JobInfo[]>(await client.request('job.list', {})).find((j) => j.id === jobId)?.state).toBe('running');
    expect(ok<RunSummary[]>(await client.request('run.list', {})).find((r) => r.runId === runId)).toMatchObject({ state: 'running', jobId });
  });

  it('fails the job with ENGINE_CRASHED when the trainer is killed, keeps answering, and resumes in a new trainer', async () => {
    const trainerPid = client.trainerPid!;
    const primaryPid = client.pid!;
    const t0 = Date.now();
    while (!(await listCheckpoints(path.join(ws, 'runs', runId))).length) {
      if (Date.now() - t0 > 180_000) throw new Error('no checkpoint');
      await new Promise((r) => setTimeout(r, 50));
    }
    const states = events.filter((e) => e.event === 'engine.state').length;
    process.kill(trainerPid, 'SIGKILL');
    const failed = await jobEnd(jobId);
    expect(failed.event).toBe('job.failed');
    expect(failed.payload.error).toMatchObject({ code: 'ENGINE_CRASHED' });
    expect((failed.payload.error as { message: string }).message).toMatch(/training engine stopped unexpectedly/);
    expect(events.filter((e) => e.event === 'engine.state').length).toBe(states);
    expect(client.trainerPid).toBeUndefined();
    expect(ok<{ id: string }[]>(await client.request('dataset.list', {})).some((d) => d.id === paired)).toBe(true);
    expect(client.pid).toBe(primaryPid);
    expect(ok<RunSummary[]>(await client.request('run.list', {})).find((r) => r.runId === runId)?.state).toBe('interrupted');
    expect(ok<JobInfo[]>(await client.request('job.list', {})).find((j) => j.id === jobId)?.state).toBe('failed');

    const newest = (await listCheckpoints(path.join(ws, 'runs', runId))).at(-1)!.step;
    const resumed = ok<{ jobId: string }>(await client.request('train.resume', { runId }));
    expect(client.trainerPid).toBeGreaterThan(0);
    expect(client.trainerPid).not.toBe(trainerPid);
    expect(client.trainerStarts).toBe(2);
    const first = await waitFor(() => progress(resumed.jobId)[0]);
    expect(first.payload.step as number).toBeGreaterThanOrEqual(newest);
    await waitFor(() => lastStep(resumed.jobId) > newest);
    expect(ok<{ cancelled: boolean }>(await client.request('job.cancel', { jobId: resumed.jobId })).cancelled).toBe(true);
    const end = await jobEnd(resumed.jobId);
    expect(end.payload).toMatchObject({ cancelled: true });
  });
});
