/**
 * The fuzzed boundary: random and malformed payloads to every contract channel, through the
 * Electron registrar and through serve's WebSocket. Each must be answered with a VALIDATION (or
 * UNKNOWN_CHANNEL) error, none may reach a handler, and the engine keeps answering afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { CHANNEL_NAMES } from '../../../src/shared/contract';
import { checkRequest } from '../../../src/shared/validate';
import { decodeFrame, encodeFrame } from '../../../src/shared/wire';
import type { Envelope } from '../../../src/shared/errors';
import { handleInvoke, defaultTrustedFrame } from '../../../src/main/ipc';
import { startServer, type ServeHandle } from '../../../src/main/serve/server';
import { InProcessEngine } from '../../../src/main/engine/client/inprocess';

/** mulberry32: deterministic so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD_STRINGS = ['', ' ', '../../etc/passwd', '/etc/shadow', 'C:\\Windows', '\u0000', 'a'.repeat(5000), '<script>', '__proto__', 'constructor', '%00', '😀', 'NaN'];
const WEIRD_NUMBERS = [0, -1, 1e308, -1e308, NaN, Infinity, -Infinity, 0.5, 2 ** 53, -0];

function randomValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return WEIRD_NUMBERS[Math.floor(r() * WEIRD_NUMBERS.length)];
    case 3: return WEIRD_STRINGS[Math.floor(r() * WEIRD_STRINGS.length)];
    case 4: return new Uint8Array(Math.floor(r() * 16));
    case 5: return undefined;
    case 6: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) {
        const key = r() < 0.5 ? WEIRD_STRINGS[Math.floor(r() * WEIRD_STRINGS.length)]! : ['path', 'id', 'jobId', 'datasetId', 'runId', 'options', 'kind', 'name', 'k', 'z'][Math.floor(r() * 10)]!;
        o[key] = randomValue(r, depth + 1);
      }
      return o;
    }
  }
}

/** Payloads for a channel that its schema rejects (random ones that happen to be valid are skipped). */
function invalidPayloads(channel: string, count: number, seed: number, overWire = false): unknown[] {
  const r = rng(seed);
  const out: unknown[] = [];
  let guard = 0;
  while (out.length < count && guard++ < count * 20) {
    let p = randomValue(r);
    if (p === undefined) continue;
    // JSON drops undefined fields: judge what the server will actually receive.
    if (overWire) p = (decodeFrame(encodeFrame({ p })) as { p: unknown }).p;
    if (p === undefined) continue;
    if (!checkRequest(channel, p).ok) out.push(p);
  }
  return out;
}

const PER_CHANNEL = 1000;

describe('fuzzed contract boundary', () => {
  let ws: string;
  let engine: InProcessEngine;
  let handle: ServeHandle;
  let handled = 0;
  beforeAll(async () => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-fuzz-'));
    engine = new InProcessEngine({ workspaceRoot: ws });
    const counting = {
      request: (c: string, p: unknown) => {
        handled++;
        return engine.request(c, p);
      },
      onEvent: engine.onEvent.bind(engine),
      close: () => engine.close(),
    };
    const renderer = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-fuzz-r-'));
    handle = await startServer({ engine: counting, rendererDir: renderer, uploadDir: path.join(ws, 'tmp') });
  });
  afterAll(async () => {
    await handle.close();
    await engine.close();
  });

  it(`answers ${PER_CHANNEL} invalid payloads per channel through the registrar with validation errors`, async () => {
    let forwarded = 0;
    const deps = {
      ipcMain: { handle() {}, removeHandler() {} },
      forward: async () => (forwarded++, { ok: true as const, data: null }),
      isTrustedFrame: defaultTrustedFrame(),
    };
    const event = { senderFrame: { url: 'studio://app/index.html', parent: null }, sender: { id: 1 } };
    let total = 0;
    for (const [i, channel] of CHANNEL_NAMES.entries()) {
      for (const p of invalidPayloads(channel, PER_CHANNEL, 1000 + i)) {
        const env = await handleInvoke(deps, channel, event, p);
        expect(env.ok, `${channel} accepted ${JSON.stringify(p)?.slice(0, 200)}`).toBe(false);
        if (!env.ok) expect(env.error.code).toBe('VALIDATION');
        total++;
      }
    }
    expect(forwarded).toBe(0);
    expect(total).toBeGreaterThanOrEqual(CHANNEL_NAMES.length * 500);
  });

  it('answers invalid payloads and garbage frames over serve, and the engine keeps working', async () => {
    const sock = await new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(`ws://127.0.0.1:${handle.port}/ws?token=${handle.token}`, { headers: { origin: `http://127.0.0.1:${handle.port}` } });
      s.once('open', () => resolve(s));
      s.once('error', reject);
    });
    const waiting = new Map<number, (e: Envelope<unknown>) => void>();
    let nulls = 0;
    sock.on('message', (d: Buffer) => {
      const m = decodeFrame(new Uint8Array(d)) as { t: string; id: number | null; envelope: Envelope<unknown> };
      if (m.t !== 'res') return;
      if (m.id === null) nulls++;
      else {
        waiting.get(m.id)?.(m.envelope);
        waiting.delete(m.id);
      }
    });
    const call = (id: number, frame: Uint8Array) => new Promise<Envelope<unknown>>((res) => (waiting.set(id, res), sock.send(frame)));
    handled = 0;
    let id = 0;
    const r = rng(7);
    for (const [i, channel] of CHANNEL_NAMES.entries()) {
      const payloads = invalidPayloads(channel, 200, 5000 + i, true);
      const results = await Promise.all(payloads.map((p) => call(++id, encodeFrame({ t: 'req', id, channel, payload: p }))));
      for (const env of results) expect(env).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    }
    // Unknown channels and byte garbage.
    for (let i = 0; i < 200; i++) {
      const env = await call(++id, encodeFrame({ t: 'req', id, channel: WEIRD_STRINGS[i % WEIRD_STRINGS.length] + (i % 3 ? '.list' : ''), payload: {} }));
      expect(env.ok).toBe(false);
      const junk = new Uint8Array(1 + Math.floor(r() * 64)).map(() => Math.floor(r() * 256));
      sock.send(junk);
    }
    expect(handled).toBe(0);
    const ok = await call(++id, encodeFrame({ t: 'req', id, channel: 'app.version', payload: {} }));
    expect(ok.ok).toBe(true);
    expect(nulls).toBeGreaterThan(100);
    sock.close();
  });
});
