import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CHROMIUM, haveChromium, launchChromium, screenshot, startServe, type Served } from './harness';

describe.skipIf(!haveChromium)(`studio in Chromium via atelier serve${haveChromium ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let served: Served;
  let browser: Browser;
  beforeAll(async () => {
    served = await startServe();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('opens with the token and shows the wasm backend in the status bar', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(served.url);
    const status = page.getByTestId('status-backend');
    await status.waitFor({ timeout: 60_000 });
    await expect.poll(async () => (await status.textContent()) ?? '', { timeout: 60_000 }).toContain('wasm');
    // Paths are confined in the browser studio; no --allow given, so only the workspace.
    await expect.poll(async () => (await page.getByTestId('status-access').textContent()) ?? '', { timeout: 30_000 }).toContain('workspace only');
    expect(await page.getByTestId('status-access').getAttribute('title')).toContain(served.workspace);
    await screenshot(page, 'shell');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses the studio without the token', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`http://127.0.0.1:${served.port}/`);
    expect(res?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('token');
    await page.close();
  });

  it('refuses a WebSocket with a wrong token from a page without the token, and keeps serving', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Same origin, but never given the token: the 401 page.
    await page.goto(`http://127.0.0.1:${served.port}/`);
    const refused = await page.evaluate(async (port) => {
      return new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=wrong`);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('refused');
      });
    }, served.port);
    expect(refused).toBe('refused');
    await context.close();
    const good = await browser.newPage();
    await good.goto(served.url);
    await expect.poll(async () => (await good.getByTestId('status-backend').textContent()) ?? '', { timeout: 60_000 }).toContain('wasm');
    await good.close();
  });
});
