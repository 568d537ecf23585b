/**
 * The message protocol between the engine host and whoever drives it (Electron main through a
 * utilityProcess, `serve` through a child process, the CLI and tests in-process). Messages are
 * structured-cloneable (Uint8Array passes as bytes).
 */
import type { Envelope } from '../../../shared/errors';
import type { EventMap, EventName } from '../../../shared/events';

export type ToHost =
  | { t: 'req'; id: number; channel: string; payload: unknown }
  /** A queued job may start now (the client orders the queue across hosts). */
  | { t: 'grant'; jobId: string }
  | { t: 'shutdown' };

export type FromHost =
  | { t: 'ready'; pid: number }
  | { t: 'res'; id: number; envelope: Envelope<unknown> }
  | { t: 'evt'; event: EventName; payload: EventMap[EventName] }
  | { t: 'bye' };

/** Two-way port: process.send/on('message'), parentPort, or an in-memory pair. */
export interface Port<In, Out> {
  send(msg: Out): void;
  onMessage(cb: (msg: In) => void): void;
}
