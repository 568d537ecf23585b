/**
 * Drag-back restore and the Gallery in Chromium against `atelier serve`: generate on the Latent
 * page (seed, a PCA slider moved), save the PNG, move away, drop the saved PNG back: the same
 * seed, slider and image return. A PNG Atelier did not make is refused with a clear note. The
 * save is in the Gallery with its provenance, and "Reuse settings" restores it again. An
 * interpolation frame dropped back restores its keyframes, path and pixels.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Download, Page } from 'playwright-core';
import { CHROMIUM, errorsShown, haveChromium, openStudio, screenshot, type Studio } from './harness';
import { readProvenanceFile } from '../../src/main/engine/infer/png-provenance';

/** Drop bytes as a file on a drop zone, as the OS would (a DataTransfer on drag events). */
async function drop(page: Page, testId: string, bytes: Buffer, name: string): Promise<void> {
  await page.evaluate(
    ({ b, testId, name }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], name, { type: 'image/png' }));
      const zone = document.querySelector(`[data-testid=${testId}]`)!;
      for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { b: Array.from(bytes), testId, name },
  );
}

/** The pixels of the image the Latent page shows now (drawn on a canvas: RGBA at its own size). */
async function shownPixels(page: Page): Promise<Buffer> {
  const px = await page.evaluate(async () => {
    const img = document.querySelector('[data-testid=latent-image]') as HTMLImageElement;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    return Array.from(ctx.getImageData(0, 0, c.width, c.height).data);
  });
  return Buffer.from(px);
}

const pcValue = (page: Page) => page.getAttribute('[data-testid=pc-slider-0] [role=slider]', 'aria-valuenow');

