/**
 * The Train page's GPU memory estimate before Start, in Chromium against `atelier serve` forced
 * onto WebGPU with a real (software) adapter: SwiftShader through Dawn, the networks built on it.
 * The card's memory is stated as 10 MiB (ATELIER_GPU_MEMORY_MB) so a tiny pix2pix fits at batch 1
 * and not at batch 8: the page shows the estimate's parts and the verdict as the batch changes,
 * offers the batch that fits, and a Start of the run that does not fit is refused with the same
 * verdict, leaving no run behind. Structural assertions only, no timings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CHROMIUM, errorsShown, haveChromium, openStudio, screenshot, type Studio } from './harness';
import { noSoftwareGpu, SWIFTSHADER_ICD } from '../unit/engine/gpu/software-gpu';
import { writePairedFolders } from '../fixtures/bad-images';
import { openWorkspace } from '../../src/main/engine/core/workspace';
import { importDataset } from '../../src/main/engine/data/import';

const skip = !haveChromium ? `no Chromium at ${CHROMIUM}; apt-get install chromium` : noSoftwareGpu;

describe.skipIf(skip !== null)(`Train page: the GPU memory estimate before Start, real SwiftShader adapter under serve with ATELIER_BACKEND=webgpu${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let studio: Studio;
  let page: Page;
  let tmp: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-e2e-gpu-'));
    const workspace = path.join(tmp, 'ws');
    await writePairedFolders(path.join(tmp, 'pairs'), { n: 10, size: 32 });
    await importDataset(openWorkspace(workspace), { kind: 'paired', path: path.join(tmp, 'pairs'), name: 'gpu pairs', acceptPartial: true, testFraction: 0 });
    studio = await openStudio({ workspace, env: { ATELIER_BACKEND: 'webgpu', VK_ICD_FILENAMES: SWIFTSHADER_ICD, ATELIER_GPU_MEMORY_MB: '10' } });
    ({ page } = studio);
  });
  afterAll(async () => {
    await studio?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const memory = '[data-testid=train-memory]';
  const state = () => page.getAttribute(memory, 'data-state');
  const settled = async (want: string) => {
    await page.waitForSelector(`${memory}[data-state=${want}]`, { timeout: 120_000 }).catch(async (e: unknown) => {
      throw new Error(`The estimate did not reach "${want}" (now ${await state()}: ${await page.textContent(memory).catch(() => 'absent')}). Errors: ${await errorsShown(page)}`, { cause: e });
    });
  };

  it('shows the estimate and "fits" at batch 1, "does not fit" at batch 8 with the batch that does, before Start', async () => {
    await page.waitForFunction(() => document.querySelector('[data-testid=status-backend]')?.textContent?.includes('webgpu'), null, { timeout: 60_000 });
    await page.click('[data-testid=nav-train]');
    await page.waitForSelector('[data-testid=train-model] option', { state: 'attached' });
    await page.selectOption('[data-testid=train-model]', 'pix2pix');
    await page.waitForSelector('[data-testid=train-dataset] option', { state: 'attached' });
    await page.fill('[data-testid=train-options] input[aria-label=ngf]', '4');
    await page.fill('[data-testid=train-options] input[aria-label=ndf]', '4');

    await settled('fits');
    expect(await page.textContent('[data-testid=train-memory-total]')).toMatch(/needs about [\d.]+ MiB at size 32, batch 1 — fits google swiftshader \(software\)/);
    expect(await page.textContent('[data-testid=train-memory-parts]')).toMatch(/weights [\d.]+ MiB · gradients \+ optimizer [\d.]+ MiB · activations [\d.]+ MiB; largest buffer [\d.]+ MiB of [\d.,]+ MiB/);
    expect(await page.textContent('[data-testid=train-memory-note]')).toMatch(/total is checked against 10 MiB \(ATELIER_GPU_MEMORY_MB=10\)/);

    await page.fill('[data-testid=train-options] input[aria-label=batchSize]', '8');
    await settled('too-big');
    expect(await page.textContent('[data-testid=train-memory-total]')).toMatch(/at size 32, batch 8 — does not fit/);
    expect(await page.textContent('[data-testid=train-memory-why]')).toMatch(/needs about \d+ MiB .* but ATELIER_GPU_MEMORY_MB=10 gives 10 MiB/);
    const use = page.locator('[data-testid=train-memory-use-batch]');
    const n = Number(/Use batch (\d+)/.exec((await use.textContent()) ?? '')?.[1]);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThan(8);
    await page.locator(memory).scrollIntoViewIfNeeded();
    await screenshot(page, 'train-memory-too-big');

    await use.click();
    expect(await page.inputValue('[data-testid=train-options] input[aria-label=batchSize]')).toBe(String(n));
    await settled('fits');
    expect(await page.textContent('[data-testid=train-memory-total]')).toContain(`batch ${n} — fits`);
    expect(studio.pageErrors).toEqual([]);
  });

  it('a Start that does not fit is refused with the same verdict, and no run is left behind', async () => {
    await page.fill('[data-testid=train-options] input[aria-label=batchSize]', '8');
    await settled('too-big');
    const why = (await page.textContent('[data-testid=train-memory-why]'))!.replace(/\.$/, '');
    await page.click('[data-testid=train-start]');
    await page.waitForSelector('[data-testid=toast-error]', { timeout: 120_000 });
    const toast = (await page.textContent('[data-testid=toast-error]')) ?? '';
    expect(toast).toMatch(/This pix2pix run \(size 32, batch 8\) does not fit the GPU \(google swiftshader\)/);
    expect(toast).toContain(why);
    expect(fs.readdirSync(path.join(studio.served.workspace, 'runs'))).toEqual([]);
    await page.click('[data-testid=page-train] >> text=Refresh');
    expect(await page.textContent('[data-testid=page-train]')).toContain('No runs yet.');
    expect(studio.pageErrors).toEqual([]);
  });
});
