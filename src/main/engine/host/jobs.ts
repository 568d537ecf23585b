/**
 * The job broker inside the engine: long work (training, imports, exports, folder translation,
 * big analyses) runs as a job with an id, progress events, optional sample images, cancel and
 * pause, and ALWAYS one final event (job.done or job.failed).
 *
 * Heavy jobs name a queue (`QUEUE`): one job of a queue runs at a time and the others wait in
 * order (state 'queued', their place in `position`) instead of competing for the same two cores;
 * a queued job can be cancelled (it never starts) or moved. Each change is a job.updated event.
 *
 * Where the engine runs as two hosts (app, serve: requests and training), one host's queue alone
 * would let a training and a folder translation run together. There the hosts are built with
 * `admission: 'remote'`: every queue job starts 'queued' and waits for `grant(id)`, and the
 * client keeps the one order across both hosts, with moves and positions. Either way the order is
 * a QueueBroker (queue.ts): this manager drives its own in 'local' mode, the client one across hosts.
 */
import crypto from 'node:crypto';
import type { JobInfo } from '../../../shared/channels/job';
import { QueueBroker } from './queue';
import type { EventMap, EventName, JobProgress } from '../../../shared/events';
import { StudioError, toErrorData } from '../../../shared/errors';

export type Emit = <E extends EventName>(event: E, payload: EventMap[E]) => void;

export interface JobContext {
  readonly id: string;
  readonly signal: AbortSignal;
  progress(p: Omit<JobProgress, 'jobId'>): void;
  sample(s: Omit<EventMap['job.sample'], 'jobId'>): void;
  /** Throws CANCELLED when the user cancelled. Call between steps. */
  throwIfCancelled(): void;
  /** Let other requests in (the engine is one thread) and wait here while paused. */
  checkpoint(): Promise<void>;
  /** Attach the run id (training) so the UI can link the job to its run folder. */
  setRunId(runId: string): void;
}

/** The queue of heavy work (training, folder translation, evaluation, export). */
export const QUEUE = 'work';

