/**
 * EngineClient with two hosts, against scripted hosts: training goes to a second host spawned on
 * the first training request; job channels go to the host that owns the job; job.list merges;
 * a trainer crash fails only its jobs (and leaves engine.state alone); a primary crash leaves
 * training alone; an idle trainer is shut down. The real-process version is client-trainer-real.
 */
import { describe, expect, it } from 'vitest';
import { EngineClient, type HostProcess } from '../../../../src/main/engine/client/client';
import type { FromHost, ToHost } from '../../../../src/main/engine/host/protocol';
import type { HostRole } from '../../../../src/main/engine/client/router';
import type { JobInfo } from '../../../../src/shared/channels/job';
import type { Envelope } from '../../../../src/shared/errors';
import { waitFor } from '../../../fixtures/wait';

interface FakeHost {
  role: HostRole;
  pid: number;
  got: { channel: string; payload: unknown }[];
  jobs: JobInfo[];
  emit: (m: FromHost) => void;
  exit: (code: number | null, signal?: string) => void;
  shutdown: boolean;
}

/**
 * Scripted hosts: each answers job.list with its jobs, app.stats with its numbers, train.start by
 * starting a job (job.started, then the answer, as the real host does), job.cancel by ending it.
 */
function fakeSpawner() {
  const hosts: FakeHost[] = [];
  let nextPid = 100;
  const spawner = (opts?: { role?: HostRole }): HostProcess => {
    let onMsg: (m: FromHost) => void = () => {};
    const onExit: ((c: number | null, s?: string | null) => void)[] = [];
    const h: FakeHost = {
      role: opts?.role ?? 'primary',
      pid: nextPid++,
      got: [],
      jobs: [],
      emit: (m) => onMsg(m),
      exit: (c, s) => onExit.forEach((f) => f(c, s ?? null)),
      shutdown: false,
    };
    hosts.push(h);
    const answer = (id: number, envelope: Envelope<unknown>) => setTimeout(() => onMsg({ t: 'res', id, envelope }), 1);
    const handle = (m: ToHost) => {
      if (m.t === 'shutdown') {
        h.shutdown = true;
        setTimeout(() => h.exit(0), 1);
        return;
      }
      if (m.t === 'grant') return; // its jobs never ask (no queue)
      const p = m.payload as Record<string, unknown>;
      h.got.push({ channel: m.channel, payload: p });
      if (m.channel === 'train.start' || m.channel === 'dataset.demo') {
        const job: JobInfo = { id: `${m.channel}-${h.pid}-${h.jobs.length}`, kind: m.channel === 'train.start' ? 'train' : 'dataset.demo', title: 't', state: 'running', startedAt: Date.now() + h.jobs.length, step: 0, total: 10 };
        h.jobs.push(job);
        onMsg({ t: 'evt', event: 'job.started', payload: job });
        answer(m.id, { ok: true, data: { jobId: job.id, runId: `run-${job.id}` } });
      } else if (m.channel === 'job.list') {
        answer(m.id, { ok: true, data: h.jobs.map((j) => ({ ...j })) });
      } else if (m.channel === 'job.cancel') {
        const j = h.jobs.find((x) => x.id === p.jobId);
        if (!j) return answer(m.id, { ok: false, error: { code: 'NOT_FOUND', message: `No job with id ${String(p.jobId)}.` } });
        j.state = 'cancelled';
        answer(m.id, { ok: true, data: { cancelled: true } });
        setTimeout(() => onMsg({ t: 'evt', event: 'job.failed', payload: { jobId: j.id, job: { ...j }, error: { code: 'CANCELLED', message: 'cancelled' }, cancelled: true } }), 2);
      } else if (m.channel === 'app.stats') {
        const running = h.jobs.filter((j) => j.state === 'running').length;
        answer(m.id, { ok: true, data: { rssBytes: h.pid, heapUsedBytes: 1, tensors: h.role === 'trainer' ? 7 : 3, tensorBytes: 1, runningJobs: running, uptimeSec: 1 } });
      } else if (m.channel === 'run.list') {
        answer(m.id, {
          ok: true,
          data: h.jobs.length || h.role === 'primary' ? [{ runId: 'run-train.start-101-0', state: 'interrupted', step: 3 }, { runId: 'other', state: 'done', step: 9 }] : [],
        });
      } else {
        answer(m.id, { ok: true, data: { host: h.role, pid: h.pid } });
      }
    };
    setTimeout(() => onMsg({ t: 'ready', pid: h.pid }), 0);
    return {
      pid: h.pid,
      send: (m) => handle(m),
      onMessage: (cb) => void (onMsg = cb),
      onExit: (cb) => void onExit.push(cb),
      kill: () => h.exit(null, 'SIGKILL'),
    };
  };
  return { hosts, spawner };
}

