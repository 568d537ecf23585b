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
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import type { Envelope, ErrorData } from '../../../shared/errors';
import type { EventName } from '../../../shared/events';
import type { JobInfo } from '../../../shared/channels/job';
import type { EngineStats, HostStats, TrainerHostStats } from '../../../shared/channels/app';
import type { FromHost, ToHost } from '../host/protocol';
import { appRoot } from '../core/workspace';
import { JOB_CHANNELS, TRAINING_CHANNELS, jobIdOf, mergeJobLists, patchRunDetail, patchRunList, runIdOf, type HostRole } from './router';

export interface HostProcess {
  pid?: number;
  send(msg: ToHost): void;
  onMessage(cb: (msg: FromHost) => void): void;
  onExit(cb: (code: number | null, signal?: string | null) => void): void;
  kill(): void;
}

/** Starts one engine host. `role` says which one (a spawner may ignore it; the host is the same code). */
export type Spawner = (opts?: { role?: HostRole }) => HostProcess;
type Listener = (event: EventName, payload: unknown) => void;

export interface EngineClientLike {
  request(channel: string, payload: unknown): Promise<Envelope<unknown>>;
  onEvent(cb: Listener): () => void;
  close(): Promise<void>;
}

/** Spawn the host as a Node child process (serve). Uses the built bundle when present, else tsx. */
export function childProcessSpawner(baseEnv: NodeJS.ProcessEnv = process.env): Spawner {
  return (opts) => {
    const env: NodeJS.ProcessEnv = { ...baseEnv, ATELIER_ENGINE_ROLE: opts?.role ?? 'primary' };
    const root = appRoot();
    const built = path.join(root, 'out', 'main', 'engine-host.js');
    const src = path.join(root, 'src', 'main', 'engine', 'host', 'host-entry.ts');
    const useSrc = env.ATELIER_ENGINE_FROM_SOURCE === '1' || !fs.existsSync(built) || isOlder(built, path.join(root, 'src'));
    let child: ChildProcess;
    if (useSrc) {
      const nodeRequire = createRequire(import.meta.url);
      const tsx = nodeRequire.resolve('tsx');
      child = fork(src, [], { serialization: 'advanced', execArgv: ['--import', pathToImport(tsx)], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    } else {
      child = fork(built, [], { serialization: 'advanced', env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    }
    return {
      pid: child.pid,
      send: (m) => {
        if (child.connected) child.send(m);
      },
      onMessage: (cb) => child.on('message', (m) => cb(m as FromHost)),
      onExit: (cb) => child.on('exit', (code, signal) => cb(code, signal)),
      kill: () => child.kill('SIGKILL'),
    };
  };
}

function pathToImport(p: string): string {
  // tsx's package main resolves to its CJS entry; --import wants the ESM loader entry.
  return path.join(path.dirname(p), 'esm', 'index.mjs');
}

/** True when any file under `dir` is newer than `file` (so a stale build is not used). */
function isOlder(file: string, dir: string): boolean {
  const t = fs.statSync(file).mtimeMs;
  const walk = (d: string): boolean => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() ? walk(p) : fs.statSync(p).mtimeMs > t) return true;
    }
    return false;
  };
  try {
    return walk(dir);
  } catch {
    return false;
  }
}

type Pending = { resolve: (e: Envelope<unknown>) => void; channel: string };

/** One engine host process and its bookkeeping. */
interface Slot {
  role: HostRole;
  proc: HostProcess | null;
  ready: Promise<void> | null;
  /** Resolves `ready` when the host dies before it said ready (the request then fails cleanly). */
  abortReady: (() => void) | null;
  pending: Map<number, Pending>;
  /** Jobs started and not ended (what a crash fails). */
  liveJobs: Map<string, JobInfo>;
  starts: number;
}

const newSlot = (role: HostRole): Slot => ({ role, proc: null, ready: null, abortReady: null, pending: new Map(), liveJobs: new Map(), starts: 0 });

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
  private crashes: number[] = [];
  /** runId -> jobId of the runs the trainer host is training now. */
  private trainerRuns = new Map<string, string>();
  /**
   * Ended trainer jobs, so job.list keeps them after the trainer host is gone. With the trainer's
   * live jobs, these are the job ids the trainer owns (job channels route by them).
   */
  private trainerEnded = new Map<string, JobInfo>();
  private trainerIdleTimer: ReturnType<typeof setTimeout> | null = null;
  private trainerStatsCache: { stats: Omit<TrainerHostStats, 'ageMs'>; at: number } | null = null;
  private trainerStatsInFlight: Promise<void> | null = null;

  constructor(private readonly spawner: Spawner, private readonly opts: EngineClientOptions = {}) {}

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
    const proc = this.spawner(primary ? undefined : { role: slot.role });
    slot.proc = proc;
    slot.starts++;
    slot.ready = new Promise<void>((resolve) => {
      slot.abortReady = resolve;
      proc.onMessage((msg) => {
        if (!msg || typeof msg !== 'object' || slot.proc !== proc) return;
        if (msg.t === 'ready') {
          if (primary) this.emitLocal('engine.state', { state: 'ready' });
          slot.abortReady = null;
          resolve();
        } else if (msg.t === 'res') {
          const p = slot.pending.get(msg.id);
          if (p) {
            slot.pending.delete(msg.id);
            p.resolve(msg.envelope);
          }
          if (!primary) this.scheduleTrainerIdle();
        } else if (msg.t === 'evt') {
          this.hostEvent(slot, msg.event, msg.payload);
        }
      });
      proc.onExit((code, signal) => this.onExit(slot, proc, code, signal ?? null));
    });
    return slot.ready;
  }

  /** An event from a host (or a job.failed the client makes up for a dead host): book-keep, relay. */
  private hostEvent(slot: Slot, event: EventName, payload: unknown) {
    if (event === 'job.started') {
      const j = payload as JobInfo;
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
    }
    this.emitLocal(event, payload);
  }

  private onExit(slot: Slot, proc: HostProcess, code: number | null, signal: string | null) {
    if (slot.proc !== proc) return;
    slot.proc = null;
    slot.ready = null;
    slot.abortReady?.();
    slot.abortReady = null;
    if (slot.role === 'trainer') {
      this.cancelTrainerIdle();
      this.trainerStatsCache = null;
    }
    if (this.closing) return;
    const primary = slot.role === 'primary';
    const why = signal ? `signal ${signal}` : `exit code ${code}`;
    const error: ErrorData = primary
      ? {
          code: 'ENGINE_CRASHED',
          message: `The engine stopped unexpectedly (${why}). It is being restarted.`,
          hint: 'Your saved datasets, runs and checkpoints are safe; resume a training run from its last checkpoint.',
        }
      : {
          code: 'ENGINE_CRASHED',
          message: `The training engine stopped unexpectedly (${why}). The rest of the app keeps running.`,
          hint: 'Your saved datasets, runs and checkpoints are safe; resume the run to continue from its last checkpoint.',
        };
    for (const [, p] of slot.pending) p.resolve({ ok: false, error });
    slot.pending.clear();
    for (const job of [...slot.liveJobs.values()]) {
      const failed: JobInfo = { ...job, state: 'failed', endedAt: Date.now(), error };
      this.hostEvent(slot, 'job.failed', { jobId: job.id, job: failed, error, cancelled: false });
    }
    slot.liveJobs.clear();
    // The trainer comes back with the next training request; the status bar (engine.state)
    // describes the primary, which is what answers the app.
    if (!primary) return;
    this.emitLocal('engine.state', { state: 'crashed', message: error.message });
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < 60_000);
    this.crashes.push(now);
    if (this.crashes.length > (this.opts.maxCrashesPerMinute ?? 5)) {
      this.emitLocal('engine.state', { state: 'stopped', message: 'The engine crashed repeatedly; restart Atelier.' });
      return;
    }
    setTimeout(() => {
      if (!this.closing && !slot.proc) void this.startSlot(slot);
    }, 250);
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
      this.trainerStatsCache = null;
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
    const id = this.nextId++;
    return new Promise((resolve) => {
      slot.pending.set(id, { resolve, channel });
      try {
        proc.send({ t: 'req', id, channel, payload });
      } catch (e) {
        slot.pending.delete(id);
        resolve({ ok: false, error: { code: 'INTERNAL', message: `Could not send the request to the engine: ${(e as Error).message}` } });
      }
    });
  }

  private async jobList(payload: unknown): Promise<Envelope<unknown>> {
    const [prim, tr] = await Promise.all([
      this.send(this.primary, 'job.list', payload),
      // A trainer still starting has no jobs yet: do not wait for it.
      this.trainer.proc && !this.trainer.abortReady ? this.send(this.trainer, 'job.list', payload) : Promise.resolve(null),
    ]);
    if (!prim.ok) return prim;
    const trainerJobs = tr?.ok ? (tr.data as JobInfo[]) : [];
    return { ok: true, data: mergeJobLists(trainerJobs, [...this.trainer.liveJobs.values()], [...this.trainerEnded.values()], prim.data as JobInfo[]) };
  }

  private async stats(payload: unknown): Promise<Envelope<unknown>> {
    const prim = await this.send(this.primary, 'app.stats', payload);
    if (!prim.ok) return prim;
    const data = { ...(prim.data as EngineStats) };
    data.runningJobs += this.trainer.liveJobs.size;
    const trainer = await this.trainerStats();
    if (trainer) data.trainer = trainer;
    return { ok: true, data };
  }

  /**
   * The trainer host's stats: read now when it is idle (it answers at once); while it trains, the
   * last reading (refreshed in the background), so app.stats never waits for a training step.
   */
  private async trainerStats(): Promise<TrainerHostStats | undefined> {
    const t = this.trainer;
    const proc = t.proc;
    if (!proc || t.abortReady) return undefined; // not up (or still starting: do not wait for it)
    const refresh = () => {
      this.trainerStatsInFlight ??= this.send(t, 'app.stats', {})
        .then((res) => {
          if (res.ok && t.proc === proc) {
            this.trainerStatsCache = { stats: { ...(res.data as HostStats), pid: proc.pid ?? null }, at: Date.now() };
          }
        })
        .finally(() => {
          this.trainerStatsInFlight = null;
        });
      return this.trainerStatsInFlight;
    };
    if (!t.liveJobs.size) {
      await refresh();
      // A reading that was in flight may be older than this request: read again.
      if (!this.trainerStatsCache || this.trainerStatsCache.at < Date.now() - 50) await refresh();
    } else if (!this.trainerStatsCache) {
      await Promise.race([refresh(), new Promise((r) => setTimeout(r, 250))]);
    } else {
      void refresh();
    }
    const c = this.trainerStatsCache;
    return c ? { ...c.stats, ageMs: Date.now() - c.at } : undefined;
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

/** Ask a host to shut down (it cancels its jobs), kill it if it has not exited in 6 s. */
function shutdownProc(proc: HostProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill();
      resolve();
    }, 6000);
    proc.onExit(() => {
      clearTimeout(timer);
      resolve();
    });
    try {
      proc.send({ t: 'shutdown' });
    } catch {
      proc.kill();
    }
  });
}

/** Set in a bounded insertion-ordered map (the oldest entries go first). */
function remember<V>(m: Map<string, V>, k: string, v: V) {
  m.delete(k);
  m.set(k, v);
  if (m.size > MEMORY) m.delete(m.keys().next().value!);
}
