/**
 * The Electron main process's security wiring, proven without the Electron binary: `electron` is
 * replaced by recording fakes, src/main/index.ts is imported, and each checklist item is
 * asserted on what it did (docs/SECURITY.md maps items to these tests).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';

type Handler = (...args: unknown[]) => unknown;
const rec = vi.hoisted(() => ({
  windows: [] as { options: Record<string, unknown>; contentsHandlers: Record<string, Handler>; openHandler?: Handler; loaded?: string }[],
  appHandlers: {} as Record<string, Handler>,
  permissionRequest: undefined as Handler | undefined,
  permissionCheck: undefined as Handler | undefined,
  headers: undefined as Handler | undefined,
  protocolHandler: undefined as Handler | undefined,
  privileged: [] as unknown[],
  ipcChannels: [] as string[],
  ipcHandlers: {} as Record<string, Handler>,
  forks: [] as { path: string; opts: Record<string, unknown> }[],
  tmp: '',
}));

vi.mock('electron', () => {
  class FakeContents {
    handlers: Record<string, Handler> = {};
    on(ev: string, fn: Handler) {
      this.handlers[ev] = fn;
      return this;
    }
    setWindowOpenHandler(fn: Handler) {
      rec.windows.at(-1)!.openHandler = fn;
    }
    send() {}
  }
  class BrowserWindow {
    webContents = new FakeContents();
    constructor(options: Record<string, unknown>) {
      rec.windows.push({ options, contentsHandlers: this.webContents.handlers });
    }
    static getAllWindows() {
      return [];
    }
    loadURL(u: string) {
      rec.windows.at(-1)!.loaded = u;
      return Promise.resolve();
    }
    once() {}
    on() {}
    maximize() {}
    isDestroyed() {
      return false;
    }
  }
  const app = {
    requestSingleInstanceLock: () => true,
    on: (ev: string, fn: Handler) => void (rec.appHandlers[ev] = fn),
    whenReady: () => Promise.resolve(),
    getPath: () => rec.tmp,
    getAppPath: () => rec.tmp,
    isPackaged: false,
    quit: () => {},
  };
  return {
    app,
    BrowserWindow,
    ipcMain: {
      handle: (ch: string, fn: Handler) => {
        rec.ipcChannels.push(ch);
        rec.ipcHandlers[ch] = fn;
      },
      removeHandler: () => {},
    },
    net: { fetch: () => Promise.resolve(new Response('x')) },
    protocol: {
      registerSchemesAsPrivileged: (s: unknown[]) => rec.privileged.push(...s),
      handle: (_scheme: string, fn: Handler) => void (rec.protocolHandler = fn),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: Handler) => void (rec.permissionRequest = fn),
        setPermissionCheckHandler: (fn: Handler) => void (rec.permissionCheck = fn),
        webRequest: { onHeadersReceived: (fn: Handler) => void (rec.headers = fn) },
      },
    },
    shell: { showItemInFolder: () => {} },
    utilityProcess: {
      fork: (p: string, _a: unknown, opts: Record<string, unknown>) => {
        rec.forks.push({ path: p, opts });
        return { pid: 1, postMessage() {}, on() {}, kill() {} };
      },
    },
  };
});

beforeAll(async () => {
  rec.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-main-'));
  await import('../../../src/main/index');
  await new Promise((r) => setTimeout(r, 20));
});

describe('Electron main process (checklist)', () => {
  it('creates the window with isolation, sandbox, no node, no webview', () => {
    expect(rec.windows).toHaveLength(1);
    const wp = rec.windows[0]!.options.webPreferences as Record<string, unknown>;
    expect(wp).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false, webSecurity: true });
    expect(String(wp.preload)).toMatch(/preload[\\/]index\.cjs$/);
    expect(rec.windows[0]!.loaded).toBe('studio://app/index.html');
  });
  it('denies window.open and navigation away from the app', () => {
    const w = rec.windows[0]!;
    expect(w.openHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    let prevented = false;
    w.contentsHandlers['will-navigate']!({ preventDefault: () => (prevented = true) }, 'https://example.com');
    expect(prevented).toBe(true);
    prevented = false;
    w.contentsHandlers['will-navigate']!({ preventDefault: () => (prevented = true) }, 'studio://app/index.html');
    expect(prevented).toBe(false);
    let webview = false;
    w.contentsHandlers['will-attach-webview']!({ preventDefault: () => (webview = true) });
    expect(webview).toBe(true);
  });
  it('denies every permission request and check', () => {
    let granted: boolean | undefined;
    rec.permissionRequest!({}, 'media', (g: boolean) => (granted = g));
    expect(granted).toBe(false);
    rec.permissionRequest!({}, 'notifications', (g: boolean) => (granted = g));
    expect(granted).toBe(false);
    expect(rec.permissionCheck!()).toBe(false);
  });
  it('sets a strict CSP header on every response', () => {
    let headers: Record<string, string[]> = {};
    rec.headers!({ responseHeaders: {} }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
    expect(headers['Content-Security-Policy']![0]).toContain("script-src 'self'");
  });
  it('registers studio:// as a secure standard scheme and refuses paths outside its roots', async () => {
    expect(rec.privileged).toEqual([expect.objectContaining({ scheme: 'studio', privileges: expect.objectContaining({ secure: true, standard: true }) })]);
    const res = (await rec.protocolHandler!({ url: 'studio://app/../../etc/passwd' })) as Response;
    expect(res.status).toBe(404);
  });
  it('registers one IPC handler per contract channel, each checking its sender', async () => {
    const { CHANNEL_NAMES } = await import('../../../src/shared/contract');
    expect(rec.ipcChannels.sort()).toEqual([...CHANNEL_NAMES].sort());
    const env = (await rec.ipcHandlers['app.version']!({ senderFrame: { url: 'https://evil.example', parent: null }, sender: { id: 9 } }, {})) as { ok: boolean; error: { code: string } };
    expect(env).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });
  it('starts the engine in a utility process with the workspace and shipped folders', () => {
    expect(rec.forks).toHaveLength(1);
    expect(rec.forks[0]!.path).toMatch(/engine-host\.js$/);
    const env = rec.forks[0]!.opts.env as Record<string, string>;
    expect(env.ATELIER_WORKSPACE).toBe(path.join(rec.tmp, 'workspace'));
    expect(env.ATELIER_MODELS_DIR).toBe(path.join(rec.tmp, 'models'));
    expect(env.ATELIER_ENGINE_ROLE).toBe('primary');
  });
});
