import { describe, expect, it } from 'vitest';
import { JobManager, QUEUE } from '../../../../src/main/engine/host/jobs';
import type { EventName } from '../../../../src/shared/events';
import { waitFor } from '../../../fixtures/wait';

function collect() {
  const events: { e: EventName; p: Record<string, unknown> }[] = [];
  const jm = new JobManager((e, p) => void events.push({ e, p: p as unknown as Record<string, unknown> }));
  const until = (pred: () => boolean) => waitFor(pred, Infinity, 5);
  return { events, jm, until };
}

/** A job that runs until released, recording when it started and ended. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    release: () => release(),
    fn: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
  };
}

describe('job queue', () => {
  it('runs two queued jobs in order, one at a time; jobs outside the queue are not held', async () => {
    const { events, jm, until } = collect();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const ia = jm.start('infer.translateFolder', 'A', a.fn, { queue: QUEUE });
    const ib = jm.start('export.onnx', 'B', b.fn, { queue: QUEUE });
    const free = jm.start('analysis.pca', 'free', async () => 'free');
    expect([ia.state, ib.state, free.state]).toEqual(['running', 'queued', 'running']);
    expect(ib.position).toBe(1);
    await until(() => log.includes('start a') && events.some((x) => x.e === 'job.done' && x.p.jobId === free.id));
    expect(log).toEqual(['start a']);
    a.release();
    await until(() => log.includes('start b'));
    // B started only after A ended, announced by job.updated.
    expect(log).toEqual(['start a', 'end a', 'start b']);
    expect(events.find((x) => x.e === 'job.updated' && x.p.id === ib.id)?.p.state).toBe('running');
    b.release();
    await until(() => jm.get(ib.id)?.state === 'done');
  });

  it('a queued job is cancelled without ever starting, its cleanup runs, and the queue moves on', async () => {
    const { events, jm, until } = collect();
    const log: string[] = [];
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const c = gate(log, 'c');
    let cleaned = 0;
    jm.start('train', 'A', a.fn, { queue: QUEUE });
    const ib = jm.start('train', 'B', b.fn, { queue: QUEUE, onSettled: () => cleaned++ });
    const ic = jm.start('train', 'C', c.fn, { queue: QUEUE });
    expect(jm.cancel(ib.id)).toBe(true);
    expect(cleaned).toBe(1);
    expect(events.find((x) => x.e === 'job.failed' && x.p.jobId === ib.id)?.p.cancelled).toBe(true);
    // C moved up to first place.
    expect(jm.get(ic.id)!.position).toBe(1);
    a.release();
    await until(() => log.includes('start c'));
    expect(log).not.toContain('start b');
    c.release();
    await until(() => jm.get(ic.id)?.state === 'done');
  });

  it('reorders waiting jobs: the moved job starts first', async () => {
    const { jm, until } = collect();
    const log: string[] = [];
    const gates = ['a', 'b', 'c', 'd'].map((n) => gate(log, n));
    const infos = gates.map((g, i) => jm.start('eval.run', `job ${i}`, g.fn, { queue: QUEUE }));
    expect(infos.slice(1).map((i) => i.position)).toEqual([1, 2, 3]);
    jm.move(infos[3]!.id, 'first');
    jm.move(infos[1]!.id, 'down');
    expect([infos[3], infos[2], infos[1]].map((i) => jm.get(i!.id)!.position)).toEqual([1, 2, 3]);
    expect(() => jm.move(infos[0]!.id, 'up')).toThrow(/only a queued job can be moved/);
    // Released all at once: the queue alone decides the order (each starts after the previous ended).
    for (const g of gates) g.release();
    await until(() => log.length === 8);
    expect(log).toEqual(['start a', 'end a', 'start d', 'end d', 'start c', 'end c', 'start b', 'end b']);
  });
});
