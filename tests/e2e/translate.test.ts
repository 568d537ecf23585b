/**
 * Translate at full resolution in Chromium against `atelier serve`: a photo (made by code, not a
 * file of this machine) dropped on the Translate page comes back at its own size, the viewer
 * zooms to 1:1 (one image pixel per CSS pixel) and pans, and Save downloads a PNG of the
 * photo's width and height.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM, errorsShown, haveChromium, openStudio, screenshot, type Studio } from './harness';

/** A 451x300 photo-like JPEG: smooth colour fields and a few edges. */
async function photo(): Promise<Buffer> {
  const w = 451;
  const h = 300;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      px[o] = Math.round(128 + 100 * Math.sin(x / 23));
      px[o + 1] = Math.round(128 + 90 * Math.cos(y / 17));
      px[o + 2] = (x - 200) ** 2 + (y - 150) ** 2 < 60 ** 2 ? 230 : 60;
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

describe.skipIf(!haveChromium)(`translate at full resolution in Chromium${haveChromium ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let studio: Studio;
  let page: Page;
  let pageErrors: string[];
  let tmp: string;

  beforeAll(async () => {
    studio = await openStudio();
    ({ page, pageErrors } = studio);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-e2e-res-'));
  });

  afterAll(async () => {
    await studio?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('drop a photo, see the full-size output, zoom to 1:1, pan, save it', async () => {
    await page.click('[data-testid=nav-translate]');
    await page.waitForSelector('[data-testid=page-translate]');
    await page.waitForSelector('[data-testid=translate-bundle] option', { state: 'attached', timeout: 30_000 });
    const bytes = Array.from(await photo());
    // A real drop event carrying a DataTransfer, as the OS would deliver it.
    await page.evaluate((b) => {
      const file = new File([new Uint8Array(b)], 'meadow.jpg', { type: 'image/jpeg' });
      const dt = new DataTransfer();
      dt.items.add(file);
      const zone = document.querySelector('[data-testid=translate-canvas-drop]')!;
      for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    const out = page.locator('[data-testid=translate-output]');
    await out.waitFor({ timeout: 120_000 }).catch(async (e: unknown) => {
      throw new Error(`No output. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    await page.waitForFunction(() => (document.querySelector('[data-testid=translate-output]') as HTMLImageElement | null)?.naturalWidth, null, { timeout: 10_000 });
    // The output is the photo's own size, not the model's 32 px square.
    expect(await out.evaluate((i: HTMLImageElement) => [i.naturalWidth, i.naturalHeight])).toEqual([451, 300]);
    expect(await page.textContent('[data-testid=translate-caption]')).toMatch(/ran at 451×300/);
    expect(await page.textContent('[data-testid=translate-warning]')).toMatch(/trained on 32x32 images/);
    await screenshot(page, 'translate-native-fit');

    await page.click('[data-testid=zoom-1to1]');
    expect(await page.textContent('[data-testid=zoom-level]')).toBe('100%');
    const box1 = (await out.boundingBox())!;
    expect([Math.round(box1.width), Math.round(box1.height)]).toEqual([451, 300]);
    await page.click('[data-testid=zoom-1to1]');
    // Zoom in twice: 4 screen pixels per image pixel; drag pans the image.
    await page.click('[aria-label="Zoom in"]');
    await page.click('[aria-label="Zoom in"]');
    expect(await page.textContent('[data-testid=zoom-level]')).toBe('400%');
    const before = (await out.boundingBox())!;
    const pane = (await page.locator('[data-testid=ba-after]').boundingBox())!;
    await page.mouse.move(pane.x + pane.width / 2, pane.y + pane.height / 2);
    await page.mouse.down();
    await page.mouse.move(pane.x + pane.width / 2 + 60, pane.y + pane.height / 2 + 30, { steps: 4 });
    await page.mouse.up();
    const after = (await out.boundingBox())!;
    expect(Math.round(after.x - before.x)).toBe(60);
    expect(Math.round(after.y - before.y)).toBe(30);
    await screenshot(page, 'translate-native-zoom');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=translate-save]')]);
    const file = path.join(tmp, download.suggestedFilename());
    await download.saveAs(file);
    const meta = await sharp(file).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 451, 300]);
    expect(pageErrors).toEqual([]);
  });
});
