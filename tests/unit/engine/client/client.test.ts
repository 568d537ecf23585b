import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineClient, childProcessSpawner, type HostProcess } from '../../../../src/main/engine/client/client';
import type { FromHost, ToHost } from '../../../../src/main/engine/host/protocol';
import { waitFor } from '../../../fixtures/wait';

/** A scripted host, to test crash bookkeeping without a real process. */
function fakeSpawner() {
  const hosts: { send: (m: FromHost) => void; exit: (code: number) => void; got: ToHost[] }[] = [];
  const spawner = (): HostProcess => {
    let onMsg: (m: FromHost) => void = () => {};
    const onExit: ((c: number | null) => void)[] = [];
    const h = { send: (m: FromHost) => onMsg(m), exit: (c: number) => onExit.forEach((f) => f(c)), got: [] as ToHost[] };
    hosts.push(h);
    setTimeout(() => onMsg({ t: 'ready', pid: 1 }), 0);
    return {
      pid: 1,
      send: (m) => void h.got.push(m),
      onMessage: (cb) => void (onMsg = cb),
      onExit: (cb) => void onExit.push(cb),
      kill: () => h.exit(137),
    };
  };
  return { hosts, spawner };
}

describe('engine client', () => {
  it('reports running jobs as failed (ENGINE_CRASHED) when the host dies, and restarts it', async () => {
    const { hosts, spawner } = fakeSpawner();
    const client = new EngineClient(spawner);
    const events: { event: string; payload: unknown }[] = [];
    client.onEvent((event, payload) => events.push({ event, payload }));
    await client.start();
    const job = { id: 'train-1', kind: 'train', title: 'Train', state: 'running', startedAt: 1, step: 3, total: 10 };
    hosts[0]!.send({ t: 'evt', event: 'job.started', payload: job as never });
    const pending = client.request('job.list', {});
    await waitFor(() => hosts[0]!.got.length, 60_000);
    hosts[0]!.exit(134);
    const res = await pending;
    expect(res).toMatchObject({ ok: false, error: { code: 'ENGINE_CRASHED' } });
    const failed = events.find((e) => e.event === 'job.failed');
    expect(failed?.payload).toMatchObject({ jobId: 'train-1', cancelled: false, error: { code: 'ENGINE_CRASHED' } });
    expect(events.some((e) => e.event === 'engine.state' && (e.payload as { state: string }).state === 'crashed')).toBe(true);
    await waitFor(() => hosts.length === 2, 60_000);
    expect(client.starts).toBe(2);
  });

  it('stops restarting after repeated crashes and says so', async () => {
    const { hosts, spawner } = fakeSpawner();
    const client = new EngineClient(spawner, { maxCrashesPerMinute: 2 });
    const states: string[] = [];
    client.onEvent((e, p) => e === 'engine.state' && states.push((p as { state: string }).state));
    await client.start();
    for (let i = 0; i < 3; i++) {
      await waitFor(() => hosts[i], 60_000);
      await new Promise((r) => setTimeout(r, 5));
      hosts[i]!.exit(1);
    }
    await waitFor(() => states.includes('stopped'), 60_000);
    // A restart would come 250 ms after a crash: wait well past it, then count the hosts.
    await new Promise((r) => setTimeout(r, 1000));
    expect(hosts.length).toBe(3);
    expect(client.starts).toBe(3);
    expect(states.at(-1)).toBe('stopped');
  });

  it('runs the real host in a child process, survives SIGKILL, and answers again', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-client-'));
    const client = new EngineClient(childProcessSpawner({ ...process.env, ATELIER_WORKSPACE: ws, ATELIER_ENGINE_FROM_SOURCE: '1' }));
    try {
      const v = await client.request('app.version', {});
      expect(v).toMatchObject({ ok: true, data: { name: 'Atelier' } });
      const doctor = await client.request('app.doctor', {});
      expect(doctor).toMatchObject({ ok: true, data: { engineMode: 'child-process', workspace: ws } });
      const pid = client.pid!;
      process.kill(pid, 'SIGKILL');
      await waitFor(() => client.pid && client.pid !== pid, 60_000);
      const again = await client.request('job.list', {});
      expect(again).toEqual({ ok: true, data: [] });
      expect(client.starts).toBe(2);
    } finally {
      await client.close();
    }
  });
});