/** A client over scripted hosts, recording every event it emits. */
function recordingClient() {
  const { hosts, spawner } = fakeSpawner();
  const client = new EngineClient(spawner);
  const events: { event: string; payload: Record<string, unknown> }[] = [];
  client.onEvent((event, payload) => events.push({ event, payload: payload as Record<string, unknown> }));
  return { hosts, client, events };
}

const ok = <T>(e: Envelope<unknown>): T => {
  if (!e.ok) throw new Error(`${e.error.code}: ${e.error.message}`);
  return e.data as T;
};

describe('engine client with a trainer host', () => {
  it('spawns the trainer only for training and routes training and its job channels there', async () => {
    const { hosts, client, events } = recordingClient();
    expect(ok<{ host: string }>(await client.request('dataset.list', {})).host).toBe('primary');
    const demo = ok<{ jobId: string }>(await client.request('dataset.demo', {}));
    // Before any training, the memory estimate is the primary's and spawns no trainer.
    expect(ok<{ host: string }>(await client.request('train.estimate', { model: 'pix2pix', datasetId: 'd' })).host).toBe('primary');
    expect(hosts.map((h) => h.role)).toEqual(['primary']);
    expect(client.trainerPid).toBeUndefined();

    const train = ok<{ jobId: string; runId: string }>(await client.request('train.start', { model: 'pix2pix', datasetId: 'd' }));
    expect(hosts.map((h) => h.role)).toEqual(['primary', 'trainer']);
    const [primary, trainer] = hosts as [FakeHost, FakeHost];
    expect(trainer.got.map((g) => g.channel)).toEqual(['train.start']);
    expect(client.trainerPid).toBe(trainer.pid);
    expect(client.pid).toBe(primary.pid);
    expect(client.trainerStarts).toBe(1);
    expect(events.some((e) => e.event === 'job.started' && e.payload.id === train.jobId)).toBe(true);

    // Other channels stay on the primary; a second training job goes to the same trainer.
    expect(ok<{ host: string }>(await client.request('latent.render', { model: 'm', z: { seed: 1 } })).host).toBe('primary');
    const train2 = ok<{ jobId: string }>(await client.request('train.start', { model: 'gan', datasetId: 'd' }));
    expect(hosts).toHaveLength(2);

    // Job channels go to the owner of the job id; unknown ids to the primary.
    ok(await client.request('train.pause', { jobId: train.jobId, paused: true }));
    expect(trainer.got.at(-1)).toEqual({ channel: 'train.pause', payload: { jobId: train.jobId, paused: true } });
    ok(await client.request('job.cancel', { jobId: demo.jobId }));
    expect(primary.got.at(-1)?.channel).toBe('job.cancel');
    expect(await client.request('job.cancel', { jobId: 'nope' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(primary.got.at(-1)).toEqual({ channel: 'job.cancel', payload: { jobId: 'nope' } });
    expect(ok<{ cancelled: boolean }>(await client.request('job.cancel', { jobId: train2.jobId })).cancelled).toBe(true);
    expect(trainer.got.at(-1)).toEqual({ channel: 'job.cancel', payload: { jobId: train2.jobId } });

    // job.list: both hosts, newest first.
    const list = ok<JobInfo[]>(await client.request('job.list', {}));
    expect(list.map((j) => j.id).sort()).toEqual([demo.jobId, train.jobId, train2.jobId].sort());
    expect(list.map((j) => j.startedAt)).toEqual([...list.map((j) => j.startedAt)].sort((a, b) => b - a));

    // run.list on the primary, with the trainer's run marked as training.
    const runs = ok<{ runId: string; state: string; jobId?: string }[]>(await client.request('run.list', {}));
    expect(trainer.got.some((g) => g.channel === 'run.list')).toBe(false);
    expect(runs.find((r) => r.runId === train.runId)).toMatchObject({ state: 'running', jobId: train.jobId });
    expect(runs.find((r) => r.runId === 'other')).toEqual({ runId: 'other', state: 'done', step: 9 });
    // Deleting a run the trainer is training asks the trainer (whose active map refuses it).
    await client.request('run.delete', { runId: train.runId });
    expect(trainer.got.at(-1)?.channel).toBe('run.delete');
    await client.request('run.delete', { runId: 'other' });
    expect(primary.got.at(-1)?.channel).toBe('run.delete');
    // The memory estimate asks the host whose backend the Start would use: the trainer, while up.
    expect(ok<{ host: string }>(await client.request('train.estimate', { model: 'pix2pix', datasetId: 'd' })).host).toBe('trainer');

    // app.stats: the primary's figures, both hosts' running jobs, the trainer under `trainer`.
    const stats = ok<{ rssBytes: number; tensors: number; runningJobs: number; trainer?: { pid: number; tensors: number } }>(await client.request('app.stats', {}));
    expect(stats.rssBytes).toBe(primary.pid);
    expect(stats.tensors).toBe(3);
    expect(stats.runningJobs).toBe(1); // the first training job (the demo job and train2 were cancelled)
    expect(stats.trainer).toMatchObject({ pid: trainer.pid, tensors: 7 });
    await client.close();
    expect(primary.shutdown && trainer.shutdown).toBe(true);
  });

  it('a trainer crash fails only its jobs, leaves engine.state alone, and the next training request restarts it', async () => {
    const { hosts, client, events } = recordingClient();
    const demo = ok<{ jobId: string }>(await client.request('dataset.demo', {}));
    const train = ok<{ jobId: string; runId: string }>(await client.request('train.start', { model: 'pix2pix', datasetId: 'd' }));
    const statesBefore = events.filter((e) => e.event === 'engine.state').length;
    const trainer = hosts[1]!;
    const pending = client.request('job.list', {});
    trainer.exit(null, 'SIGKILL');
    expect(ok<JobInfo[]>(await pending).find((j) => j.id === train.jobId)).toMatchObject({ state: 'failed' });
    const failed = events.filter((e) => e.event === 'job.failed');
    expect(failed.map((e) => e.payload.jobId)).toEqual([train.jobId]);
    expect(failed[0]!.payload).toMatchObject({ cancelled: false, error: { code: 'ENGINE_CRASHED' } });
    expect(String((failed[0]!.payload.error as { message: string }).message)).toMatch(/training engine stopped unexpectedly \(signal SIGKILL\)/);
    expect(events.filter((e) => e.event === 'engine.state').length).toBe(statesBefore);
    expect(client.trainerPid).toBeUndefined();
    expect(client.pid).toBe(hosts[0]!.pid);
    // The primary answers; the ended job is still listed and cannot be cancelled again.
    expect(ok<{ host: string }>(await client.request('dataset.list', {})).host).toBe('primary');
    expect(ok<{ cancelled: boolean }>(await client.request('job.cancel', { jobId: train.jobId })).cancelled).toBe(false);
    expect(await client.request('train.pause', { jobId: train.jobId, paused: true })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    // The run is no longer shown as training.
    const runs = ok<{ runId: string; state: string; jobId?: string }[]>(await client.request('run.list', {}));
    expect(runs.find((r) => r.runId === train.runId)).toEqual({ runId: train.runId, state: 'interrupted', step: 3 });
    expect(hosts).toHaveLength(2);
    // Resume: a new trainer.
    ok(await client.request('train.resume', { runId: train.runId }));
    expect(hosts.map((h) => h.role)).toEqual(['primary', 'trainer', 'trainer']);
    expect(client.trainerStarts).toBe(2);
    expect(hosts[2]!.got.map((g) => g.channel)).toEqual(['train.resume']);
    // The primary's job was never failed.
    expect(events.some((e) => e.event === 'job.failed' && e.payload.jobId === demo.jobId)).toBe(false);
    await client.close();
  });

  it('a primary crash does not touch training jobs', async () => {
    const { hosts, client, events } = recordingClient();
    const demo = ok<{ jobId: string }>(await client.request('dataset.demo', {}));
    const train = ok<{ jobId: string }>(await client.request('train.start', { model: 'pix2pix', datasetId: 'd' }));
    hosts[0]!.exit(null, 'SIGKILL');
    const failed = events.filter((e) => e.event === 'job.failed').map((e) => e.payload.jobId);
    expect(failed).toEqual([demo.jobId]);
    expect(events.some((e) => e.event === 'engine.state' && e.payload.state === 'crashed')).toBe(true);
    // Training events still flow, and its channels still reach the trainer.
    hosts[1]!.emit({ t: 'evt', event: 'job.progress', payload: { jobId: train.jobId, step: 5, total: 10 } });
    expect(events.at(-1)).toEqual({ event: 'job.progress', payload: { jobId: train.jobId, step: 5, total: 10 } });
    await waitFor(() => hosts.length === 3, 10_000, 5);
    expect(hosts[2]!.role).toBe('primary');
    const list = ok<JobInfo[]>(await client.request('job.list', {}));
    expect(list.map((j) => j.id)).toEqual([train.jobId]);
    expect(ok<{ cancelled: boolean }>(await client.request('job.cancel', { jobId: train.jobId })).cancelled).toBe(true);
    expect(hosts[1]!.got.at(-1)?.channel).toBe('job.cancel');
    await client.close();
  });

  it('shuts an idle trainer down, keeps its ended jobs listed, and spawns a fresh one for the next run', async () => {
    const { hosts, spawner } = fakeSpawner();
    const client = new EngineClient(spawner, { trainerIdleMs: 50 });
    await client.start();
    const train = ok<{ jobId: string }>(await client.request('train.start', { model: 'pix2pix', datasetId: 'd' }));
    const trainer = hosts[1]!;
    // Busy: not shut down however long it trains.
    await new Promise((r) => setTimeout(r, 150));
    expect(trainer.shutdown).toBe(false);
    ok(await client.request('job.cancel', { jobId: train.jobId }));
    await waitFor(() => trainer.shutdown, 10_000, 5);
    expect(client.trainerPid).toBeUndefined();
    const list = ok<JobInfo[]>(await client.request('job.list', {}));
    expect(list.find((j) => j.id === train.jobId)).toMatchObject({ state: 'cancelled' });
    const stats = ok<{ runningJobs: number; trainer?: unknown }>(await client.request('app.stats', {}));
    expect(stats.trainer).toBeUndefined();
    expect(stats.runningJobs).toBe(0);
    expect(hosts).toHaveLength(2); // app.stats and job.list do not wake the trainer
    ok(await client.request('train.start', { model: 'pix2pix', datasetId: 'd' }));
    expect(hosts).toHaveLength(3);
    expect(client.trainerPid).toBe(hosts[2]!.pid);
    await client.close();
  });

  it('fails a request cleanly when the trainer dies before it is ready', async () => {
    let n = 0;
    const spawner = (opts?: { role?: HostRole }): HostProcess => {
      let onMsg: (m: FromHost) => void = () => {};
      let onExit: (c: number | null) => void = () => {};
      const trainer = opts?.role === 'trainer';
      n++;
      setTimeout(() => (trainer ? onExit(1) : onMsg({ t: 'ready', pid: 1 })), 0);
      return { pid: n, send: (m) => void (m.t === 'shutdown' && setTimeout(() => onExit(0), 1)), onMessage: (cb) => void (onMsg = cb), onExit: (cb) => void (onExit = cb), kill: () => onExit(null) };
    };
    const client = new EngineClient(spawner);
    const res = await client.request('train.start', { model: 'pix2pix', datasetId: 'd' });
    expect(res).toMatchObject({ ok: false, error: { code: 'ENGINE_CRASHED' } });
    await client.close();
  });
});
