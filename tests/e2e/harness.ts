/**
 * Starts `atelier serve` on a free port with a fresh temp workspace and opens Debian's Chromium
 * on it through playwright-core. Every e2e test goes through here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const ARTIFACTS = path.join(ROOT, 'tests', 'e2e', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Served {
  url: string;
  port: number;
  token: string;
  workspace: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startServe(opts: { workspace?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Served> {
  const workspace = opts.workspace ?? fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-e2e-'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'atelier.js'), 'serve', '--json', '--port', '0', '--workspace', workspace], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const info = await new Promise<{ url: string; port: number; token: string }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start in time. stderr:\n${stderr}`)), 120_000);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { url: string; port: number; token: string });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}. stderr:\n${stderr}`));
    });
  });
  return {
    ...info,
    workspace,
    proc,
    async stop() {
      if (proc.exitCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
      await done;
      clearTimeout(t);
    },
  };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const haveChromium = fs.existsSync(CHROMIUM);

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** The error toasts' and inline errors' texts on the page, for failure messages ('none shown' when there are none). */
export async function errorsShown(page: Page): Promise<string> {
  const texts = [...(await page.locator('[data-testid=toast-error]').allTextContents()), ...(await page.locator('[data-testid=error-inline]').allTextContents())];
  return texts.join(' | ') || 'none shown';
}

export interface Studio {
  served: Served;
  browser: Browser;
  page: Page;
  /** Uncaught errors thrown in the page, for a final "no errors" assertion. */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * `atelier serve` + Chromium + one page opened on the studio with its token, waiting until the
 * status bar is up. `prepare` runs after serve starts and before the page opens (e.g. to write
 * fixture data into the workspace); `workspace` and `env` go to serve (a prepared workspace, a
 * forced backend).
 */
export async function openStudio(opts: { prepare?: (served: Served) => void | Promise<void>; workspace?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Studio> {
  const served = await startServe({ ...(opts.workspace ? { workspace: opts.workspace } : {}), ...(opts.env ? { env: opts.env } : {}) });
  await opts.prepare?.(served);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(served.url);
  await page.waitForSelector('[data-testid=status-backend]', { timeout: 60_000 });
  return {
    served,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close();
      await served.stop();
    },
  };
}
