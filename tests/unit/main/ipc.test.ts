import { describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { CHANNEL_NAMES } from '../../../src/shared/contract';
import type { Envelope } from '../../../src/shared/errors';
import { defaultTrustedFrame, registerHandlers, type InvokeEventLike, type IpcMainLike } from '../../../src/main/ipc';
import { InProcessEngine } from '../../../src/main/engine/client/inprocess';

function fakeIpc() {
  const table = new Map<string, (e: InvokeEventLike, p: unknown) => Promise<Envelope<unknown>>>();
  const ipcMain: IpcMainLike = {
    handle: (ch, fn) => void table.set(ch, fn),
    removeHandler: (ch) => void table.delete(ch),
  };
  const ev = (url: string, top = true): InvokeEventLike => ({ senderFrame: { url, parent: top ? null : {} }, sender: { id: 1 } });
  return { table, ipcMain, ev };
}

describe('main-process registrar', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-ipc-'));
  const engine = new InProcessEngine({ workspaceRoot: ws });

  it('registers every contract channel and removes them all', () => {
    const { table, ipcMain } = fakeIpc();
    const off = registerHandlers({ ipcMain, forward: (c, p) => engine.request(c, p), isTrustedFrame: defaultTrustedFrame() });
    expect([...table.keys()].sort()).toEqual([...CHANNEL_NAMES].sort());
    off();
    expect(table.size).toBe(0);
  });

  it('forwards a valid request from the app window to the engine', async () => {
    const { table, ipcMain, ev } = fakeIpc();
    registerHandlers({ ipcMain, forward: (c, p) => engine.request(c, p), isTrustedFrame: defaultTrustedFrame() });
    const r = await table.get('app.version')!(ev('studio://app/index.html'), {});
    expect(r).toEqual({ ok: true, data: { name: 'Atelier', version: expect.any(String) } });
  });

  it('refuses other senders: foreign origins, sub-frames, missing frames', async () => {
    const { table, ipcMain, ev } = fakeIpc();
    let forwarded = 0;
    registerHandlers({ ipcMain, forward: async () => (forwarded++, { ok: true, data: null }), isTrustedFrame: defaultTrustedFrame() });
    for (const e of [ev('https://evil.example/'), ev('studio://app/index.html', false), ev('file:///etc/passwd'), ev('studio://files/x'), { senderFrame: null, sender: { id: 2 } }]) {
      const r = await table.get('app.version')!(e, {});
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('FORBIDDEN');
    }
    expect(forwarded).toBe(0);
  });

  it('accepts the dev server only when it is the configured dev URL', () => {
    const trusted = defaultTrustedFrame('http://localhost:5173');
    expect(trusted({ url: 'http://localhost:5173/', top: true })).toBe(true);
    expect(trusted({ url: 'http://localhost:5174/', top: true })).toBe(false);
    expect(defaultTrustedFrame()({ url: 'http://localhost:5173/', top: true })).toBe(false);
  });

  it('rejects a malformed payload before it reaches the engine', async () => {
    const { table, ipcMain, ev } = fakeIpc();
    let forwarded = 0;
    registerHandlers({ ipcMain, forward: async () => (forwarded++, { ok: true, data: null }), isTrustedFrame: defaultTrustedFrame() });
    const r = await table.get('job.cancel')!(ev('studio://app/'), { jobId: { $gt: '' } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('VALIDATION');
    expect(forwarded).toBe(0);
  });
});
