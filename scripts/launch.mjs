#!/usr/bin/env node
/**
 * `npm start` (`launch.mjs preview`) and `npm run dev` (`launch.mjs dev`): find Electron's binary,
 * then run electron-vite with it in ELECTRON_EXEC_PATH.
 *
 * Why: Electron 45's npm package downloads its binary on the first `require('electron')`, not at
 * install, and electron-vite 6 only reads `node_modules/electron/path.txt` or ELECTRON_EXEC_PATH, so
 * on a fresh install it stops with "Electron uninstall" before looking at anything else. Resolving
 * `require('electron')` here performs Electron's own download (or, with ELECTRON_OVERRIDE_DIST_PATH,
 * uses that unpacked Electron instead). Offline and without a binary, the command ends with one
 * message saying what failed and the two ways on, not a stack trace.
 *
 * Extra arguments go to electron-vite: `npm start -- --logLevel warn`.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [command = 'preview', ...rest] = process.argv.slice(2);
if (command !== 'preview' && command !== 'dev') fail(`unknown command "${command}" (expected preview or dev)`);

const electron = resolveElectron();
const env = { ...process.env, ELECTRON_EXEC_PATH: electron };
// Chromium refuses to start as root unless its sandbox is off (electron-vite then passes
// --no-sandbox). Say so, so nobody mistakes it for the app's normal security settings.
if (process.platform === 'linux' && process.getuid?.() === 0 && env.NO_SANDBOX !== '1') {
  console.log('atelier: running as root, so Electron starts with --no-sandbox (Chromium refuses root otherwise).');
  env.NO_SANDBOX = '1';
}
const electronVite = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
const child = spawn(process.execPath, [electronVite, command, ...rest], { cwd: root, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

/** The Electron executable to launch; ends the process with the offline message when there is none. */
function resolveElectron() {
  const given = process.env.ELECTRON_EXEC_PATH;
  if (given) {
    if (isFile(given)) return given;
    fail(`ELECTRON_EXEC_PATH is set but ${given} is not a file.`);
  }
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const pkgDir = electronPackageDir();
  const downloaded = !override && isDownloaded(pkgDir);
  if (!override && !downloaded) console.log(`atelier: downloading Electron ${electronVersion(pkgDir)}'s binary (first launch only, about 100 MB)...`);
  // A child process, so that the download's own stack trace (printed by electron/install.js) is
  // captured instead of shown: offline, the user gets one message, not a trace.
  const r = spawnSync(process.execPath, ['-e', "process.stdout.write(require('electron'))"], { cwd: root, env: process.env, encoding: 'utf8' });
  const exe = r.status === 0 ? r.stdout.trim() : '';
  if (exe && isFile(exe)) return exe;
  if (override) fail(`ELECTRON_OVERRIDE_DIST_PATH is set but ${exe || path.join(override, 'electron')} is not an Electron executable.`);
  fail(`Electron's binary is not installed and downloading it failed (${firstErrorLine(r.stderr)}; offline?).`);
}

function electronPackageDir() {
  const r = spawnSync(process.execPath, ['-e', "process.stdout.write(require.resolve('electron/package.json'))"], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) fail('the electron package is not installed: run `npm install` first.');
  return path.dirname(r.stdout);
}

function electronVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return '';
  }
}

/** Electron's index.js downloads when path.txt or the file it names is missing: mirror that test. */
function isDownloaded(dir) {
  try {
    return isFile(path.join(dir, 'dist', fs.readFileSync(path.join(dir, 'path.txt'), 'utf8')));
  } catch {
    return false;
  }
}

function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The first line of the download's output that names the error (no stack frames). */
function firstErrorLine(stderr = '') {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at ') && !/^Downloading Electron/.test(l));
  const cause = lines.find((l) => /error|fail|ENOTFOUND|ECONNREFUSED|EAI_AGAIN/i.test(l)) ?? lines[0] ?? 'no network?';
  return cause.length > 160 ? `${cause.slice(0, 157)}...` : cause;
}

function fail(what) {
  console.error(
    [
      `atelier: cannot start the desktop app: ${what}`,
      'Two ways on:',
      `  ELECTRON_OVERRIDE_DIST_PATH=/path/to/electron/dist ${command === 'dev' ? 'npm run dev' : 'npm start'}   (an unpacked Electron of the same version)`,
      '  npm run serve   (the same studio in your browser, no Electron needed)',
    ].join('\n'),
  );
  process.exit(1);
}
