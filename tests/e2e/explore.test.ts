/**
 * The Explore page on sources other than a dataset, in Chromium against `atelier serve` with a
 * fresh workspace (no datasets): the shipped fashion-cgan's latent vectors (scatter, hover draws
 * the generated image, dendrogram cut colours the scatter), a CSV matrix picked from disk, and
 * the shipped fashion-autoencoder's features of a small dataset with its PCA comparison.
 * Screenshots go to tests/e2e/artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { writeBlobsDataset } from '../fixtures/blobs-dataset';
import { CHROMIUM, errorsShown, haveChromium, openStudio, screenshot, type Studio } from './harness';

/** A packed 28x28 dataset of blobs (varying place, size, brightness; label = size) in a workspace. */
function writeBlobs(workspace: string, nTrain: number, nTest: number): void {
  writeBlobsDataset(path.join(workspace, 'datasets'), { nTrain, nTest, minRadius: 3, classes: ['r3', 'r4', 'r5', 'r6', 'r7'] });
}

describe.skipIf(!haveChromium)(`Explore sources in Chromium${haveChromium ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let studio: Studio;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    studio = await openStudio({ prepare: (s) => writeBlobs(s.workspace, 300, 40) });
    ({ page, pageErrors } = studio);
  });

  afterAll(async () => {
    await studio?.close();
  });

  /** Hover across the middle of the scatter until a point's image shows. */
  async function hoverUntilPointImage(): Promise<void> {
    const box = (await page.locator('[data-testid=scatter]').boundingBox())!;
    for (let dx = -200; dx < 200 && !(await page.locator('[data-testid=point-image] img').count()); dx += 6) {
      await page.mouse.move(box.x + box.width / 2 + dx, box.y + box.height / 2);
      await page.waitForTimeout(30);
    }
  }

  it("explores the shipped cgan's latent vectors: scatter, hover image, dendrogram cut colours", async () => {
    await page.click('[data-testid=nav-explore]');
    await page.waitForSelector('[data-testid=page-explore]');
    expect(await page.isVisible('[data-testid=missing-channels]')).toBe(false);
    // The option is enabled once bundle.list has answered.
    await page.waitForSelector('[data-testid=explore-source] option[value=latent]:not([disabled])', { state: 'attached', timeout: 30_000 });
    await page.selectOption('[data-testid=explore-source]', 'latent');
    await page.selectOption('[data-testid=explore-generator]', 'fashion-cgan');
    await page.selectOption('[data-testid=explore-limit]', '250');
    await page.click('[data-testid=run-pca]');
    await page.waitForSelector('[data-testid=scatter]', { timeout: 180_000 }).catch(async (e: unknown) => {
      throw new Error(`No scatter. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    expect(await page.textContent('.section-head')).toContain('fashion-cgan latent z (250 vectors');
    // Hover across the plot until a point shows the image its z generates.
    await hoverUntilPointImage();
    expect(await page.locator('[data-testid=point-image] img').count()).toBe(1);
    expect(await page.textContent('[data-testid=point-image]')).toMatch(/seed \d+/);
    // Tree on a subset, then colour the scatter by its cut.
    await page.selectOption('select[aria-label="Points in the tree"]', '50');
    await page.click('[data-testid=run-tree]');
    await page.waitForSelector('[data-testid=dendrogram] svg path', { timeout: 180_000 });
    await page.click('[data-testid=colour-tree]');
    await page.waitForSelector('[data-testid=tree-legend]');
    expect(await page.textContent('[data-testid=tree-legend]')).toMatch(/\d+ clusters below the cut · 200 points outside the tree/);
    await screenshot(page, 'explore-latent');
    expect(pageErrors).toEqual([]);
  });

  it('explores a CSV matrix picked from disk', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-e2e-matrix-'));
    const file = path.join(dir, 'points.csv');
    const rows = ['a,b,c'];
    for (let i = 0; i < 60; i++) rows.push([Math.cos(i) * (i % 3), Math.sin(i) + (i % 3) * 4, (i % 3) - i / 60].map((v) => v.toFixed(4)).join(','));
    fs.writeFileSync(file, rows.join('\n'));
    await page.selectOption('[data-testid=explore-source]', 'matrix');
    await page.waitForSelector('[data-testid=explore-matrix-empty]');
    await page.setInputFiles('[data-testid=matrix-drop-input]', file);
    await page.waitForFunction(() => document.querySelector('[data-testid=matrix-file]')?.textContent === 'points.csv', null, { timeout: 30_000 });
    await page.click('[data-testid=run-pca]');
    await page.waitForFunction(() => document.querySelector('.section-head')?.textContent?.includes('points.csv'), null, { timeout: 120_000 }).catch(async (e: unknown) => {
      throw new Error(`No matrix scatter. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    expect(await page.textContent('.section-head')).toContain('60 x 3');
    await screenshot(page, 'explore-matrix');
    fs.rmSync(dir, { recursive: true, force: true });
    expect(pageErrors).toEqual([]);
  });

  it("explores the shipped autoencoder's features of a dataset and compares its reconstructions with PCA", async () => {
    await page.selectOption('[data-testid=explore-source]', 'features');
    await page.selectOption('[data-testid=explore-autoencoder]', 'fashion-autoencoder');
    await page.waitForSelector('[data-testid=explore-dataset] option[value=blobs]', { state: 'attached', timeout: 30_000 });
    await page.selectOption('[data-testid=explore-dataset]', 'blobs');
    await page.selectOption('[data-testid=explore-limit]', '250');
    await page.click('[data-testid=run-pca]');
    await page.waitForFunction(() => document.querySelector('.section-head')?.textContent?.includes('encoder features of blobs'), null, { timeout: 180_000 }).catch(async (e: unknown) => {
      throw new Error(`No features scatter. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    // Hovering a point shows its dataset image.
    await hoverUntilPointImage();
    expect(await page.locator('[data-testid=point-image] img').count()).toBe(1);
    await page.selectOption('[data-testid=reconstruct-model]', 'fashion-autoencoder');
    await page.selectOption('[data-testid=reconstruct-dataset]', 'blobs');
    await page.click('[data-testid=run-reconstruct]');
    await page.waitForSelector('[data-testid=reconstruct-mse]', { timeout: 180_000 }).catch(async (e: unknown) => {
      throw new Error(`No reconstruction result. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    expect(await page.textContent('[data-testid=reconstruct-mse]')).toMatch(/PCA-32 MSE [\d.e-]+.*autoencoder \(z 32\) MSE [\d.e-]+.*40 images/);
    expect(await page.locator('[data-testid=reconstruct-examples] img').count()).toBe(18);
    await page.locator('[data-testid=reconstruct-panel]').scrollIntoViewIfNeeded();
    await screenshot(page, 'explore-features-reconstruct');
    expect(pageErrors).toEqual([]);
  });
});
