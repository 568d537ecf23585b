/**
 * The main-process registrar: one ipcMain.handle per contract channel, generated from the
 * contract list. Each call checks the sender frame (only our own window's top frame, loaded from
 * our own origin), validates the payload against the channel's schema, forwards it to the engine
 * host and answers an envelope. No per-channel glue. Electron types are injected so this runs
 * in unit tests without the Electron binary.
 */
import { CHANNEL_NAMES } from '../shared/contract';
import type { Envelope } from '../shared/errors';
import { checkRequest } from '../shared/validate';

export interface SenderFrame {
  url: string;
  /** True when this is the top-level frame of its WebContents. */
  top: boolean;
}
export interface InvokeEventLike {
  senderFrame: { url: string; parent: unknown } | null;
  sender: { id: number };
}
export interface IpcMainLike {
  handle(channel: string, fn: (e: InvokeEventLike, payload: unknown) => Promise<Envelope<unknown>>): void;
  removeHandler(channel: string): void;
}
export interface RegistrarDeps {
  ipcMain: IpcMainLike;
  /** Forward a validated request to the engine (or a main-side handler for local channels). */
  forward: (channel: string, payload: unknown) => Promise<Envelope<unknown>>;
  /** Is this frame ours? (app URL and top frame). */
  isTrustedFrame: (frame: SenderFrame) => boolean;
}

export const APP_ORIGINS = ['studio://app', 'http://localhost:5173'];

/** Trusted: the top frame of a page served from studio://app (or the dev server in `npm run dev`). */
export function defaultTrustedFrame(devUrl?: string) {
  return (frame: SenderFrame): boolean => {
    if (!frame.top) return false;
    let u: URL;
    try {
      u = new URL(frame.url);
    } catch {
      return false;
    }
    if (u.protocol === 'studio:' && u.host === 'app') return true;
    if (devUrl) {
      try {
        return u.origin === new URL(devUrl).origin;
      } catch {
        return false;
      }
    }
    return false;
  };
}

export async function handleInvoke(deps: RegistrarDeps, channel: string, event: InvokeEventLike, payload: unknown): Promise<Envelope<unknown>> {
  const frame = event.senderFrame;
  if (!frame || !deps.isTrustedFrame({ url: frame.url, top: frame.parent === null })) {
    return { ok: false, error: { code: 'FORBIDDEN', message: `Refused ${channel}: the request did not come from Atelier's own window.` } };
  }
  const checked = checkRequest(channel, payload);
  if (!checked.ok) return { ok: false, error: checked.error };
  return deps.forward(checked.channel, payload ?? {});
}

/** Register every contract channel; returns a function that removes them. */
export function registerHandlers(deps: RegistrarDeps): () => void {
  for (const name of CHANNEL_NAMES) {
    deps.ipcMain.handle(name, (event, payload) => handleInvoke(deps, name, event, payload));
  }
  return () => {
    for (const name of CHANNEL_NAMES) deps.ipcMain.removeHandler(name);
  };
}
