/**
 * `npm start` and `npm run dev` as a user runs them (scripts/launch.mjs), against a stub Electron:
 * an executable in a temporary dist folder that records its arguments, working directory and
 * environment, then exits. Proves the launch without Electron's real binary, and that offline the
 * command ends with one clear message instead of electron-vite's "Electron uninstall" trace.
 * Here (the e2e project) because `npm start` rebuilds out/, which the other suites read.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './harness';

interface Launch {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** A dist folder whose `electron` records how it was started (read back with `record()`). */
function stubDist(): { dir: string; exe: string; record: () => Launch } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-stub-electron-'));
  const exe = path.join(dir, 'electron');
  fs.writeFileSync(
    path.join(dir, 'record.cjs'),
    "require('fs').writeFileSync(require('path').join(__dirname, 'record.json'), JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), env: process.env }));\n",
  );
  fs.writeFileSync(exe, `#!/bin/sh\nexec "${process.execPath}" "$(dirname "$0")/record.cjs" "$@"\n`, { mode: 0o755 });
  return { dir, exe, record: () => JSON.parse(fs.readFileSync(path.join(dir, 'record.json'), 'utf8')) as Launch };
}

/** The environment of a fresh shell: no Electron location given, no mirror from an .npmrc. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(ELECTRON_|npm_config_electron_|NO_SANDBOX$)/i.test(k)) delete env[k];
  return { ...env, ...extra };
}

/** Runs `npm <args>` in the project, the way a user does. */
function npm(args: string[], env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const cli = process.env.npm_execpath;
  const [cmd, pre] = cli && /npm-cli\.js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []];
  const r = spawnSync(cmd, [...pre, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

const asRoot = process.platform === 'linux' && process.getuid?.() === 0;
const stackFrame = /^\s+at .+[(:]\d+/m;
const electronPkg = path.join(ROOT, 'node_modules', 'electron');
const downloaded = (() => {
  try {
    return fs.existsSync(path.join(electronPkg, 'dist', fs.readFileSync(path.join(electronPkg, 'path.txt'), 'utf8')));
  } catch {
    return false;
  }
})();

describe.skipIf(process.platform === 'win32')(
  process.platform === 'win32' ? 'npm start (skipped: the stub Electron is a POSIX shell script)' : 'npm start',
  () => {
    it('builds, then launches the built main entry with the stub Electron given by ELECTRON_OVERRIDE_DIST_PATH', () => {
      const stub = stubDist();
      // Mark the current build stale: the launched app must be the one this command just built.
      const mainJs = path.join(ROOT, 'out', 'main', 'index.js');
      if (fs.existsSync(mainJs)) fs.appendFileSync(mainJs, '\n// stale-build-marker\n');
      const r = npm(['start'], cleanEnv({ ELECTRON_OVERRIDE_DIST_PATH: stub.dir }));
      expect(r.status, r.output).toBe(0);
      const rec = stub.record();
      // Electron gets the project folder; its package.json `main` is the built main process.
      expect(rec.argv[0]).toBe('.');
      expect(fs.realpathSync(rec.cwd)).toBe(fs.realpathSync(ROOT));
      const main = (JSON.parse(fs.readFileSync(path.join(rec.cwd, 'package.json'), 'utf8')) as { main: string }).main;
      expect(path.resolve(rec.cwd, main)).toBe(mainJs);
      const built = fs.readFileSync(mainJs, 'utf8');
      expect(built).not.toContain('stale-build-marker');
      // The window's preload and renderer that this main loads were built alongside it.
      expect(built).toContain('../preload/index.cjs');
      expect(fs.existsSync(path.join(ROOT, 'out', 'preload', 'index.cjs'))).toBe(true);
      expect(fs.existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'))).toBe(true);
      expect(rec.env.ELECTRON_EXEC_PATH).toBe(stub.exe);
      // Production preview: no dev server URL, and --no-sandbox only where Chromium demands it (root).
      expect(rec.env.ELECTRON_RENDERER_URL).toBeUndefined();
      expect(rec.argv.includes('--no-sandbox')).toBe(asRoot);
      expect(r.output).not.toContain('Electron uninstall');
    });

    it('npm run dev launches the same entry against the dev server', () => {
      const stub = stubDist();
      const r = npm(['run', 'dev'], cleanEnv({ ELECTRON_OVERRIDE_DIST_PATH: stub.dir }));
      expect(r.status, r.output).toBe(0);
      const rec = stub.record();
      expect(rec.argv[0]).toBe('.');
      expect(fs.realpathSync(rec.cwd)).toBe(fs.realpathSync(ROOT));
      expect(rec.env.ELECTRON_EXEC_PATH).toBe(stub.exe);
      expect(rec.env.ELECTRON_RENDERER_URL).toMatch(/^http:\/\/localhost:\d+\/?$/);
    });

    it('an ELECTRON_OVERRIDE_DIST_PATH without an Electron in it ends with the message and the two ways on, before building', () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-no-electron-'));
      const r = npm(['start'], cleanEnv({ ELECTRON_OVERRIDE_DIST_PATH: empty }));
      expect(r.status).not.toBe(0);
      expect(r.output).toContain(
        `cannot start the desktop app: ELECTRON_OVERRIDE_DIST_PATH is set but ${path.join(empty, 'electron')} is not an Electron executable`,
      );
      expect(r.output).toContain('ELECTRON_OVERRIDE_DIST_PATH=/path/to/electron/dist npm start');
      expect(r.output).toContain('npm run serve');
      expect(r.output).not.toMatch(stackFrame);
      expect(r.output).not.toContain('building');
    });

    // The download is Electron's own (require('electron')); an unreachable mirror and an empty cache
    // make it fail the way it does offline, even on a machine with a network.
    it.skipIf(downloaded)(
      downloaded
        ? 'offline without a binary (skipped: this checkout already downloaded Electron, so the download path cannot run)'
        : 'offline without a binary: one clear message, the two ways on, no stack trace',
      () => {
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-electron-cache-'));
        const r = npm(['start'], cleanEnv({ ELECTRON_MIRROR: 'http://127.0.0.1:9/', electron_config_cache: cache }));
        expect(r.status).not.toBe(0);
        expect(r.output).toContain("cannot start the desktop app: Electron's binary is not installed and downloading it failed");
        expect(r.output).toContain('ELECTRON_OVERRIDE_DIST_PATH=/path/to/electron/dist npm start');
        expect(r.output).toContain('npm run serve');
        expect(r.output).not.toMatch(stackFrame);
        expect(r.output).not.toContain('Electron uninstall');
        expect(fs.existsSync(path.join(electronPkg, 'path.txt'))).toBe(false);
      },
    );
  },
);
