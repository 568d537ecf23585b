/**
 * The browser transport for `atelier serve`: builds the same StudioApi the Electron preload
 * exposes, over one WebSocket carrying the contract (binary frames, see shared/wire.ts).
 * Reconnects if the socket drops; calls in flight then fail with a readable error.
 */
import { buildCalls, type StudioApi } from '../../../shared/api';
import { channelDef, type ChannelName } from '../../../shared/contract';
import type { Envelope } from '../../../shared/errors';
import type { EventMap, EventName } from '../../../shared/events';
import { INLINE_BYTES_LIMIT, MAX_FRAME_BYTES, decodeFrame, encodeFrame } from '../../../shared/wire';

type Pending = { resolve: (e: Envelope<unknown>) => void };

export function tokenFromLocation(): string {
  const fromUrl = new URLSearchParams(window.location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem('atelier-token', fromUrl);
    return fromUrl;
  }
  return sessionStorage.getItem('atelier-token') ?? '';
}

const mb = (n: number) => `${Math.round(n / 1048576)} MB`;

/** The answer when a message cannot cross the socket: the server would close it with 1009. */
function tooLarge(bytes: number): Envelope<never> {
  return {
    ok: false,
    error: {
      code: 'BAD_INPUT',
      message: `This image is too large to send to the studio server (${mb(bytes)}; the limit is ${mb(MAX_FRAME_BYTES)}).`,
      hint: 'Use a smaller image, or put it in a folder and use the folder tools.',
    },
  };
}

export interface WsStudioOptions {
  /** The WebSocket address (default: this page's host, /ws, with the token). */
  url?: string;
  token?: string;
  /** Where /upload lives (default: this page's origin). */
  httpBase?: string;
  /** A WebSocket constructor (tests in Node pass the `ws` package's). */
  WebSocketImpl?: typeof WebSocket;
}

