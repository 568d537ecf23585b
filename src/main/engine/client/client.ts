/**
 * The driver's side of the engine hosts: request/response with ids, events, crash recovery.
 * Two hosts from the same spawner: the primary answers everything but training; a trainer host,
 * spawned on the first training request, runs the training jobs, so a synchronous training step
 * never delays other requests (routing: router.ts). Events of both reach the same listeners.
 * A host that dies is reported as job.failed (ENGINE_CRASHED) for every job it was running; the
 * primary's life is also reported as engine.state events and it is restarted at once, the
 * trainer is restarted on the next training request (and shut down after a minute without
 * training). Never imports tfjs or electron: the Electron main passes a spawner built on
 * utilityProcess.
 *
 * This file is the client's routing and trainer bookkeeping; beside it: spawn.ts (starting and
 * stopping a host process), slot.ts (one host's pending requests and jobs), crash-policy.ts
 * (the crash error, when to restart), trainer-stats.ts (app.stats without waiting for a step),
 * router.ts (which host answers what); the one job queue across both hosts is a host/queue.ts
 * QueueBroker the client drives.
 */
import type { Envelope } from '../../../shared/errors';
import type { EventName } from '../../../shared/events';
import type { JobInfo } from '../../../shared/channels/job';
import type { EngineStats } from '../../../shared/channels/app';
import { CrashWindow, RESTART_DELAY_MS, crashError } from './crash-policy';
import { JOB_CHANNELS, TRAINING_CHANNELS, jobIdOf, mergeJobLists, patchRunDetail, patchRunList, runIdOf } from './router';
import { detachSlot, failPending, launchSlot, newSlot, sendToSlot, type Slot } from './slot';
import { shutdownProc, type HostProcess, type Spawner } from './spawn';
import { TrainerStatsReader } from './trainer-stats';
import { QueueBroker, type MoveTo } from '../host/queue';
import { checkRequest } from '../../../shared/validate';

export { childProcessSpawner, type HostProcess, type Spawner } from './spawn';

type Listener = (event: EventName, payload: unknown) => void;

export interface EngineClientLike {
  request(channel: string, payload: unknown): Promise<Envelope<unknown>>;
  onEvent(cb: Listener): () => void;
  close(): Promise<void>;
}

/** How many ended trainer jobs the client remembers. */
const MEMORY = 500;

export interface EngineClientOptions {
  maxCrashesPerMinute?: number;
  /** Shut the trainer host down after this long without a training job (ms; default 60 s; Infinity keeps it). */
  trainerIdleMs?: number;
}

export class EngineClient implements EngineClientLike {
  private readonly primary = newSlot('primary');
  private readonly trainer = newSlot('trainer');
  private nextId = 1;
  private listeners = new Set<Listener>();
  private closing = false;
  private readonly crashes: CrashWindow;
  /** runId -> jobId of the runs the trainer host is training now. */
  private trainerRuns = new Map<string, string>();
  /**
   * Ended trainer jobs, so job.list keeps them after the trainer host is gone. With the trainer's
   * live jobs, these are the job ids the trainer owns (job channels route by them).
   */
  private trainerEnded = new Map<string, JobInfo>();
  private trainerIdleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly trainerStatsReader = new TrainerStatsReader((slot, channel, payload) => this.send(slot, channel, payload));
  /** Heavy jobs of both hosts wait in one queue: a training and a folder translation never run together. */
  private readonly queue = new QueueBroker((info) => this.emitLocal('job.updated', info));

  constructor(private readonly spawner: Spawner, private readonly opts: EngineClientOptions = {}) {
    this.crashes = new CrashWindow(opts.maxCrashesPerMinute ?? 5);
  }

  /** Number of times the primary host was (re)started. */
  get starts(): number {
    return this.primary.starts;
  }

  /** Number of times the trainer host was (re)started. */
  get trainerStarts(): number {
    return this.trainer.starts;
  }

  /** Requests sent to either host and not yet answered (a queue left behind shows here). */
  get pendingRequests(): number {
    return this.primary.pending.size + this.trainer.pending.size;
  }

  /** The primary host's pid. */
  get pid(): number | undefined {
    return this.primary.proc?.pid;
  }

  /** The trainer host's pid, while it runs. */
  get trainerPid(): number | undefined {
    return this.trainer.proc?.pid;
  }

  /** Start the primary host (the trainer starts with the first training request). */
  start(): Promise<void> {
    return this.startSlot(this.primary);
  }

  private startSlot(slot: Slot): Promise<void> {
    if (slot.ready) return slot.ready;
    const primary = slot.role === 'primary';
    if (primary) this.emitLocal('engine.state', { state: slot.starts ? 'restarting' : 'starting' });
    return launchSlot(slot, this.spawner, {
      ready: () => {
        if (primary) this.emitLocal('engine.state', { state: 'ready' });
      },
      answered: () => {
        if (!primary) this.scheduleTrainerIdle();
      },
      event: (event, payload) => this.hostEvent(slot, event, payload),
      exit: (proc, code, signal) => this.onExit(slot, proc, code, signal),
    });
  }

