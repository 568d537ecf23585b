/**
 * The desktop app itself, driven by Playwright's _electron. Runs only where an Electron binary
 * exists (ELECTRON_OVERRIDE_DIST_PATH or the electron package's download); otherwise reported as
 * skipped with the reason in its name — never as passed.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import { _electron as electron } from 'playwright-core';
import { findElectronBinary } from '../../src/main/engine/core/doctor';
import { ROOT, screenshot } from './harness';

const bin = findElectronBinary();
const title = bin.binary ? 'launches the desktop app, shows the backend, and keeps node out of the renderer' : `desktop app (skipped: no Electron binary — ${bin.reason})`;

describe('Electron app', () => {
  it.skipIf(!bin.binary)(title, async () => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-electron-'));
    const app = await electron.launch({
      executablePath: bin.path!,
      args: [path.join(ROOT, 'out', 'main', 'index.js'), '--no-sandbox'],
      env: { ...process.env, ATELIER_WORKSPACE: workspace },
    });
    try {
      const page = await app.firstWindow();
      await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
      const isolated = await page.evaluate(() => typeof (globalThis as { require?: unknown }).require === 'undefined' && typeof (globalThis as { process?: unknown }).process === 'undefined');
      expect(isolated).toBe(true);
      const hasStudio = await page.evaluate(() => typeof (globalThis as unknown as { studio?: unknown }).studio === 'object');
      expect(hasStudio).toBe(true);
      await screenshot(page, 'electron-shell');
    } finally {
      await app.close();
    }
  });
});
