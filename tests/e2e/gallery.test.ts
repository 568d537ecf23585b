/**
 * The Gallery at thousands in Chromium against `atelier serve`: a workspace whose gallery index
 * holds 3,000 stamped outputs opens with one page of the index and a screenful of thumbnails, and
 * scrolling to the very end asks only for the pages and thumbnails of the rows shown. Counts DOM
 * nodes and WebSocket requests, never time.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM, haveChromium, openStudio, screenshot, type Studio } from './harness';
import { addProvenance } from '../../src/main/engine/infer/png-provenance';
import { recordFiles } from '../../src/main/engine/gallery/store';
import { openWorkspace } from '../../src/main/engine/core/workspace';
import type { Provenance } from '../../src/shared/provenance';

const N = 3000;

/** 3,000 small stamped PNGs (one image, a record each) listed in the workspace's gallery index. */
async function manyOutputs(workspace: string): Promise<void> {
  const dir = path.join(workspace, 'many');
  fs.mkdirSync(dir);
  const png = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: 'teal' } }).png().toBuffer());
  const files: string[] = [];
  for (let i = 0; i < N; i++) {
    const prov: Provenance = {
      format: 'atelier-provenance',
      version: 1,
      app: { name: 'atelier', version: '0.1.0' },
      op: 'generate',
      model: { id: 'fashion-cgan', name: 'fashion-cgan', kind: 'cgan', runtime: 'onnx', backend: 'onnxruntime-node cpu' },
      width: 8,
      height: 8,
      seed: i,
      createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    };
    const f = path.join(dir, `img-${String(i).padStart(4, '0')}.png`);
    fs.writeFileSync(f, addProvenance(png, prov));
    files.push(f);
  }
  await recordFiles(openWorkspace(workspace), files);
}

describe.skipIf(!haveChromium)(`Gallery with 3,000 outputs in Chromium${haveChromium ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let studio: Studio;
  let page: Page;
  const sent = { list: 0, thumb: 0 };

  beforeAll(async () => {
    studio = await openStudio({ prepare: (s) => manyOutputs(s.workspace) });
    ({ page } = studio);
    // Count the gallery requests the page sends over its WebSocket (from a fresh load on).
    page.on('websocket', (ws) =>
      ws.on('framesent', (f) => {
        const text = typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8');
        if (text.includes('"gallery.list"')) sent.list++;
        if (text.includes('"gallery.thumb"')) sent.thumb++;
      }),
    );
    await page.reload();
    await page.waitForSelector('[data-testid=status-backend]', { timeout: 60_000 });
  });
  afterAll(async () => {
    await studio?.close();
  });

  it('opens and scrolls to the end without loading every item', async () => {
    await page.click('[data-testid=nav-gallery]');
    await page.waitForSelector('[data-testid=gallery-item]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=gallery-count]')).toMatch(/3000 items/);
    const items = () => page.locator('[data-testid=gallery-item]').count();
    // Settled: the grid has its width (columns) and every thumbnail shown has arrived.
    const settled = () =>
      page.waitForFunction(() => {
        const n = document.querySelectorAll('[data-testid=gallery-item]').length;
        return n > 12 && document.querySelectorAll('[data-testid=gallery-item] img').length === n;
      }, null, { timeout: 60_000 });
    await settled();
    const atOpen = await items();
    expect(atOpen).toBeLessThan(200);
    // Newest first.
    expect(await page.getAttribute('[data-testid=gallery-item] >> nth=0', 'title')).toMatch(/^img-2999\.png/);
    // The index pages the screenful spans (60 items a page), no more.
    expect(sent.list).toBeLessThanOrEqual(Math.ceil(atOpen / 60) + 1);
    expect(sent.thumb).toBeLessThanOrEqual(atOpen);
    const listsAtOpen = sent.list;

    // To the very end: the oldest output is shown; still a screenful of nodes and a few pages.
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid=gallery-scroller]')!;
      el.scrollTop = el.scrollHeight;
    });
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=gallery-item]')].some((e) => e.getAttribute('title')?.startsWith('img-0000.png')), null, { timeout: 30_000 });
    await settled();
    expect(await items()).toBeLessThan(200);
    expect(sent.list - listsAtOpen).toBeLessThanOrEqual(Math.ceil((await items()) / 60) + 1);
    expect(sent.thumb).toBeLessThan(400);
    await screenshot(page, 'gallery-3000-end');
    expect(studio.pageErrors).toEqual([]);
  });
});
