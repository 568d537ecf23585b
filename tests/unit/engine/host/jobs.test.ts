import { describe, expect, it } from 'vitest';
import { JobManager } from '../../../../src/main/engine/host/jobs';
import type { EventName } from '../../../../src/shared/events';
import { waitFor } from '../../../fixtures/wait';

function collect() {
  const events: { e: EventName; p: Record<string, unknown> }[] = [];
  const jm = new JobManager((e, p) => void events.push({ e, p: p as unknown as Record<string, unknown> }));
  const until = (pred: () => boolean) => waitFor(pred, Infinity, 5);
  return { events, jm, until };
}

describe('job broker', () => {
  it('emits started, progress and exactly one final event', async () => {
    const { events, jm, until } = collect();
    const info = jm.start('demo', 'Demo', async (job) => {
      for (let i = 1; i <= 3; i++) {
        await job.checkpoint();
        job.progress({ step: i, total: 3 });
      }
      return { answer: 42 };
    });
    expect(info.state).toBe('running');
    await until(() => events.some((x) => x.e === 'job.done'));
    expect(events.map((x) => x.e)).toEqual(['job.started', 'job.progress', 'job.progress', 'job.progress', 'job.done']);
    expect(events.at(-1)!.p.result).toEqual({ answer: 42 });
    expect(jm.get(info.id)!.state).toBe('done');
  });

  it('cancels at the next checkpoint with a cancelled failure', async () => {
    const { events, jm, until } = collect();
    let steps = 0;
    const info = jm.start('demo', 'Long', async (job) => {
      for (;;) {
        await job.checkpoint();
        steps++;
      }
    });
    await until(() => steps > 3);
    expect(jm.cancel(info.id)).toBe(true);
    await until(() => events.some((x) => x.e === 'job.failed'));
    const f = events.find((x) => x.e === 'job.failed')!.p;
    expect(f.cancelled).toBe(true);
    expect(jm.get(info.id)!.state).toBe('cancelled');
    expect(jm.cancel(info.id)).toBe(false);
    expect(() => jm.cancel('nope')).toThrow(/No job/);
  });

  it('pauses and resumes between steps', async () => {
    const { jm, until } = collect();
    let steps = 0;
    const info = jm.start('demo', 'Pausable', async (job) => {
      for (;;) {
        await job.checkpoint();
        steps++;
      }
    });
    await until(() => steps > 2);
    jm.pause(info.id, true);
    await new Promise((r) => setTimeout(r, 30));
    const frozen = steps;
    await new Promise((r) => setTimeout(r, 50));
    expect(steps).toBe(frozen);
    expect(jm.get(info.id)!.state).toBe('paused');
    jm.pause(info.id, false);
    await until(() => steps > frozen + 5);
    jm.cancel(info.id);
  });

  it('reports a thrown error as a failure with readable data', async () => {
    const { events, jm, until } = collect();
    jm.start('demo', 'Broken', async () => {
      throw new Error('boom');
    });
    await until(() => events.some((x) => x.e === 'job.failed'));
    const f = events.find((x) => x.e === 'job.failed')!.p as { error: { code: string; message: string }; cancelled: boolean };
    expect(f.cancelled).toBe(false);
    expect(f.error.code).toBe('INTERNAL');
    expect(f.error.message).toContain('boom');
  });
});
