/**
 * The renderer's only door to the engine: `window.studio`, installed by the Electron preload,
 * or built here over the serve WebSocket when running in a plain browser. `call` unwraps
 * envelopes and throws a StudioError, so every failure reaches the UI as a readable message.
 */
import type { StudioApi } from '../../shared/api';
import type { ChannelName, RequestOf, ResponseOf } from '../../shared/contract';
import { StudioError } from '../../shared/errors';
import { createWsStudio } from './transport/ws';

declare global {
  interface Window {
    studio?: StudioApi;
  }
}

let api: StudioApi | null = null;

/** Tests install a fake API (or clear the cached one) through this. */
export function setStudioForTests(next: StudioApi | null): void {
  api = next;
}

export function studio(): StudioApi {
  if (api) return api;
  api = window.studio ?? createWsStudio();
  return api;
}

/**
 * Whether this build's window.studio has every channel named (typed: only contract channels).
 * Pages show an honest <MissingChannels> state when it does not (a test double, an older host).
 */
export function available(...channels: ChannelName[]): boolean {
  let s: Record<string, Record<string, unknown> | undefined>;
  try {
    s = studio() as unknown as Record<string, Record<string, unknown> | undefined>;
  } catch {
    return false;
  }
  return channels.every((c) => {
    const dot = c.indexOf('.');
    return typeof s[c.slice(0, dot)]?.[c.slice(dot + 1)] === 'function';
  });
}

/** Call a channel by name: `await call('dataset.list', {})`. Throws StudioError on failure. */
export async function call<C extends ChannelName>(channel: C, req: RequestOf<C>): Promise<ResponseOf<C>> {
  const dot = channel.indexOf('.');
  const domain = channel.slice(0, dot);
  const verb = channel.slice(dot + 1);
  const fn = (studio() as unknown as Record<string, Record<string, (r: unknown) => Promise<{ ok: boolean; data?: unknown; error?: { code: string; message: string; hint?: string; details?: string } }>>>)[domain]?.[verb];
  if (!fn) throw new StudioError('UNKNOWN_CHANNEL', `The app has no channel ${channel}.`);
  const env = await fn(req);
  if (env.ok) return env.data as ResponseOf<C>;
  const e = env.error!;
  throw new StudioError(e.code as never, e.message, { hint: e.hint, details: e.details });
}