export function createWsStudio(opts: WsStudioOptions = {}): StudioApi {
  const token = opts.token ?? tokenFromLocation();
  const wsUrl = opts.url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?token=${encodeURIComponent(token)}`;
  const httpBase = opts.httpBase ?? '';
  const WS = opts.WebSocketImpl ?? WebSocket;
  let socket: WebSocket | null = null;
  let opened: Promise<WebSocket> | null = null;
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  let retryMs = 250;

  const failAll = (message: string) => {
    for (const [, p] of pending) p.resolve({ ok: false, error: { code: 'UNAVAILABLE', message, hint: 'Check that `atelier serve` is still running, then retry.' } });
    pending.clear();
  };

  const connect = (): Promise<WebSocket> => {
    if (opened) return opened;
    opened = new Promise<WebSocket>((resolve, reject) => {
      const ws = new WS(wsUrl);
      ws.binaryType = 'arraybuffer';
      // Failures arrive as a close (handled below); an unhandled error event would throw in Node clients.
      ws.onerror = () => undefined;
      ws.onopen = () => {
        socket = ws;
        retryMs = 250;
        resolve(ws);
      };
      ws.onmessage = (ev) => {
        let msg: { t: string; id?: number; envelope?: Envelope<unknown>; event?: EventName; payload?: unknown };
        try {
          msg = (typeof ev.data === 'string' ? JSON.parse(ev.data) : decodeFrame(new Uint8Array(ev.data as ArrayBuffer))) as typeof msg;
        } catch {
          return;
        }
        if (msg.t === 'res' && typeof msg.id === 'number') {
          const p = pending.get(msg.id);
          if (p && msg.envelope) {
            pending.delete(msg.id);
            p.resolve(msg.envelope);
          }
        } else if (msg.t === 'evt' && msg.event) {
          for (const cb of listeners.get(msg.event) ?? []) cb(msg.payload);
        }
      };
      ws.onclose = (ev) => {
        const wasOpen = socket === ws;
        socket = null;
        opened = null;
        // 1009: the server refused a message over its size limit (and closed this socket for it).
        failAll(ev.code === 1009 ? `A message was too large for the studio server (limit ${mb(MAX_FRAME_BYTES)}); the connection was reset.` : 'The connection to the Atelier engine was lost.');
        for (const cb of listeners.get('engine.state') ?? []) cb({ state: 'crashed', message: 'Connection to the studio server lost; reconnecting…' });
        if (wasOpen) setTimeout(() => void connect().then(() => {
          for (const cb of listeners.get('engine.state') ?? []) cb({ state: 'ready' });
        }).catch(() => undefined), retryMs);
        retryMs = Math.min(retryMs * 2, 5000);
        if (!wasOpen) reject(new Error('Could not connect to the studio server (wrong or missing token?).'));
      };
    });
    return opened;
  };

  const invoke = async (channel: ChannelName, req: unknown): Promise<Envelope<unknown>> => {
    let ws: WebSocket;
    try {
      ws = await connect();
    } catch (e) {
      return { ok: false, error: { code: 'UNAVAILABLE', message: (e as Error).message, hint: 'Open the address that `atelier serve` printed; it carries the token.' } };
    }
    const id = nextId++;
    let frame = encodeFrame({ t: 'req', id, channel, payload: req });
    if (frame.byteLength > INLINE_BYTES_LIMIT) {
      // Large images go by upload (streamed to the workspace's temp folder) and travel as a path.
      try {
        const moved = await uploadLargeBytes(channel, req);
        if (moved !== req) frame = encodeFrame({ t: 'req', id, channel, payload: moved });
      } catch (e) {
        return { ok: false, error: { code: 'BAD_INPUT', message: `Could not upload the image: ${(e as Error).message}` } };
      }
    }
    if (frame.byteLength > MAX_FRAME_BYTES) return tooLarge(frame.byteLength);
    return new Promise((resolve) => {
      pending.set(id, { resolve });
      ws.send(frame as Uint8Array<ArrayBuffer>);
    });
  };

  /** The request with each over-limit byte field the contract lets travel as an upload replaced by its path. */
  const uploadLargeBytes = async (channel: ChannelName, req: unknown): Promise<unknown> => {
    const fields = channelDef(channel).uploads;
    if (!fields || !req || typeof req !== 'object') return req;
    const out: Record<string, unknown> = { ...(req as Record<string, unknown>) };
    let changed = false;
    for (const [from, to] of Object.entries(fields)) {
      const v = out[from];
      if (!(v instanceof Uint8Array) || v.byteLength <= INLINE_BYTES_LIMIT) continue;
      const batch = Math.random().toString(36).slice(2, 12);
      const p = await upload(new Blob([v as Uint8Array<ArrayBuffer>]), `${from}.bin`, batch);
      delete out[from];
      out[to] = p;
      changed = true;
    }
    return changed ? out : req;
  };

  const upload = async (file: Blob, rel: string, batch: string): Promise<string> => {
    const res = await fetch(`${httpBase}/upload?batch=${encodeURIComponent(batch)}&name=${encodeURIComponent(rel)}`, {
      method: 'POST',
      headers: { 'x-atelier-token': token, 'content-type': 'application/octet-stream' },
      body: file,
    });
    const body = (await res.json().catch(() => ({ ok: false, error: { message: `upload failed (${res.status})` } }))) as Envelope<{ path: string }>;
    if (!body.ok) throw new Error(body.error.message);
    return body.data.path;
  };

  void connect().catch(() => undefined);

  return {
    ...buildCalls(invoke),
    transport: 'browser',
    on<E extends EventName>(event: E, cb: (payload: EventMap[E]) => void) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(cb as (p: unknown) => void);
      return () => set.delete(cb as (p: unknown) => void);
    },
    async pathsForFiles(files: File[], relativePaths?: string[]) {
      const batch = Math.random().toString(36).slice(2, 12);
      const out: string[] = [];
      for (let i = 0; i < files.length; i++) {
        const f = files[i]!;
        out.push(await upload(f, relativePaths?.[i] || f.name, batch));
      }
      return out;
    },
  } as StudioApi;
}
