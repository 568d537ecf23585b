/**
 * One job queue across the engine's two hosts: each scripted host runs a real JobManager in
 * 'remote' admission mode (as runHost builds it), the EngineClient grants. A training (trainer
 * host) and a folder translation (primary host) submitted together run one after the other;
 * cancel and reorder work across hosts; a host that dies frees the queue.
 */
import { describe, expect, it } from 'vitest';
import { EngineClient, type HostProcess } from '../../../../src/main/engine/client/client';
import { JobManager, QUEUE } from '../../../../src/main/engine/host/jobs';
import type { FromHost, ToHost } from '../../../../src/main/engine/host/protocol';
import type { HostRole } from '../../../../src/main/engine/client/router';
import type { JobInfo } from '../../../../src/shared/channels/job';
import type { Envelope } from '../../../../src/shared/errors';
import { waitFor } from '../../../fixtures/wait';

/** Hosts whose queue jobs (train.start, infer.translateFolder, eval.run) run until `finish(title)`. */
function hostsWithJobs() {
  const log: string[] = [];
  const gates = new Map<string, () => void>();
  const procs: { role: HostRole; exit: () => void }[] = [];
  let pid = 1;
  const spawner = (opts?: { role?: HostRole }): HostProcess => {
    let onMsg: (m: FromHost) => void = () => {};
    let onExit: (c: number | null, s?: string | null) => void = () => {};
    const jm = new JobManager((event, payload) => setTimeout(() => onMsg({ t: 'evt', event, payload }), 0), 'remote');
    const role = opts?.role ?? 'primary';
    const handle = (m: ToHost) => {
      if (m.t === 'shutdown') return void setTimeout(() => onExit(0), 1);
      if (m.t === 'grant') return jm.grant(m.jobId);
      const p = (m.payload ?? {}) as { title?: string; jobId?: string };
      let data: unknown;
      if (m.channel === 'job.cancel') data = { cancelled: jm.cancel(p.jobId!) };
      else if (m.channel === 'job.list') data = jm.list();
      else {
        const title = p.title!;
        const info = jm.start(m.channel, title, async (j) => {
          log.push(`start ${title}`);
          await new Promise<void>((r) => gates.set(title, r));
          j.throwIfCancelled();
          log.push(`end ${title}`);
        }, { queue: QUEUE });
        data = { jobId: info.id, runId: `run-${title}` };
      }
      setTimeout(() => onMsg({ t: 'res', id: m.id, envelope: { ok: true, data } }), 1);
    };
    const me = { role, exit: () => onExit(null, 'SIGKILL') };
    procs.push(me);
    setTimeout(() => onMsg({ t: 'ready', pid }), 0);
    return { pid: pid++, send: handle, onMessage: (cb) => void (onMsg = cb), onExit: (cb) => void (onExit = cb), kill: me.exit };
  };
  const client = new EngineClient(spawner);
  const events: { event: string; payload: Record<string, unknown> }[] = [];
  client.onEvent((event, payload) => events.push({ event, payload: payload as Record<string, unknown> }));
  const finish = async (title: string) => {
    await waitFor(() => gates.get(title), 10_000, 2);
    gates.get(title)!();
  };
  const ended = (id: string) => waitFor(() => events.find((e) => (e.event === 'job.done' || e.event === 'job.failed') && e.payload.jobId === id), 10_000, 2);
  return { client, events, log, finish, ended, procs };
}

const ok = <T>(e: Envelope<unknown>): T => {
  if (!e.ok) throw new Error(`${e.error.code}: ${e.error.message}`);
  return e.data as T;
};
/** The channels only carry a title to the scripted hosts (they never validate). */
const submit = async (client: EngineClient, channel: string, title: string) => ok<{ jobId: string }>(await client.request(channel, { title })).jobId;

describe('one job queue across the engine hosts', () => {
  it('a training and a folder translation submitted together run one after the other', async () => {
    const { client, events, log, finish, ended } = hostsWithJobs();
    const [train, folder] = await Promise.all([submit(client, 'train.start', 'train'), submit(client, 'infer.translateFolder', 'folder')]);
    await waitFor(() => log.length === 1, 10_000, 2);
    const list = ok<JobInfo[]>(await client.request('job.list', {}));
    const first = log[0] === 'start train' ? train : folder;
    const second = first === train ? folder : train;
    expect(list.find((j) => j.id === first)).toMatchObject({ state: 'running' });
    expect(list.find((j) => j.id === second)).toMatchObject({ state: 'queued', position: 1 });
    // However long the first runs, the second host does not start its job.
    await new Promise((r) => setTimeout(r, 30));
    expect(log).toHaveLength(1);
    await finish(first === train ? 'train' : 'folder');
    await ended(first);
    await finish(second === train ? 'train' : 'folder');
    await ended(second);
    const names = first === train ? ['train', 'folder'] : ['folder', 'train'];
    expect(log).toEqual([`start ${names[0]}`, `end ${names[0]}`, `start ${names[1]}`, `end ${names[1]}`]);
    // Relayed events: the first started running, the second queued and later running (job.updated).
    expect(events.find((e) => e.event === 'job.started' && e.payload.id === first)?.payload.state).toBe('running');
    expect(events.find((e) => e.event === 'job.started' && e.payload.id === second)?.payload).toMatchObject({ state: 'queued', position: 1 });
    expect(events.some((e) => e.event === 'job.updated' && e.payload.id === second && e.payload.state === 'running')).toBe(true);
    await client.close();
  });

  it('reorders and cancels waiting jobs of either host; a dead host frees the queue', async () => {
    const { client, events, log, finish, ended, procs } = hostsWithJobs();
    const train = await submit(client, 'train.start', 'train');
    await waitFor(() => log.includes('start train'), 10_000, 2);
    const a = await submit(client, 'infer.translateFolder', 'a');
    const b = await submit(client, 'eval.run', 'b');
    const t2 = await submit(client, 'train.start', 'train2');
    const places = async () => Object.fromEntries(ok<JobInfo[]>(await client.request('job.list', {})).filter((j) => j.state === 'queued').map((j) => [j.id, j.position]));
    expect(await places()).toEqual({ [a]: 1, [b]: 2, [t2]: 3 });
    // A trainer-host job moves in front of the primary's.
    expect(ok<JobInfo>(await client.request('job.move', { jobId: t2, to: 'first' })).position).toBe(1);
    expect(await places()).toEqual({ [t2]: 1, [a]: 2, [b]: 3 });
    expect(events.some((e) => e.event === 'job.updated' && e.payload.id === a && e.payload.position === 2)).toBe(true);
    expect(await client.request('job.move', { jobId: train, to: 'last' })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(await client.request('job.move', { jobId: 'nope', to: 'last' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    // Cancel a waiting one: it never starts, the others move up.
    expect(ok<{ cancelled: boolean }>(await client.request('job.cancel', { jobId: a })).cancelled).toBe(true);
    await ended(a);
    await waitFor(() => events.some((e) => e.event === 'job.updated' && e.payload.id === b && e.payload.position === 2), 10_000, 2);
    // The trainer dies: its jobs fail (the running and the waiting train2), the primary's b runs.
    procs.find((p) => p.role === 'trainer')!.exit();
    expect((await ended(train)).payload).toMatchObject({ error: { code: 'ENGINE_CRASHED' } });
    expect((await ended(t2)).event).toBe('job.failed');
    await finish('b');
    expect((await ended(b)).event).toBe('job.done');
    expect(log).toEqual(['start train', 'start b', 'end b']);
    await client.close();
  });
});
