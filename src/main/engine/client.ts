/**
 * The driver's side of the engine host: request/response with ids, events, crash recovery.
 * A host that dies is reported as job.failed (ENGINE_CRASHED) for every job it was running and
 * as engine.state events; it is restarted, and the app keeps running. Never imports tfjs or
 * electron: the Electron main passes a spawner built on utilityProcess.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import type { Envelope, ErrorData } from '../../shared/errors';
import type { EventName } from '../../shared/events';
import type { JobInfo } from '../../shared/channels/job';
import type { FromHost, ToHost } from './protocol';
import { appRoot } from './workspace';

export interface HostProcess {
  pid?: number;
  send(msg: ToHost): void;
  onMessage(cb: (msg: FromHost) => void): void;
  onExit(cb: (code: number | null, signal?: string | null) => void): void;
  kill(): void;
}

export type Spawner = () => HostProcess;
type Listener = (event: EventName, payload: unknown) => void;

export interface EngineClientLike {
  request(channel: string, payload: unknown): Promise<Envelope<unknown>>;
  onEvent(cb: Listener): () => void;
  close(): Promise<void>;
}

/** Spawn the host as a Node child process (serve). Uses the built bundle when present, else tsx. */
export function childProcessSpawner(env: NodeJS.ProcessEnv = process.env): Spawner {
  return () => {
    const root = appRoot();
    const built = path.join(root, 'out', 'main', 'engine-host.js');
    const src = path.join(root, 'src', 'main', 'engine', 'host-entry.ts');
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

export class EngineClient implements EngineClientLike {
  private proc: HostProcess | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (e: Envelope<unknown>) => void; channel: string }>();
  private listeners = new Set<Listener>();
  private liveJobs = new Map<string, JobInfo>();
  private ready: Promise<void> | null = null;
  private closing = false;
  private crashes: number[] = [];
  /** Number of times the host was (re)started. */
  starts = 0;

  constructor(private readonly spawner: Spawner, private readonly opts: { maxCrashesPerMinute?: number } = {}) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  start(): Promise<void> {
    if (this.ready) return this.ready;
    this.emitLocal('engine.state', { state: this.starts ? 'restarting' : 'starting' });
    const proc = this.spawner();
    this.proc = proc;
    this.starts++;
    this.ready = new Promise<void>((resolve) => {
      proc.onMessage((msg) => {
        if (!msg || typeof msg !== 'object') return;
        if (msg.t === 'ready') {
          this.emitLocal('engine.state', { state: 'ready' });
          resolve();
        } else if (msg.t === 'res') {
          const p = this.pending.get(msg.id);
          if (p) {
            this.pending.delete(msg.id);
            p.resolve(msg.envelope);
          }
        } else if (msg.t === 'evt') {
          this.track(msg.event, msg.payload);
          this.emitLocal(msg.event, msg.payload);
        }
      });
      proc.onExit((code, signal) => this.onExit(proc, code, signal ?? null));
    });
    return this.ready;
  }

  private track(event: EventName, payload: unknown) {
    if (event === 'job.started') {
      const j = payload as JobInfo;
      this.liveJobs.set(j.id, j);
    } else if (event === 'job.done' || event === 'job.failed') {
      this.liveJobs.delete((payload as { jobId: string }).jobId);
    }
  }

  private onExit(proc: HostProcess, code: number | null, signal: string | null) {
    if (this.proc !== proc) return;
    this.proc = null;
    this.ready = null;
    if (this.closing) return;
    const why = signal ? `signal ${signal}` : `exit code ${code}`;
    const error: ErrorData = {
      code: 'ENGINE_CRASHED',
      message: `The engine stopped unexpectedly (${why}). It is being restarted.`,
      hint: 'Your saved datasets, runs and checkpoints are safe; resume a training run from its last checkpoint.',
    };
    for (const [, p] of this.pending) p.resolve({ ok: false, error });
    this.pending.clear();
    for (const job of this.liveJobs.values()) {
      const failed: JobInfo = { ...job, state: 'failed', endedAt: Date.now(), error };
      this.emitLocal('job.failed', { jobId: job.id, job: failed, error, cancelled: false });
    }
    this.liveJobs.clear();
    this.emitLocal('engine.state', { state: 'crashed', message: error.message });
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < 60_000);
    this.crashes.push(now);
    if (this.crashes.length > (this.opts.maxCrashesPerMinute ?? 5)) {
      this.emitLocal('engine.state', { state: 'stopped', message: 'The engine crashed repeatedly; restart Atelier.' });
      return;
    }
    setTimeout(() => {
      if (!this.closing && !this.proc) void this.start();
    }, 250);
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
    await this.start();
    const proc = this.proc;
    if (!proc) return { ok: false, error: { code: 'ENGINE_CRASHED', message: 'The engine is restarting; try again in a moment.' } };
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, channel });
      try {
        proc.send({ t: 'req', id, channel, payload });
      } catch (e) {
        this.pending.delete(id);
        resolve({ ok: false, error: { code: 'INTERNAL', message: `Could not send the request to the engine: ${(e as Error).message}` } });
      }
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const proc = this.proc;
    if (!proc) return;
    await new Promise<void>((resolve) => {
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
    this.proc = null;
  }
}
