import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import WebSocket from 'ws';
import { startServer, tokenEquals, type ServeHandle } from '../../../src/main/serve/server';
import { runServeCli } from '../../../src/main/cli/serve';
import { InProcessEngine } from '../../../src/main/engine/client/inprocess';
import { handleInvoke, defaultTrustedFrame } from '../../../src/main/ipc';
import { decodeFrame, encodeFrame } from '../../../src/shared/wire';
import type { Envelope } from '../../../src/shared/errors';

let handle: ServeHandle;
let engine: InProcessEngine;
let workspace: string;
let rendererDir: string;

beforeAll(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-serve-'));
  rendererDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-renderer-'));
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Atelier</title>');
  fs.mkdirSync(path.join(rendererDir, 'assets'));
  fs.writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  engine = new InProcessEngine({ workspaceRoot: workspace });
  handle = await startServer({ engine, rendererDir, uploadDir: path.join(workspace, 'tmp') });
});
afterAll(async () => {
  await handle.close();
  await engine.close();
});

const origin = () => `http://127.0.0.1:${handle.port}`;

function connect(opts: { token?: string | null; origin?: string | null } = {}): Promise<WebSocket> {
  const token = opts.token === undefined ? handle.token : opts.token;
  const url = `ws://127.0.0.1:${handle.port}/ws${token === null ? '' : `?token=${encodeURIComponent(token)}`}`;
  const headers: Record<string, string> = {};
  if (opts.origin !== null) headers.origin = opts.origin ?? origin();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function rpc(ws: WebSocket, msg: unknown, raw?: Buffer | string): Promise<{ id: unknown; envelope: Envelope<unknown> }> {
  return new Promise((resolve) => {
    const onMsg = (data: Buffer) => {
      const m = decodeFrame(new Uint8Array(data)) as { t: string; id: unknown; envelope: Envelope<unknown> };
      if (m.t === 'res') {
        ws.off('message', onMsg);
        resolve(m);
      }
    };
    ws.on('message', onMsg);
    ws.send(raw ?? encodeFrame(msg));
  });
}

describe('atelier serve', () => {
  it('answers a contract call over the WebSocket exactly as the Electron registrar does', async () => {
    const ws = await connect();
    const viaServe = await rpc(ws, { t: 'req', id: 1, channel: 'app.version', payload: {} });
    const viaIpc = await handleInvoke(
      { ipcMain: { handle() {}, removeHandler() {} }, forward: (c, p) => engine.request(c, p), isTrustedFrame: defaultTrustedFrame() },
      'app.version',
      { senderFrame: { url: 'studio://app/index.html', parent: null }, sender: { id: 1 } },
      {},
    );
    expect(viaServe.id).toBe(1);
    expect(viaServe.envelope).toEqual(viaIpc);
    expect(viaServe.envelope.ok).toBe(true);
    ws.close();
  });

  it('refuses a missing or wrong token, and a foreign or missing Origin', async () => {
    await expect(connect({ token: null })).rejects.toThrow('401');
    await expect(connect({ token: handle.token.slice(0, -1) + (handle.token.endsWith('A') ? 'B' : 'A') })).rejects.toThrow('401');
    await expect(connect({ origin: 'http://evil.example' })).rejects.toThrow('403');
    await expect(connect({ origin: null })).rejects.toThrow('403');
  });

  it('answers malformed frames, unknown channels and bad payloads with errors and keeps serving', async () => {
    const ws = await connect();
    const garbage = await rpc(ws, null, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(garbage.envelope.ok).toBe(false);
    const notJson = await rpc(ws, null, 'not json at all');
    expect(notJson.envelope.ok).toBe(false);
    const wrongShape = await rpc(ws, { hello: 'world' });
    expect(wrongShape.envelope).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    const unknown = await rpc(ws, { t: 'req', id: 2, channel: 'fs.readFile', payload: { path: '/etc/passwd' } });
    expect(unknown.envelope).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL' } });
    const bad = await rpc(ws, { t: 'req', id: 3, channel: 'job.cancel', payload: { jobId: 12 } });
    expect(bad.envelope).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    const missing = await rpc(ws, { t: 'req', id: 4, channel: 'job.cancel', payload: { jobId: 'nope' } });
    expect(missing.envelope).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const good = await rpc(ws, { t: 'req', id: 5, channel: 'job.list', payload: {} });
    expect(good.envelope).toEqual({ ok: true, data: [] });
    ws.close();
  });

  it('serves the page only with the token, sets no cookie, and serves the build assets to the page', async () => {
    const noToken = await fetch(`${origin()}/`);
    expect(noToken.status).toBe(401);
    expect(await noToken.text()).toContain('token');
    const withToken = await fetch(`${origin()}/?token=${handle.token}`);
    expect(withToken.status).toBe(200);
    expect(withToken.headers.get('content-security-policy')).toContain("default-src 'self'");
    // A cookie would be sent to every other server on 127.0.0.1 (cookies ignore ports).
    expect(withToken.headers.get('set-cookie')).toBeNull();
    const asset = await fetch(`${origin()}/assets/app.js`);
    expect(asset.status).toBe(200);
    const traversal = await fetch(`${origin()}/..%2f..%2fetc%2fpasswd?token=${handle.token}`);
    expect([403, 404]).toContain(traversal.status);
    const badEscape = await fetch(`${origin()}/%E0%A4%A?token=${handle.token}`);
    expect(badEscape.status).toBe(400);
    const foreign = await fetch(`${origin()}/?token=${handle.token}`, { headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
  });

  it('answers 421 to a Host that is not this server (DNS rebinding), for the page and the WebSocket', async () => {
    const get = (hostHeader: string) =>
      new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: handle.port, path: `/?token=${handle.token}`, headers: { host: hostHeader } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await get('attacker.example')).toBe(421);
    expect(await get(`attacker.example:${handle.port}`)).toBe(421);
    expect(await get(`127.0.0.1:${handle.port + 1}`)).toBe(421);
    expect(await get(`127.0.0.1:${handle.port}`)).toBe(200);
    expect(await get(`localhost:${handle.port}`)).toBe(200);
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${handle.port}/ws?token=${handle.token}`, { headers: { origin: origin(), host: `rebind.example:${handle.port}` } });
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once('error', reject);
      }),
    ).rejects.toThrow('421');
  });

  it('opens a browser on a one-time code that is exchanged once for the token', async () => {
    const open = handle.openUrl();
    expect(open).not.toContain(handle.token);
    const first = await fetch(open, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe(`/?token=${encodeURIComponent(handle.token)}`);
    const again = await fetch(open, { redirect: 'manual' });
    expect(again.status).toBe(401);
    const guessed = await fetch(`${origin()}/?code=${'A'.repeat(24)}`, { redirect: 'manual' });
    expect(guessed.status).toBe(401);
  });

  it('refuses --token on the command line (arguments are visible to every local process)', async () => {
    const err = console.error;
    const said: string[] = [];
    console.error = (m: string) => void said.push(m);
    try {
      expect(await runServeCli(['--token', 'secret'])).toBe(2);
    } finally {
      console.error = err;
    }
    expect(said.join('\n')).toContain('ATELIER_SERVE_TOKEN');
  });

  it('refuses an --allow folder that does not exist, before starting anything', async () => {
    const err = console.error;
    const said: string[] = [];
    console.error = (m: string) => void said.push(m);
    const missing = path.join(workspace, 'no-such-folder');
    try {
      expect(await runServeCli(['--workspace', path.join(workspace, 'unused'), '--allow', missing])).toBe(2);
    } finally {
      console.error = err;
    }
    expect(said.join('\n')).toContain(`--allow ${missing}: no such folder`);
    expect(fs.existsSync(path.join(workspace, 'unused'))).toBe(false);
  });

  it('keeps uploads inside the workspace temp folder', async () => {
    const res = await fetch(`${origin()}/upload?batch=b1&name=${encodeURIComponent('../../../evil/x.png')}`, {
      method: 'POST',
      headers: { 'x-atelier-token': handle.token },
      body: new Uint8Array([1, 2, 3]),
    });
    const body = (await res.json()) as Envelope<{ path: string }>;
    expect(body.ok).toBe(true);
    if (body.ok) {
      expect(body.data.path.startsWith(path.join(workspace, 'tmp', 'uploads', 'b1') + path.sep)).toBe(true);
      expect(fs.readFileSync(body.data.path)).toEqual(Buffer.from([1, 2, 3]));
    }
    const noAuth = await fetch(`${origin()}/upload?name=a.png`, { method: 'POST', body: new Uint8Array([1]) });
    expect(noAuth.status).toBe(401);
  });

  // Constant time is not measured (no timings in tests): the test checks that every string
  // comparison goes through crypto.timingSafeEqual, also when the lengths differ.
  it('compares tokens exactly, always through crypto.timingSafeEqual (constant time)', () => {
    const spy = vi.spyOn(crypto, 'timingSafeEqual');
    try {
      for (const [given, want] of [['abc', true], ['abd', false], ['xbc', false], ['ab', false], ['abcd', false]] as const) {
        spy.mockClear();
        expect(tokenEquals(given, 'abc'), given).toBe(want);
        expect(spy, given).toHaveBeenCalledTimes(1);
        // Same-length buffers only (timingSafeEqual throws otherwise), the expected token's length.
        const [x, y] = spy.mock.calls[0]! as unknown as [Buffer, Buffer];
        expect([x.length, y.length], given).toEqual([3, 3]);
      }
      expect(tokenEquals(undefined, 'abc')).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });
});
