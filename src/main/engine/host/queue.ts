/**
 * The order of a job queue: one job of a queue runs at a time, the others wait in order and can
 * be moved. JobManager (jobs.ts) drives it for its own jobs when it runs alone (CLI, tests); the
 * engine client drives one across both hosts.
 *
 * The one job queue across the engine's hosts. The app and `serve` run two hosts (requests and
 * training, router.ts); each host's JobManager runs in `admission: 'remote'` mode, so a queue job
 * (training, folder translation, evaluation, export) is announced with job.started in state
 * 'queued' and waits there until the client sends it a grant. This broker decides the grants: one
 * job of a queue runs at a time on all hosts together, the others wait in order, and a waiting job
 * can be moved. It only sees events, so it holds no engine state: a host that dies ends its jobs
 * through the same job.failed events (the client makes them up), which frees the queue.
 */
import type { JobInfo } from '../../../shared/channels/job';

interface Held {
  info: JobInfo;
  /** Tell the owning host the job may start (a no-op when that host is gone: its jobs fail). */
  grant: () => void;
}

export type MoveTo = 'first' | 'up' | 'down' | 'last';

export class QueueBroker {
  /** Queue name -> id of the job that runs (granted, not yet ended). */
  private readonly runningIds = new Map<string, string>();
  /** Queue name -> jobs waiting, in the order they will start. */
  private readonly waiting = new Map<string, Held[]>();

  /** `updated` relays a waiting job's new position (a job.updated event). */
  constructor(private readonly updated: (info: JobInfo) => void) {}

  /** A host announced a queue job: grant it now, or give it its place. Returns the info to relay. */
  started(info: JobInfo, grant: () => void): JobInfo {
    const q = info.queue!;
    const list = this.waiting.get(q) ?? [];
    if (!this.runningIds.has(q) && !list.length) {
      this.runningIds.set(q, info.id);
      grant();
      // The host says 'running' too once the grant arrives (job.updated); say it now, no flicker.
      const { position: _p, ...rest } = info;
      return { ...rest, state: 'running' };
    }
    const held: Held = { info: { ...info, state: 'queued', position: list.length + 1 }, grant };
    list.push(held);
    this.waiting.set(q, list);
    return { ...held.info };
  }

  /** A job ended (done, failed, cancelled, or its host died): free its queue or its place. */
  ended(jobId: string): void {
    for (const [q, id] of [...this.runningIds]) {
      if (id !== jobId) continue;
      this.runningIds.delete(q);
      this.next(q);
    }
    for (const [q, list] of this.waiting) {
      const i = list.findIndex((h) => h.info.id === jobId);
      if (i < 0) continue;
      list.splice(i, 1);
      this.renumber(q);
    }
  }

  /** Move a waiting job; undefined when the job does not wait in any queue. */
  move(jobId: string, to: MoveTo): JobInfo | undefined {
    for (const [q, list] of this.waiting) {
      const i = list.findIndex((h) => h.info.id === jobId);
      if (i < 0) continue;
      const [held] = list.splice(i, 1);
      const j = to === 'first' ? 0 : to === 'last' ? list.length : to === 'up' ? Math.max(0, i - 1) : Math.min(list.length, i + 1);
      list.splice(j, 0, held!);
      this.renumber(q);
      return { ...held!.info };
    }
    return undefined;
  }

  /** A host's job list, corrected with the places (and grants) only the broker knows. */
  patch(list: JobInfo[]): JobInfo[] {
    const granted = new Set(this.runningIds.values());
    const places = new Map<string, number>();
    for (const l of this.waiting.values()) l.forEach((h, i) => places.set(h.info.id, i + 1));
    return list.map((j) => {
      if (j.state !== 'queued') return j;
      if (granted.has(j.id)) {
        const { position: _p, ...rest } = j;
        return { ...rest, state: 'running' };
      }
      const position = places.get(j.id);
      return position ? { ...j, position } : j;
    });
  }

  private next(q: string): void {
    const held = this.waiting.get(q)?.shift();
    if (!held) return;
    this.runningIds.set(q, held.info.id);
    held.grant();
    this.renumber(q);
  }

  private renumber(q: string): void {
    (this.waiting.get(q) ?? []).forEach((h, i) => {
      if (h.info.position === i + 1) return;
      h.info.position = i + 1;
      this.updated({ ...h.info });
    });
  }
}
