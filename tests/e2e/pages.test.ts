/**
 * The studio in Chromium against `atelier serve`: every page opens (by click and by keyboard),
 * the status bar shows the wasm backend, one screenshot per page goes to tests/e2e/artifacts/,
 * and the pair-builder flow works end to end (two images dropped, pair added, imported, the
 * dataset shows in the grid). No page may throw an uncaught error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { haveChromium, launchChromium, screenshot, startServe, type Served } from './harness';

const PAGES = [
  { id: 'data', key: '1' },
  { id: 'train', key: '2' },
  { id: 'translate', key: '3' },
  { id: 'latent', key: '4' },
  { id: 'explore', key: '5' },
  { id: 'models', key: '6' },
] as const;

/** A tiny solid-colour PNG (built in the page with a canvas, so the test needs no image library). */
async function pngInPage(page: Page, rgb: [number, number, number], size = 32): Promise<number[]> {
  return page.evaluate(
    async ({ rgb, size }) => {
      const c = document.createElement('canvas');
      c.width = c.height = size;
      const ctx = c.getContext('2d')!;
      ctx.fillStyle = `rgb(${rgb.join(',')})`;
      ctx.fillRect(0, 0, size, size);
      ctx.fillStyle = '#fff';
      ctx.fillRect(size / 4, size / 4, size / 2, size / 8);
      const blob = await new Promise<Blob>((r) => c.toBlob((b) => r(b!), 'image/png'));
      return Array.from(new Uint8Array(await blob.arrayBuffer()));
    },
    { rgb, size },
  );
}

describe.skipIf(!haveChromium)('studio pages in Chromium', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    served = await startServe();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(served.url);
    await page.waitForSelector('[data-testid=status-backend]', { timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('shows the wasm backend and a ready engine in the status bar', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid=status-backend]')?.textContent?.includes('wasm'), null, { timeout: 60_000 });
    expect(await page.textContent('[data-testid=status-backend]')).toContain('wasm');
    expect(await page.textContent('[data-testid=engine-state]')).toContain('ready');
    expect(await page.isVisible('[data-testid=jobs-strip]')).toBe(true);
  });

  for (const p of PAGES) {
    it(`opens the ${p.id} page from the nav and saves a screenshot`, async () => {
      await page.click(`[data-testid=nav-${p.id}]`);
      await page.waitForSelector(`[data-testid=page-${p.id}]`, { timeout: 10_000 });
      expect(await page.getAttribute(`[data-testid=nav-${p.id}]`, 'aria-current')).toBe('page');
      // The jobs strip and the status bar are on every page.
      expect(await page.isVisible('[data-testid=jobs-strip]')).toBe(true);
      expect(await page.textContent('[data-testid=status-backend]')).toContain('wasm');
      // Let first loads settle (lists, thumbnails) before the picture.
      await page.waitForLoadState('networkidle').catch(() => undefined);
      await page.waitForTimeout(800);
      await screenshot(page, `page-${p.id}`);
    });
  }

  it('switches pages with the 1-6 and Ctrl+1..6 shortcuts', async () => {
    await page.click('[data-testid=page-models] h1');
    for (const p of PAGES) {
      await page.keyboard.press(p.key);
      await page.waitForSelector(`[data-testid=page-${p.id}]`, { timeout: 5_000 });
    }
    await page.keyboard.press('Control+3');
    await page.waitForSelector('[data-testid=page-translate]', { timeout: 5_000 });
    await page.keyboard.press('Control+1');
    await page.waitForSelector('[data-testid=page-data]', { timeout: 5_000 });
  });

  it('builds a pair from two dropped images, imports it and shows the dataset in the grid', async () => {
    await page.click('[data-testid=nav-data]');
    await page.waitForSelector('[data-testid=page-data]');
    if (!(await page.isVisible('[data-testid=pair-builder]'))) {
      // The page says why (no dataset channels in this build); nothing else to check.
      expect(await page.isVisible('[data-testid=missing-channels]')).toBe(true);
      return;
    }
    const a = await pngInPage(page, [200, 40, 60]);
    const b = await pngInPage(page, [30, 160, 90]);
    // Well A: a real drop event carrying a DataTransfer, as the OS would deliver it.
    await page.evaluate((bytes) => {
      const file = new File([new Uint8Array(bytes)], 'shoe-a.png', { type: 'image/png' });
      const dt = new DataTransfer();
      dt.items.add(file);
      const well = document.querySelector('[data-testid=pair-well-a]')!;
      for (const type of ['dragenter', 'dragover', 'drop']) well.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, a);
    // Well B: the hidden file input every drop zone also offers.
    await page.setInputFiles('[data-testid=pair-well-b-input]', { name: 'shoe-b.png', mimeType: 'image/png', buffer: Buffer.from(b) });
    await page.waitForSelector('[data-testid=pair-preview-a]');
    await page.waitForSelector('[data-testid=pair-preview-b]');
    await screenshot(page, 'data-pair-builder');
    await page.click('[data-testid=pair-add]');
    await page.waitForSelector('[data-testid=pair-item]');
    expect(await page.locator('[data-testid=pair-item]').count()).toBe(1);
    await page.fill('[data-testid=pair-name]', 'e2e-pairs');
    await page.click('[data-testid=pair-import]');
    const card = page.locator('[data-testid=dataset-card]', { hasText: 'e2e-pairs' });
    try {
      await card.waitFor({ timeout: 120_000 });
    } catch (e) {
      const toasts = await page.locator('[data-testid=toast-error]').allTextContents();
      throw new Error(`The imported dataset did not appear. Error toasts: ${toasts.join(' | ') || 'none'}`, { cause: e });
    }
    expect(await card.textContent()).toContain('paired');
    await page.waitForSelector('[data-testid=dataset-thumbs] img', { timeout: 30_000 });
    await screenshot(page, 'data-after-import');
  });

  it('threw no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