  /** An event from a host (or a job.failed the client makes up for a dead host): book-keep, relay. */
  private hostEvent(slot: Slot, event: EventName, payload: unknown) {
    if (event === 'job.started') {
      let j = payload as JobInfo;
      if (j.queue && j.state === 'queued') {
        j = this.queue.started(j, () => slot.proc?.send({ t: 'grant', jobId: j.id }));
        payload = j;
      }
      slot.liveJobs.set(j.id, j);
      if (slot.role === 'trainer') this.cancelTrainerIdle();
    } else if (event === 'job.done' || event === 'job.failed') {
      const { jobId, job } = payload as { jobId: string; job?: JobInfo };
      slot.liveJobs.delete(jobId);
      if (slot.role === 'trainer') {
        if (job) remember(this.trainerEnded, jobId, job);
        for (const [runId, j] of this.trainerRuns) if (j === jobId) this.trainerRuns.delete(runId);
        this.scheduleTrainerIdle();
      }
    } else if (event === 'job.updated') {
      const j = payload as JobInfo;
      if (slot.liveJobs.has(j.id)) slot.liveJobs.set(j.id, j);
    }
    this.emitLocal(event, payload);
    // Relay the end first, then free its queue (the next job's grant and new places follow).
    if (event === 'job.done' || event === 'job.failed') this.queue.ended((payload as { jobId: string }).jobId);
  }

  private onExit(slot: Slot, proc: HostProcess, code: number | null, signal: string | null) {
    if (slot.proc !== proc) return;
    detachSlot(slot);
    if (slot.role === 'trainer') {
      this.cancelTrainerIdle();
      this.trainerStatsReader.clear();
    }
    if (this.closing) return;
    const primary = slot.role === 'primary';
    const error = crashError(slot.role, code, signal);
    failPending(slot, error);
    for (const job of [...slot.liveJobs.values()]) {
      const failed: JobInfo = { ...job, state: 'failed', endedAt: Date.now(), error };
      this.hostEvent(slot, 'job.failed', { jobId: job.id, job: failed, error, cancelled: false });
    }
    slot.liveJobs.clear();
    // The trainer comes back with the next training request; the status bar (engine.state)
    // describes the primary, which is what answers the app.
    if (!primary) return;
    this.emitLocal('engine.state', { state: 'crashed', message: error.message });
    if (this.crashes.tooMany()) {
      this.emitLocal('engine.state', { state: 'stopped', message: 'The engine crashed repeatedly; restart Atelier.' });
      return;
    }
    setTimeout(() => {
      if (!this.closing && !slot.proc) void this.startSlot(slot);
    }, RESTART_DELAY_MS);
  }

  private cancelTrainerIdle() {
    if (this.trainerIdleTimer) clearTimeout(this.trainerIdleTimer);
    this.trainerIdleTimer = null;
  }

  /** After the last training job ended: shut the trainer host down if nothing trains for a while. */
  private scheduleTrainerIdle() {
    const ms = this.opts.trainerIdleMs ?? 60_000;
    if (!Number.isFinite(ms) || this.closing || !this.trainer.proc || this.trainer.liveJobs.size || this.trainer.pending.size) return;
    this.cancelTrainerIdle();
    const timer = setTimeout(() => {
      if (this.trainerIdleTimer !== timer) return;
      this.trainerIdleTimer = null;
      const t = this.trainer;
      const proc = t.proc;
      if (!proc || t.liveJobs.size || t.pending.size) return;
      // Detach first: a training request from now on spawns a fresh trainer.
      t.proc = null;
      t.ready = null;
      this.trainerStatsReader.clear();
      void shutdownProc(proc);
    }, Math.max(0, ms));
    timer.unref?.();
    this.trainerIdleTimer = timer;
  }

  private emitLocal(event: EventName, payload: unknown) {
    for (const l of this.listeners) {
      try {
        l(event, payload);
      } catch {
        // A listener's bug must not stop the others.
      }
    }
  }

