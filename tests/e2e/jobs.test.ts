/**
 * The jobs strip in Chromium against `atelier serve`: a training (trainer host) and two folder
 * translations (request host) wait in ONE queue; the strip's "earlier" button reorders the waiting
 * ones; cancelling the training from the strip lets them run in the new order; each end while the
 * tab is hidden counts in the title (the browser's badge) and raises a desktop notification, and
 * the count clears when the tab is seen again. Notification and page visibility are stubbed in the
 * page (headless Chromium shows no notifications and never hides a tab); the app's code under test
 * is the real one. Structural assertions only, no timings.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM, errorsShown, haveChromium, openStudio, screenshot, type Studio } from './harness';
import { createWsStudio } from '../../src/renderer/src/transport/ws';
import type { StudioApi } from '../../src/shared/api';
import type { Envelope } from '../../src/shared/errors';

/** Stubs installed before the app's scripts: a granted Notification that records, and a visibility switch. */
const STUBS = () => {
  const w = window as unknown as { __notes: { title: string; body?: string }[]; __setVisibility(v: 'visible' | 'hidden'): void };
  w.__notes = [];
  class RecordingNotification {
    static permission = 'granted';
    static requestPermission = () => Promise.resolve('granted');
    constructor(title: string, o?: { body?: string }) {
      w.__notes.push({ title, ...(o?.body ? { body: o.body } : {}) });
    }
  }
  (window as unknown as { Notification: unknown }).Notification = RecordingNotification;
  let vis: 'visible' | 'hidden' = 'visible';
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => vis });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => vis === 'hidden' });
  w.__setVisibility = (v) => {
    vis = v;
    document.dispatchEvent(new Event('visibilitychange'));
  };
};

const ok = <T>(e: Envelope<unknown>): T => {
  if (!e.ok) throw new Error(`${e.error.code}: ${e.error.message}`);
  return e.data as T;
};

const row = (id: string) => `[data-testid=job-row][data-job-id="${id}"]`;

describe.skipIf(!haveChromium)(`jobs strip: one queue, reorder, notifications in Chromium${haveChromium ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let studio: Studio;
  let page: Page;
  let api: StudioApi;
  let inDir: string;

  beforeAll(async () => {
    studio = await openStudio({
      prepare: async (s) => {
        inDir = path.join(s.workspace, 'edges');
        fs.mkdirSync(inDir);
        for (const n of ['a', 'b']) await sharp({ create: { width: 32, height: 32, channels: 3, background: n === 'a' ? 'white' : 'black' } }).png().toFile(path.join(inDir, `${n}.png`));
      },
    });
    ({ page } = studio);
    await page.addInitScript(STUBS);
    await page.reload();
    await page.waitForSelector('[data-testid=status-backend]', { timeout: 60_000 });
    // A second client of the same serve submits the jobs (as another window would); the page sees them by events.
    const { port, token } = studio.served;
    const origin = `http://127.0.0.1:${port}`;
    class BrowserLikeWs extends WebSocket {
      constructor(url: string) {
        super(url, { origin });
      }
    }
    api = createWsStudio({ url: `ws://127.0.0.1:${port}/ws?token=${token}`, token, httpBase: origin, WebSocketImpl: BrowserLikeWs as unknown as typeof globalThis.WebSocket });
  });
  afterAll(async () => {
    await studio?.close();
  });

  it('a training and two folder translations queue together; reorder and cancel in the strip; notices when they end', async () => {
    const train = ok<{ jobId: string }>(
      await api.train.start({ model: 'autoencoder', datasetId: 'synthetic:images', options: { size: 16, latent: 4, ngf: 4 }, steps: 1_000_000, sampleEvery: 1_000_000, checkpointEvery: 1_000_000, bundle: false }),
    ).jobId;
    const folder = (out: string) => api.infer.translateFolder({ model: 'edges2fashion-pix2pix', input: inDir, output: path.join(studio.served.workspace, out) });
    const a = ok<{ jobId: string }>(await folder('out-a')).jobId;
    const b = ok<{ jobId: string }>(await folder('out-b')).jobId;

    // The training runs (trainer host); both translations (request host) wait behind it, in order.
    await page.waitForSelector(`${row(train)}[data-state=running]`, { timeout: 60_000 });
    await page.waitForSelector(`${row(a)}[data-state=queued]`);
    await page.waitForSelector(`${row(b)}[data-state=queued]`);
    expect(await page.textContent(`${row(a)} [data-testid=job-queued]`)).toMatch(/#1/);
    expect(await page.textContent(`${row(b)} [data-testid=job-queued]`)).toMatch(/#2/);
    expect(await page.textContent('[data-testid=jobs-queued]')).toMatch(/\+2 queued/);

    // "Earlier" on B: B is next.
    await page.click(`${row(b)} [data-testid=job-up]`);
    await page.waitForFunction((sel) => /#1/.test(document.querySelector(sel)?.textContent ?? ''), `${row(b)} [data-testid=job-queued]`);
    expect(await page.textContent(`${row(a)} [data-testid=job-queued]`)).toMatch(/#2/);
    await screenshot(page, 'jobs-queue');

    // The tab goes to the background; the training is cancelled from the strip: B, then A run.
    await page.evaluate(() => (window as unknown as { __setVisibility(v: string): void }).__setVisibility('hidden'));
    const ends: string[] = [];
    api.on('job.done', (p) => ends.push(p.jobId));
    await page.click(`${row(train)} [data-testid=job-cancel]`);
    await page.waitForSelector(`${row(a)}[data-state=done]`, { timeout: 120_000 }).catch(async (e: unknown) => {
      throw new Error(`The queued translations did not finish. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    await page.waitForSelector(`${row(b)}[data-state=done]`);
    expect(await page.getAttribute(row(train), 'data-state')).toBe('cancelled');
    await expect.poll(() => ends.filter((id) => id === a || id === b)).toEqual([b, a]);

    // Two ends while hidden (a cancel is not announced): the title counts them, two notifications.
    await page.waitForFunction(() => document.title.startsWith('(2) '));
    const notes = await page.evaluate(() => (window as unknown as { __notes: { title: string }[] }).__notes.map((n) => n.title));
    expect(notes).toHaveLength(2);
    expect(notes.every((t) => /^Done: Translate edges with /.test(t))).toBe(true);
    // Seen again: the count goes.
    await page.evaluate(() => (window as unknown as { __setVisibility(v: string): void }).__setVisibility('visible'));
    await page.waitForFunction(() => !/^\(\d+\) /.test(document.title));
    expect(studio.pageErrors).toEqual([]);
  });
});
