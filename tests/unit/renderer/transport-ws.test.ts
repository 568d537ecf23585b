// @vitest-environment node
/**
 * The browser transport against a real `atelier serve` (Node's fetch and the `ws` client stand in
 * for the browser's): large images travel by upload instead of inline, a message over the server's
 * frame limit is answered "too large" (not a dead socket), and a 1009 close says so in words.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { createWsStudio } from '../../../src/renderer/src/transport/ws';
import { startServer, type ServeHandle } from '../../../src/main/serve/server';
import { pathPolicy } from '../../../src/main/serve/paths';
import type { EngineClientLike } from '../../../src/main/engine/client/client';
import { INLINE_BYTES_LIMIT, MAX_FRAME_BYTES } from '../../../src/shared/wire';

/** An engine that answers every request with what it received (bytes reported by size). */
function echoEngine(seen: { channel: string; payload: Record<string, unknown> }[]): EngineClientLike {
  return {
    request: async (channel: string, payload: unknown) => {
      seen.push({ channel, payload: payload as Record<string, unknown> });
      return { ok: true, data: null };
    },
    onEvent: () => () => undefined,
    close: async () => undefined,
  } as unknown as EngineClientLike;
}

let handle: ServeHandle | undefined;
afterEach(async () => {
  await handle?.close();
  handle = undefined;
});

async function setup(maxFrameBytes?: number) {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-transport-'));
  const seen: { channel: string; payload: Record<string, unknown> }[] = [];
  fs.mkdirSync(path.join(ws, 'bundles', 'm'), { recursive: true });
  const paths = pathPolicy({ roots: [{ dir: ws, access: 'readwrite', label: 'workspace' }], modelDirs: [path.join(ws, 'bundles')] });
  handle = await startServer({ engine: echoEngine(seen), rendererDir: ws, uploadDir: path.join(ws, 'tmp'), paths, ...(maxFrameBytes ? { maxFrameBytes } : {}) });
  const origin = `http://127.0.0.1:${handle.port}`;
  // The browser sends its page's Origin on every WebSocket; the `ws` client needs telling.
  class BrowserLikeWs extends WebSocket {
    constructor(url: string) {
      super(url, { origin });
    }
  }
  const studio = createWsStudio({
    url: `ws://127.0.0.1:${handle.port}/ws?token=${handle.token}`,
    token: handle.token,
    httpBase: origin,
    WebSocketImpl: BrowserLikeWs as unknown as typeof globalThis.WebSocket,
  });
  return { studio, seen, ws };
}

describe('browser transport (serve)', { timeout: 60_000 }, () => {
  it('sends an image over the inline limit by upload and passes its path instead', async () => {
    const { studio, seen, ws } = await setup();
    const big = new Uint8Array(INLINE_BYTES_LIMIT + 1).map((_, i) => i % 251);
    const env = await studio.infer.translate({ model: 'm', image: big });
    expect(env.ok).toBe(true);
    const got = seen.find((s) => s.channel === 'infer.translate')!.payload;
    expect(got.image).toBeUndefined();
    expect(typeof got.path).toBe('string');
    expect((got.path as string).startsWith(path.join(ws, 'tmp', 'uploads') + path.sep)).toBe(true);
    expect(Buffer.from(fs.readFileSync(got.path as string)).equals(Buffer.from(big))).toBe(true);
    // A small image still goes inline.
    await studio.infer.translate({ model: 'm', image: new Uint8Array([1, 2, 3]) });
    expect(seen.at(-1)!.payload.image).toBeInstanceOf(Uint8Array);
  });

  it('answers a message over the frame limit with a readable error and keeps the connection', async () => {
    const { studio } = await setup();
    const huge = { blob: new Uint8Array(MAX_FRAME_BYTES + 1) } as unknown as Record<string, never>;
    const env = await studio.app.version(huge);
    expect(env).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    if (!env.ok) expect(env.error.message).toContain('too large');
    expect((await studio.app.version({})).ok).toBe(true);
  });

  it('says "too large" when the server closes with 1009, then reconnects', async () => {
    const { studio } = await setup(1024 * 1024);
    const states: string[] = [];
    studio.on('engine.state', (s) => states.push(s.state));
    const env = await studio.app.version({ blob: new Uint8Array(2 * 1024 * 1024) } as unknown as Record<string, never>);
    expect(env.ok).toBe(false);
    if (!env.ok) expect(env.error.message).toContain('too large');
    for (let i = 0; i < 100 && !states.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(states).toContain('ready');
    expect((await studio.app.version({})).ok).toBe(true);
  });
});