describe.skipIf(!haveChromium)(`drag-back restore and the gallery in Chromium${haveChromium ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let studio: Studio;
  let page: Page;
  let pageErrors: string[];
  let tmp: string;
  let saved: string;

  beforeAll(async () => {
    studio = await openStudio();
    ({ page, pageErrors } = studio);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-e2e-prov-'));
  });
  afterAll(async () => {
    await studio?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('Latent: generate, save, drop the PNG back: the same image, seed and slider return', async () => {
    await page.click('[data-testid=nav-latent]');
    await page.waitForSelector('[data-testid=latent-image]', { timeout: 120_000 }).catch(async (e: unknown) => {
      throw new Error(`No render. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    await page.fill('[data-testid=latent-seed]', '7');
    const thumb = page.locator('[data-testid=pc-slider-0] [role=slider]');
    await thumb.waitFor({ timeout: 120_000 });
    await thumb.focus();
    for (let i = 0; i < 20; i++) await page.keyboard.press('ArrowRight');
    const moved = await pcValue(page);
    expect(Number(moved)).toBeCloseTo(1, 5);
    // Wait for the render of these settings (the caption names the seed; renders are live).
    await page.waitForFunction(() => document.querySelector('[data-testid=latent-caption]')?.textContent?.includes('seed 7'), null, { timeout: 30_000 });
    await page.waitForTimeout(1500);
    const before = await shownPixels(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=latent-save]')]);
    saved = path.join(tmp, download.suggestedFilename());
    await download.saveAs(saved);
    const prov = await readProvenanceFile(saved);
    expect(prov).toMatchObject({ op: 'latent', seed: 7, model: { runtime: 'onnx' } });
    expect(prov!.sliders?.pca?.amounts[0]).toBeCloseTo(1, 5);
    // The saved file is the image shown (same pixels, RGBA as the canvas reads them).
    expect((await sharp(saved).ensureAlpha().raw().toBuffer()).equals(before)).toBe(true);

    // Elsewhere: another seed, sliders back at rest.
    await page.fill('[data-testid=latent-seed]', '3');
    await page.click('text=Reset');
    await page.waitForFunction(() => document.querySelector('[data-testid=latent-caption]')?.textContent?.includes('seed 3'), null, { timeout: 30_000 });
    expect(Number(await pcValue(page))).toBe(0);

    await drop(page, 'latent-drop', fs.readFileSync(saved), path.basename(saved));
    await page.waitForSelector('[data-testid=restore-note][data-ok=true]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=restore-note]')).toMatch(/seed 7, 1 slider/);
    expect(await page.inputValue('[data-testid=latent-seed]')).toBe('7');
    await page.waitForFunction(() => document.querySelector('[data-testid=latent-caption]')?.textContent?.includes('seed 7'), null, { timeout: 30_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=pc-slider-0] [role=slider]')?.getAttribute('aria-valuenow')) > 0.99, null, { timeout: 60_000 });
    // The restored settings render the very same pixels.
    await page.waitForTimeout(1500);
    expect((await shownPixels(page)).equals(before)).toBe(true);
    await screenshot(page, 'latent-restored');
  });

  it('a PNG Atelier did not make, or with a forged chunk, is refused with a clear note', async () => {
    const plain = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'teal' } }).png().toBuffer();
    await drop(page, 'latent-drop', plain, 'holiday.png');
    await page.waitForSelector('[data-testid=restore-note][data-ok=false]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=restore-note]')).toMatch(/no Atelier provenance/);
    const forged = Buffer.from(fs.readFileSync(saved));
    forged[60] = forged[60]! ^ 1; // inside the chunk: its CRC no longer matches
    await drop(page, 'latent-drop', forged, 'forged.png');
    await page.waitForFunction(() => /CRC/.test(document.querySelector('[data-testid=restore-note]')?.textContent ?? ''), null, { timeout: 30_000 });
  });

  it('Latent: an interpolation frame dropped back restores keyframes A and B, the path, and the frame itself', async () => {
    const caption = (t: string) => page.waitForFunction((t) => document.querySelector('[data-testid=latent-caption]')?.textContent?.includes(t), t, { timeout: 30_000 });
    await page.fill('[data-testid=latent-seed]', '11');
    await caption('seed 11');
    await page.waitForTimeout(1000);
    await page.click('[data-testid=set-key-a]');
    await page.fill('[data-testid=latent-seed]', '12');
    await caption('seed 12');
    await page.waitForTimeout(1000);
    await page.click('[data-testid=set-key-b]');
    await page.click('[data-testid=interpolate]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=interp-strip] img').length === 8, null, { timeout: 60_000 });
    // Frame 4 of 8 as the engine returned it: "Export frames" saves each with its provenance.
    const downloads: Download[] = [];
    const onDownload = (d: Download) => void downloads.push(d);
    page.on('download', onDownload);
    await page.click('[data-testid=export-frames]');
    await expect.poll(() => downloads.length, { timeout: 30_000 }).toBe(8);
    page.off('download', onDownload);
    const d3 = downloads.find((d) => d.suggestedFilename().endsWith('-003.png'))!;
    const bytes = fs.readFileSync(await d3.path());
    const framePath = path.join(tmp, 'frame3.png');
    fs.writeFileSync(framePath, bytes);
    expect(await readProvenanceFile(framePath)).toMatchObject({ op: 'interpolate', interpolation: { steps: 8, frame: 3 } });

    // Elsewhere (another seed), then drop the frame back.
    await page.fill('[data-testid=latent-seed]', '3');
    await caption('seed 3');
    await drop(page, 'latent-drop', bytes, 'frame3.png');
    await page.waitForSelector('[data-testid=restore-note][data-ok=true]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=restore-note]')).toMatch(/interpolation, keyframes A and B, frame 4 of 8/);
    await caption('restored vector');
    await page.waitForSelector('img[alt="Keyframe A"]');
    await page.waitForSelector('img[alt="Keyframe B"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=interp-strip] img').length === 8, null, { timeout: 60_000 });
    // The frame renders again (one render instead of a batch of 8: equal to the last bit of 8-bit colour).
    await page.waitForTimeout(1500);
    const shown = await shownPixels(page);
    const want = await sharp(bytes).ensureAlpha().raw().toBuffer();
    expect(shown.length).toBe(want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(shown[i]! - want[i]!));
    expect(worst).toBeLessThanOrEqual(1);
    await screenshot(page, 'latent-interpolation-restored');
  });

  it('Translate: a saved translation dropped back restores its model and settings and names its input', async () => {
    await page.click('[data-testid=nav-translate]');
    await page.waitForSelector('[data-testid=translate-bundle] option', { state: 'attached', timeout: 30_000 });
    const photo = await sharp({ create: { width: 40, height: 24, channels: 3, background: { r: 200, g: 120, b: 40 } } }).png().toBuffer();
    await drop(page, 'translate-canvas-drop', photo, 'sunset.png');
    await page.waitForSelector('[data-testid=translate-output]', { timeout: 120_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=translate-save]')]);
    const out = path.join(tmp, download.suggestedFilename());
    await download.saveAs(out);
    const prov = await readProvenanceFile(out);
    expect(prov).toMatchObject({ op: 'translate', input: { name: 'sunset.png', width: 40, height: 24 }, scale: 'native' });
    await drop(page, 'translate-canvas-drop', fs.readFileSync(out), path.basename(out));
    await page.waitForSelector('[data-testid=page-translate] [data-testid=restore-note][data-ok=true]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=restore-note]')).toMatch(/The input was sunset\.png \(40×24\)/);
    expect(await page.inputValue('[data-testid=translate-bundle]')).toBe(prov!.model.id);
    await page.waitForSelector('[data-testid=translate-restored]');
  });

  it('Gallery: the saved image is listed with its provenance; Reuse settings restores it on Latent', async () => {
    await page.click('[data-testid=nav-gallery]');
    await page.waitForSelector('[data-testid=gallery-item][data-op=latent]', { timeout: 30_000 });
    // Filtered by what made it: the Latent render is still the one item.
    await page.selectOption('[data-testid=gallery-filter-op]', 'latent');
    await page.waitForSelector('[data-testid=gallery-item][data-op=latent]');
    expect(await page.textContent('[data-testid=gallery-count]')).toMatch(/1 item/);
    await page.click('[data-testid=gallery-item]');
    await page.waitForSelector('[data-testid=gallery-provenance]');
    expect(await page.textContent('[data-testid=gallery-provenance]')).toMatch(/Seed7/);
    await screenshot(page, 'gallery');
    await page.click('[data-testid=gallery-reuse]');
    await page.waitForSelector('[data-testid=page-latent] [data-testid=restore-note][data-ok=true]', { timeout: 30_000 });
    expect(await page.inputValue('[data-testid=latent-seed]')).toBe('7');
    expect(pageErrors).toEqual([]);
  });
});
