/**
 * The engine host: a message loop that validates each request against the contract, runs its
 * handler and answers an envelope; job events flow back as 'evt' messages. The same loop runs
 * in a utility process (app), a child process (serve) or in-process (CLI, tests).
 */
import { checkRequest } from '../../../shared/validate';
import { toErrorData, type Envelope } from '../../../shared/errors';
import type { EventMap, EventName } from '../../../shared/events';
import type { EngineContext, Handler } from './context';
import type { ChannelName } from '../../../shared/contract';
import { handlerTable } from '../handlers';
import { JobManager } from './jobs';
import type { FromHost, Port, ToHost } from './protocol';
import { openWorkspace, sweepWorkspace, type Workspace } from '../core/workspace';
import { initBackend, releaseBackend } from '../backend';

export interface Engine {
  ctx: EngineContext;
  dispatch(channel: unknown, payload: unknown): Promise<Envelope<unknown>>;
  shutdown(): Promise<void>;
}

/** Build an engine (workspace + jobs + handlers) whose events go to `emit`. */
export function createEngine(opts: {
  workspace?: Workspace;
  mode: string;
  /** 'remote' when a driver orders the job queue across several hosts (see jobs.ts). */
  admission?: 'local' | 'remote';
  emit: <E extends EventName>(event: E, payload: EventMap[E]) => void;
}): Engine {
  const workspace = opts.workspace ?? openWorkspace();
  const jobs = new JobManager(opts.emit, opts.admission ?? 'local');
  const ctx: EngineContext = { workspace, jobs, emit: opts.emit, mode: opts.mode };
  void sweepWorkspace(workspace).catch(() => undefined);
  return {
    ctx,
    async dispatch(channel, payload) {
      const checked = checkRequest(channel, payload);
      if (!checked.ok) return { ok: false, error: checked.error };
      try {
        const handler = handlerTable[checked.channel] as Handler<ChannelName>;
        const data = await handler(checked.value as never, ctx);
        return { ok: true, data };
      } catch (err) {
        return { ok: false, error: toErrorData(err) };
      }
    },
    async shutdown() {
      await jobs.cancelAll();
      // A live WebGPU device would keep this process running after its jobs end.
      await releaseBackend();
    },
  };
}

/** Run the host loop on a port (child process / utility process side). */
export function runHost(port: Port<ToHost, FromHost>, opts: { mode: string; onExit: () => void }): Engine {
  const engine = createEngine({
    mode: opts.mode,
    // The client runs this host beside another (requests / training): it keeps the one queue.
    admission: 'remote',
    emit: (event, payload) => port.send({ t: 'evt', event, payload }),
  });
  // Warm the backend so the first request does not pay for wasm compilation.
  void initBackend().catch(() => undefined);
  port.onMessage((msg) => {
    if (!msg || typeof msg !== 'object') return;
    if (msg.t === 'req') {
      void engine.dispatch(msg.channel, msg.payload).then((envelope) => port.send({ t: 'res', id: msg.id, envelope }));
    } else if (msg.t === 'grant') {
      engine.ctx.jobs.grant(msg.jobId);
    } else if (msg.t === 'shutdown') {
      void engine.shutdown().finally(() => {
        port.send({ t: 'bye' });
        opts.onExit();
      });
    }
  });
  port.send({ t: 'ready', pid: process.pid });
  return engine;
}