interface Entry {
  info: JobInfo;
  /** Starts the work (held back while the job waits in its queue). */
  launch?: () => void;
  /** Bookkeeping the starter needs on any end, including a cancel before the work started. */
  settled?: () => void;
  abort: AbortController;
  paused: boolean;
  resumeWaiters: (() => void)[];
  lastProgressAt: number;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export class JobManager {
  private jobs = new Map<string, Entry>();
  /** Local admission: the order of this manager's queues (a waiting job's new place is a job.updated). */
  private readonly order = new QueueBroker((info) => {
    const e = this.jobs.get(info.id);
    if (!e || e.info.state !== 'queued') return;
    e.info.position = info.position;
    this.emit('job.updated', { ...e.info });
  });
  /**
   * 'local': this manager orders its queues (in-process engine: CLI, tests).
   * 'remote': the driver orders them across hosts; queue jobs wait for `grant`.
   */
  constructor(private readonly emit: Emit, private readonly admission: 'local' | 'remote' = 'local') {}

  list(): JobInfo[] {
    return [...this.jobs.values()].map((e) => ({ ...e.info })).sort((a, b) => b.startedAt - a.startedAt);
  }

  get(id: string): JobInfo | undefined {
    const e = this.jobs.get(id);
    return e ? { ...e.info } : undefined;
  }

  running(): JobInfo[] {
    return this.list().filter((j) => j.state === 'running' || j.state === 'paused' || j.state === 'queued');
  }

  /** Start `fn` as a job (or queue it behind the running job of `opts.queue`); returns at once with the job's info. */
  start<T>(kind: string, title: string, fn: (job: JobContext) => Promise<T>, opts: { total?: number; id?: string; queue?: string; onSettled?: () => void } = {}): JobInfo {
    const id = opts.id ?? `${kind.replace(/[^A-Za-z0-9]/g, '-')}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
    const entry: Entry = {
      info: { id, kind, title, state: 'running', startedAt: Date.now(), step: 0, total: opts.total ?? 0, ...(opts.queue ? { queue: opts.queue } : {}) },
      abort: new AbortController(),
      paused: false,
      resumeWaiters: [],
      lastProgressAt: 0,
    };
    this.jobs.set(id, entry);
    const ctx: JobContext = {
      id,
      signal: entry.abort.signal,
      progress: (p) => {
        entry.info.step = p.step;
        entry.info.total = p.total;
        if (p.message) entry.info.message = p.message;
        this.emit('job.progress', { jobId: id, ...p });
      },
      sample: (s) => this.emit('job.sample', { jobId: id, ...s }),
      throwIfCancelled: () => {
        if (entry.abort.signal.aborted) throw new StudioError('CANCELLED', `${title} was cancelled.`);
      },
      checkpoint: async () => {
        await yieldToLoop();
        while (entry.paused && !entry.abort.signal.aborted) {
          await new Promise<void>((r) => entry.resumeWaiters.push(r));
        }
        ctx.throwIfCancelled();
      },
      setRunId: (runId) => {
        entry.info.runId = runId;
      },
    };
    entry.launch = () => {
      entry.launch = undefined;
      // Run on the next tick so the caller's response ({jobId}) goes out before any job event.
      void yieldToLoop()
        .then(() => fn(ctx))
        .then(
          (result) => {
            entry.info.state = 'done';
            entry.info.endedAt = Date.now();
            this.emit('job.done', { jobId: id, job: { ...entry.info }, result });
          },
          (err: unknown) => {
            const error = toErrorData(err);
            const cancelled = error.code === 'CANCELLED' || entry.abort.signal.aborted;
            entry.info.state = cancelled ? 'cancelled' : 'failed';
            entry.info.endedAt = Date.now();
            entry.info.error = cancelled ? { code: 'CANCELLED', message: `${title} was cancelled.` } : error;
            this.emit('job.failed', { jobId: id, job: { ...entry.info }, error: entry.info.error, cancelled });
          },
        )
        .finally(() => {
          opts.onSettled?.();
          if (opts.queue && this.admission === 'local') this.order.ended(id);
        });
    };
    entry.settled = opts.onSettled;
    if (!opts.queue) {
      this.emit('job.started', { ...entry.info });
      entry.launch();
      return { ...entry.info };
    }
    entry.info.state = 'queued';
    if (this.admission === 'remote') {
      // Held until the driver grants it (at once when nothing of the queue runs on any host).
      this.emit('job.started', { ...entry.info });
      return { ...entry.info };
    }
    // Local admission: granted now (it starts below, announced as running) or later, through grant().
    let announced = false;
    const placed = this.order.started({ ...entry.info }, () => (announced ? this.grant(id) : undefined));
    announced = true;
    entry.info.state = placed.state;
    if (placed.position) entry.info.position = placed.position;
    this.emit('job.started', { ...entry.info });
    if (placed.state === 'running') entry.launch();
    return { ...entry.info };
  }

  /** The driver (the client across hosts, or this manager's own order) lets a held job start. A job already ended or started is left alone. */
  grant(id: string): void {
    const e = this.jobs.get(id);
    if (!e || e.info.state !== 'queued' || !e.launch) return;
    e.info.state = 'running';
    delete e.info.position;
    this.emit('job.updated', { ...e.info });
    e.launch();
  }

  /** Move a queued job: to the front, one place up or down, or to the back of its queue. */
  move(id: string, to: 'first' | 'up' | 'down' | 'last'): JobInfo {
    const e = this.jobs.get(id);
    if (!e) throw new StudioError('NOT_FOUND', `No job with id ${id}.`);
    if (this.admission === 'remote') throw new StudioError('CONFLICT', 'The engine client orders the queue; move the job there.');
    if (!this.order.move(id, to)) throw new StudioError('CONFLICT', `Job ${id} is ${e.info.state}; only a queued job can be moved.`);
    return { ...e.info };
  }

  cancel(id: string): boolean {
    const e = this.jobs.get(id);
    if (!e) throw new StudioError('NOT_FOUND', `No job with id ${id}.`, { hint: 'It may have ended already; refresh the job list.' });
    if (e.info.state !== 'running' && e.info.state !== 'paused' && e.info.state !== 'queued') return false;
    if (e.info.state === 'queued' && e.info.queue) {
      // Never started: it leaves the queue and ends at once, cancelled.
      e.launch = undefined;
      e.abort.abort();
      e.info.state = 'cancelled';
      e.info.endedAt = Date.now();
      delete e.info.position;
      e.info.error = { code: 'CANCELLED', message: `${e.info.title} was cancelled before it started.` };
      this.emit('job.failed', { jobId: id, job: { ...e.info }, error: e.info.error, cancelled: true });
      e.settled?.();
      // (under remote admission the driver's queue learns it from the job.failed event)
      if (this.admission === 'local') this.order.ended(id);
      return true;
    }
    e.abort.abort();
    this.wake(e);
    return true;
  }

  pause(id: string, paused: boolean): JobInfo {
    const e = this.jobs.get(id);
    if (!e) throw new StudioError('NOT_FOUND', `No job with id ${id}.`);
    if (e.info.state !== 'running' && e.info.state !== 'paused') {
      throw new StudioError('CONFLICT', `Job ${id} is ${e.info.state}; only a running job can be paused or resumed.`);
    }
    e.paused = paused;
    e.info.state = paused ? 'paused' : 'running';
    if (!paused) this.wake(e);
    this.emit('job.progress', { jobId: id, step: e.info.step, total: e.info.total, message: paused ? 'paused' : 'resumed' });
    return { ...e.info };
  }

  /** Cancel everything (engine shutdown) and wait briefly for jobs to settle. */
  async cancelAll(timeoutMs = 5000): Promise<void> {
    // Waiting jobs first, so none starts when the running one stops.
    for (const e of this.jobs.values()) if (e.info.state === 'queued') this.cancel(e.info.id);
    for (const e of this.jobs.values()) {
      if (e.info.state === 'running' || e.info.state === 'paused') {
        e.abort.abort();
        this.wake(e);
      }
    }
    const t0 = Date.now();
    while (this.running().length && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 20));
  }

  private wake(e: Entry) {
    const w = e.resumeWaiters.splice(0);
    for (const r of w) r();
  }
}