  onEvent(cb: Listener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async request(channel: string, payload: unknown): Promise<Envelope<unknown>> {
    if (this.closing) return { ok: false, error: { code: 'UNAVAILABLE', message: 'The engine is shutting down.' } };
    if (TRAINING_CHANNELS.has(channel)) {
      this.cancelTrainerIdle();
      const res = await this.send(this.trainer, channel, payload);
      if (res.ok) {
        const { jobId, runId } = res.data as { jobId: string; runId: string };
        // Unless it ended already (a failure right at the start).
        if (this.trainer.liveJobs.has(jobId)) this.trainerRuns.set(runId, jobId);
      }
      return res;
    }
    if (JOB_CHANNELS.has(channel)) {
      const jobId = jobIdOf(payload);
      if (jobId && (this.trainer.liveJobs.has(jobId) || this.trainerEnded.has(jobId))) {
        if (this.trainer.proc) return this.send(this.trainer, channel, payload);
        const ended = this.trainerEnded.get(jobId);
        if (ended) {
          // The trainer host that ran it is gone (crash or idle shutdown); answer as it would have.
          if (channel === 'job.cancel') return { ok: true, data: { cancelled: false } };
          return { ok: false, error: { code: 'CONFLICT', message: `Job ${jobId} is ${ended.state}; only a running job can be paused or resumed.` } };
        }
      }
      return this.send(this.primary, channel, payload);
    }
    switch (channel) {
      case 'job.move':
        return this.move(payload);
      case 'job.list':
        return this.jobList(payload);
      case 'run.list': {
        const res = await this.send(this.primary, channel, payload);
        return res.ok ? { ok: true, data: patchRunList(res.data, this.trainerRuns) } : res;
      }
      case 'run.get': {
        const res = await this.send(this.primary, channel, payload);
        return res.ok ? { ok: true, data: patchRunDetail(res.data, this.trainerRuns) } : res;
      }
      case 'run.delete': {
        const runId = runIdOf(payload);
        // The trainer's `active` map refuses to delete a run it is training.
        if (runId && this.trainerRuns.has(runId) && this.trainer.proc) return this.send(this.trainer, channel, payload);
        return this.send(this.primary, channel, payload);
      }
      case 'app.stats':
        return this.stats(payload);
      case 'train.estimate':
        // The trainer host runs the Start this estimate is for, so while it is up its backend
        // decides: after a device loss it has left webgpu (and resumes on wasm) while the
        // primary still holds the GPU. Without a trainer, a Start spawns one that chooses as
        // the primary did, so the primary answers (without spawning a trainer for a preview).
        if (this.trainer.proc && !this.trainer.abortReady) return this.send(this.trainer, channel, payload);
        return this.send(this.primary, channel, payload);
      default:
        return this.send(this.primary, channel, payload);
    }
  }

  private async send(slot: Slot, channel: string, payload: unknown): Promise<Envelope<unknown>> {
    await this.startSlot(slot);
    const proc = slot.proc;
    if (!proc || this.closing) {
      const message = slot.role === 'primary' ? 'The engine is restarting; try again in a moment.' : 'The training engine stopped; try again.';
      return { ok: false, error: { code: 'ENGINE_CRASHED', message } };
    }
    return sendToSlot(slot, proc, this.nextId++, channel, payload);
  }

  private async jobList(payload: unknown): Promise<Envelope<unknown>> {
    const [prim, tr] = await Promise.all([
      this.send(this.primary, 'job.list', payload),
      // A trainer still starting has no jobs yet: do not wait for it.
      this.trainer.proc && !this.trainer.abortReady ? this.send(this.trainer, 'job.list', payload) : Promise.resolve(null),
    ]);
    if (!prim.ok) return prim;
    const trainerJobs = tr?.ok ? (tr.data as JobInfo[]) : [];
    const merged = mergeJobLists(trainerJobs, [...this.trainer.liveJobs.values()], [...this.trainerEnded.values()], prim.data as JobInfo[]);
    return { ok: true, data: this.queue.patch(merged) };
  }

  /** job.move: the queue spans both hosts, so the client orders it. */
  private move(payload: unknown): Envelope<unknown> {
    const checked = checkRequest('job.move', payload);
    if (!checked.ok) return { ok: false, error: checked.error };
    const req = checked.value as { jobId: string; to: MoveTo };
    const moved = this.queue.move(req.jobId, req.to);
    if (moved) return { ok: true, data: moved };
    const live = this.primary.liveJobs.get(req.jobId) ?? this.trainer.liveJobs.get(req.jobId) ?? this.trainerEnded.get(req.jobId);
    if (!live) return { ok: false, error: { code: 'NOT_FOUND', message: `No job with id ${req.jobId}.` } };
    return { ok: false, error: { code: 'CONFLICT', message: `Job ${req.jobId} is ${live.state}; only a queued job can be moved.` } };
  }

  private async stats(payload: unknown): Promise<Envelope<unknown>> {
    const prim = await this.send(this.primary, 'app.stats', payload);
    if (!prim.ok) return prim;
    const data = { ...(prim.data as EngineStats) };
    data.runningJobs += this.trainer.liveJobs.size;
    const trainer = await this.trainerStatsReader.read(this.trainer);
    if (trainer) data.trainer = trainer;
    return { ok: true, data };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.cancelTrainerIdle();
    const procs = [this.primary, this.trainer].map((s) => s.proc).filter((p): p is HostProcess => !!p);
    await Promise.all(procs.map((p) => shutdownProc(p)));
    this.primary.proc = null;
    this.trainer.proc = null;
  }
}

/** Set in a bounded insertion-ordered map (the oldest entries go first). */
function remember<V>(m: Map<string, V>, k: string, v: V) {
  m.delete(k);
  m.set(k, v);
  if (m.size > MEMORY) m.delete(m.keys().next().value!);
}
