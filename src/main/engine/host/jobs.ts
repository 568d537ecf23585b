/**
 * The job broker inside the engine: long work (training, imports, exports, folder translation,
 * big analyses) runs as a job with an id, progress events, optional sample images, cancel and
 * pause, and ALWAYS one final event (job.done or job.failed).
 */
import crypto from 'node:crypto';
import type { JobInfo } from '../../../shared/channels/job';
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

interface Entry {
  info: JobInfo;
  abort: AbortController;
  paused: boolean;
  resumeWaiters: (() => void)[];
  lastProgressAt: number;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export class JobManager {
  private jobs = new Map<string, Entry>();
  constructor(private readonly emit: Emit) {}

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

  /** Start `fn` as a job; returns at once with the job's info. */
  start<T>(kind: string, title: string, fn: (job: JobContext) => Promise<T>, opts: { total?: number; id?: string } = {}): JobInfo {
    const id = opts.id ?? `${kind.replace(/[^A-Za-z0-9]/g, '-')}-${Date.now().toString(36)}-${crypto.randomBytes(3).toString('hex')}`;
    const entry: Entry = {
      info: { id, kind, title, state: 'running', startedAt: Date.now(), step: 0, total: opts.total ?? 0 },
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
    this.emit('job.started', { ...entry.info });
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
      );
    return { ...entry.info };
  }

  cancel(id: string): boolean {
    const e = this.jobs.get(id);
    if (!e) throw new StudioError('NOT_FOUND', `No job with id ${id}.`, { hint: 'It may have ended already; refresh the job list.' });
    if (e.info.state !== 'running' && e.info.state !== 'paused' && e.info.state !== 'queued') return false;
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
