/**
 * The Models page's PyTorch drop zone in Chromium against `atelier serve`: a CycleGAN pair of the
 * reference's checkpoints (made by PyTorch, fixtures/reference_nets.py) dropped on it becomes a
 * two-direction bundle with its ONNX parity shown; a .pth whose pickle calls os.system is refused
 * with a message naming the file and the global, nothing runs and no bundle appears.
 * Screenshots go to tests/e2e/artifacts/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { writeZip } from '../../src/main/engine/interop/zip';
import { NO_TORCH, runReference, torchAvailable } from '../unit/engine/interop/torch';
import { CHROMIUM, errorsShown, haveChromium, openStudio, screenshot, type Studio } from './harness';

describe.skipIf(!haveChromium)(`PyTorch checkpoints dropped on the Models page${haveChromium ? '' : ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`}`, () => {
  let studio: Studio;
  let page: Page;
  let pageErrors: string[];
  let dir = '';

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-e2e-pth-'));
    studio = await openStudio();
    ({ page, pageErrors } = studio);
    await page.click('[data-testid=nav-models]');
    await page.waitForSelector('[data-testid=pytorch-drop]');
  });

  afterAll(async () => {
    await studio?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const bundles = () => (fs.existsSync(path.join(studio.served.workspace, 'bundles')) ? fs.readdirSync(path.join(studio.served.workspace, 'bundles')).filter((n) => !n.startsWith('.')) : []);

  it('a hostile pickle (os.system) is refused with a clear message; nothing runs, no bundle appears', async () => {
    const marker = path.join(dir, 'pwned');
    // A torch zip whose data.pkl calls os.system("touch <marker>") when unpickled by torch.load.
    const cmd = Buffer.from(`touch ${marker}`);
    const pkl = Uint8Array.from([0x80, 0x02, ...Buffer.from('cos\nsystem\n'), 0x58, cmd.length & 0xff, cmd.length >> 8, 0, 0, ...cmd, 0x85, 0x52, 0x2e]);
    const before = bundles();
    await page.setInputFiles('[data-testid=pytorch-drop-input]', { name: 'latest_net_G.pth', mimeType: 'application/octet-stream', buffer: Buffer.from(writeZip([{ name: 'archive/data.pkl', data: pkl }])) });
    await page.waitForSelector('[data-testid=toast-error]', { timeout: 60_000 });
    const shown = await errorsShown(page);
    expect(shown).toContain('latest_net_G.pth');
    expect(shown).toContain('Refused .pth file');
    expect(shown).toContain('os.system');
    await screenshot(page, 'models-pth-refused');
    expect(fs.existsSync(marker)).toBe(false);
    expect(bundles()).toEqual(before);
    expect(await page.locator('[data-testid=pytorch-import-result]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it.skipIf(!torchAvailable)(`a CycleGAN pair (latest_net_G_A + G_B) becomes a two-direction bundle with its ONNX parity${NO_TORCH}`, async () => {
    runReference('make', dir, [
      { name: 'latest_net_G_A', net: 'resnet_6blocks', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 3, seed: 81 },
      { name: 'latest_net_G_B', net: 'resnet_6blocks', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 3, seed: 82 },
    ]);
    // Dismiss the previous test's error toasts so a new one would be this drop's.
    await page.evaluate(() => document.querySelectorAll('[data-testid=toast-error]').forEach((t) => t.remove()));
    await page.setInputFiles('[data-testid=pytorch-drop-input]', [path.join(dir, 'latest_net_G_A.pth'), path.join(dir, 'latest_net_G_B.pth')]);
    await page.waitForSelector('[data-testid=pytorch-import-result]', { timeout: 240_000 }).catch(async (e: unknown) => {
      throw new Error(`No import result. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    const text = (await page.textContent('[data-testid=pytorch-import-result]')) ?? '';
    expect(text).toContain('G_A (resnet_6blocks, instance norm, ngf 2, 3->3 channels)');
    expect(text).toContain('G_B (resnet_6blocks, instance norm, ngf 2, 3->3 channels)');
    const id = text.slice(0, text.indexOf(':'));
    // The bundle is in the workspace with both directions exported to ONNX, and its card names the hashes.
    const bdir = path.join(studio.served.workspace, 'bundles', id);
    expect(fs.existsSync(path.join(bdir, 'bundle.json'))).toBe(true);
    expect(fs.readdirSync(bdir).filter((f) => f.endsWith('.onnx')).sort()).toEqual([`${id}.BtoA.onnx`, `${id}.onnx`]);
    expect(fs.readFileSync(path.join(bdir, 'README.md'), 'utf8')).toMatch(/parity with tfjs max \|diff\| [0-9.e+-]+ \(pass/);
    expect(await page.locator('[data-testid=toast-error]').count()).toBe(0);
    await screenshot(page, 'models-pth-imported');
    expect(pageErrors).toEqual([]);
  });
});
