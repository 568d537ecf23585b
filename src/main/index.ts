/**
 * Electron main: lifecycle, the window, security, the studio:// protocol, the IPC registrar and
 * the engine host (a utilityProcess, restarted if it crashes). Kept thin: everything here is
 * wiring around pieces that are unit-tested without the Electron binary (ipc.ts, security.ts,
 * engine/client/client.ts) and exercised end to end through `atelier serve` in Chromium.
 */
import { app, BrowserWindow, ipcMain, net, Notification, protocol, session, shell, utilityProcess, type WebContents } from 'electron';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EngineClient, type HostProcess, type Spawner } from './engine/client/client';
import type { FromHost, ToHost } from './engine/host/protocol';
import { defaultTrustedFrame, registerHandlers } from './ipc';
import { CSP, isAllowedNavigation, resolveStudioPath, secureWebPreferences, STUDIO_MIME } from './security';
import { loadWindowState, trackWindowState } from './window-state';
import { jobNotifier } from './job-notifications';

const devUrl = process.env.ELECTRON_RENDERER_URL;
const here = path.dirname(fileURLToPath(import.meta.url));

protocol.registerSchemesAsPrivileged([{ scheme: 'studio', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } }]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let win: BrowserWindow | null = null;
  const workspace = process.env.ATELIER_WORKSPACE || path.join(app.getPath('userData'), 'workspace');
  const resourcesRoot = app.isPackaged ? process.resourcesPath : app.getAppPath();
  const rendererDir = path.join(here, '../renderer');

  // Two hosts share the workspace: the primary (requests) and, once a run trains, the trainer.
  const spawnHost: Spawner = (opts): HostProcess => {
    const role = opts?.role ?? 'primary';
    const child = utilityProcess.fork(path.join(here, 'engine-host.js'), [], {
      serviceName: role === 'trainer' ? 'Atelier training engine' : 'Atelier engine',
      stdio: 'inherit',
      env: {
        ...process.env,
        ATELIER_WORKSPACE: workspace,
        ATELIER_APP_ROOT: app.getAppPath(),
        ATELIER_MODELS_DIR: path.join(resourcesRoot, 'models'),
        ATELIER_RESOURCES_DIR: path.join(resourcesRoot, 'resources'),
        ATELIER_ENGINE_ROLE: role,
      },
    });
    return {
      get pid() {
        return child.pid;
      },
      send: (m: ToHost) => child.postMessage(m),
      onMessage: (cb: (m: FromHost) => void) => child.on('message', (m: unknown) => cb(m as FromHost)),
      onExit: (cb) => child.on('exit', (code: number) => cb(code, null)),
      kill: () => void child.kill(),
    };
  };
  const engine = new EngineClient(spawnHost);

  const broadcast = (event: string, payload: unknown) => {
    for (const w of BrowserWindow.getAllWindows()) if (!w.isDestroyed()) w.webContents.send(`evt:${event}`, payload);
  };
  engine.onEvent(broadcast);
  // A long job that ends while the window is not in front: a system notification (from here, so
  // the renderer keeps every permission denied); a click brings the window back.
  engine.onEvent(
    jobNotifier({
      supported: () => Notification.isSupported(),
      focused: () => !!win?.isFocused(),
      create: (o) => new Notification(o),
      reveal: () => win?.show(),
    }),
  );

  const hardenContents = (contents: WebContents) => {
    contents.on('will-navigate', (e, url) => {
      if (!isAllowedNavigation(url, devUrl)) e.preventDefault();
    });
    contents.on('will-redirect', (e, url) => {
      if (!isAllowedNavigation(url, devUrl)) e.preventDefault();
    });
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-attach-webview', (e) => e.preventDefault());
  };

  const createWindow = () => {
    const state = loadWindowState(app.getPath('userData'));
    win = new BrowserWindow({
      ...state.bounds,
      minWidth: 960,
      minHeight: 640,
      title: 'Atelier',
      backgroundColor: '#15161a',
      show: false,
      webPreferences: secureWebPreferences(path.join(here, '../preload/index.cjs')),
    });
    if (state.maximized) win.maximize();
    trackWindowState(win, app.getPath('userData'));
    hardenContents(win.webContents);
    win.once('ready-to-show', () => win?.show());
    void win.loadURL(devUrl ?? 'studio://app/index.html');
  };

  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });

  app.on('web-contents-created', (_e, contents) => hardenContents(contents));

  void app.whenReady().then(() => {
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
    ses.setPermissionCheckHandler(() => false);
    ses.webRequest.onHeadersReceived((details, cb) => {
      cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });
    const roots = { app: rendererDir, workspace, models: path.join(resourcesRoot, 'models'), resources: path.join(resourcesRoot, 'resources') };
    protocol.handle('studio', async (request) => {
      const file = resolveStudioPath(request.url, roots);
      if (!file || !fs.existsSync(file) || fs.statSync(file).isDirectory()) return new Response('Not found', { status: 404 });
      const res = await net.fetch(pathToFileURL(file).toString());
      const headers = new Headers(res.headers);
      headers.set('Content-Type', STUDIO_MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
      headers.set('Content-Security-Policy', CSP);
      return new Response(res.body, { status: 200, headers });
    });
    registerHandlers({
      ipcMain,
      isTrustedFrame: defaultTrustedFrame(devUrl),
      forward: (channel, payload) => {
        // The one main-side channel family: reveal a file in the OS file manager.
        if (channel === 'app.reveal') {
          const p = (payload as { path: string }).path;
          shell.showItemInFolder(p);
          return Promise.resolve({ ok: true, data: { revealed: true } });
        }
        return engine.request(channel, payload);
      },
    });
    void engine.start();
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let quitting = false;
  app.on('before-quit', (e) => {
    if (quitting) return;
    quitting = true;
    e.preventDefault();
    void engine.close().finally(() => app.quit());
  });
}
