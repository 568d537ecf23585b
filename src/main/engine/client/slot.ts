/**
 * One engine host process as the client sees it (a slot): its process, the requests awaiting an
 * answer, the jobs it runs. Starting a slot wires the host's messages to the client's hooks;
 * a dead host's slot is detached, and its pending requests are answered with an error.
 */
import type { Envelope, ErrorData } from '../../../shared/errors';
import type { EventName } from '../../../shared/events';
import type { JobInfo } from '../../../shared/channels/job';
import type { HostRole } from './router';
import type { HostProcess, Spawner } from './spawn';

type Pending = { resolve: (e: Envelope<unknown>) => void; channel: string };

/** One engine host process and its bookkeeping. */
export interface Slot {
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

export const newSlot = (role: HostRole): Slot => ({ role, proc: null, ready: null, abortReady: null, pending: new Map(), liveJobs: new Map(), starts: 0 });

export interface SlotHooks {
  /** The host said it is ready. */
  ready(): void;
  /** A request was answered. */
  answered(): void;
  event(event: EventName, payload: unknown): void;
  exit(proc: HostProcess, code: number | null, signal: string | null): void;
}

/** Spawn the slot's host unless it is up or starting; resolves once it is ready (or died first). */
export function launchSlot(slot: Slot, spawner: Spawner, hooks: SlotHooks): Promise<void> {
  if (slot.ready) return slot.ready;
  const proc = spawner(slot.role === 'primary' ? undefined : { role: slot.role });
  slot.proc = proc;
  slot.starts++;
  slot.ready = new Promise<void>((resolve) => {
    slot.abortReady = resolve;
    proc.onMessage((msg) => {
      if (!msg || typeof msg !== 'object' || slot.proc !== proc) return;
      if (msg.t === 'ready') {
        hooks.ready();
        slot.abortReady = null;
        resolve();
      } else if (msg.t === 'res') {
        const p = slot.pending.get(msg.id);
        if (p) {
          slot.pending.delete(msg.id);
          p.resolve(msg.envelope);
        }
        hooks.answered();
      } else if (msg.t === 'evt') {
        hooks.event(msg.event, msg.payload);
      }
    });
    proc.onExit((code, signal) => hooks.exit(proc, code, signal ?? null));
  });
  return slot.ready;
}

/** Send a request to the slot's (started) host; resolves with its answer. */
export function sendToSlot(slot: Slot, proc: HostProcess, id: number, channel: string, payload: unknown): Promise<Envelope<unknown>> {
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

/** Forget a dead host: a later request starts a fresh one; a request waiting for `ready` goes on (and fails). */
export function detachSlot(slot: Slot): void {
  slot.proc = null;
  slot.ready = null;
  slot.abortReady?.();
  slot.abortReady = null;
}

/** Answer every pending request with `error`. */
export function failPending(slot: Slot, error: ErrorData): void {
  for (const [, p] of slot.pending) p.resolve({ ok: false, error });
  slot.pending.clear();
}
