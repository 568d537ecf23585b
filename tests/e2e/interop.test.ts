/**
 * The Models page's PyTorch drop zone in Chromium against `atelier serve`: a CycleGAN pair of the
 * reference's checkpoints (made by PyTorch, fixtures/reference_nets.py) dropped on it becomes a
 * two-direction bundle with its ONNX parity shown; a .pth whose pickle calls os.system is refused
 * with a message naming the file and the global, nothing runs and no bundle appears. The imported
 * pair then continues training here on a dataset (import.pytorchRun + train.resume): the run
 * says its optimizer state starts fresh, and finishes.
 * Screenshots go to tests/e2e/artifacts/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { encodeIdx } from '../../src/main/engine/data/idx';
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

  it.skipIf(!torchAvailable)(`the imported pair continues training here on a dataset, its optimizer state fresh${NO_TORCH}`, async () => {
    if (!(await page.locator('[data-testid=pytorch-continue]').count())) throw new Error('the previous test imports the pair this one continues');
    // An unpaired packed dataset (32 px RGB), written into the workspace as the demo builder lays them out.
    const id = 'pth-continue-data';
    const d = path.join(studio.served.workspace, 'datasets', id);
    const packed: Record<string, { images: Record<string, string>; count: Record<string, number> }> = {};
    for (const split of ['train', 'test'] as const) {
      fs.mkdirSync(path.join(d, split), { recursive: true });
      packed[split] = { images: {}, count: {} };
      for (const role of ['a', 'b'] as const) {
        const rel = `${split}/${role}-images-idx3-ubyte.gz`;
        fs.writeFileSync(path.join(d, rel), encodeIdx({ dims: [3, 32, 32, 3], data: new Uint8Array(3 * 32 * 32 * 3).map((_, i) => (i * (role === 'a' ? 7 : 13)) & 0xff) }));
        packed[split].images[role] = rel;
        packed[split].count[role] = 3;
      }
    }
    fs.writeFileSync(path.join(d, 'dataset.json'), JSON.stringify({ schemaVersion: 1, id, name: id, kind: 'unpaired', createdAt: new Date().toISOString(), source: { layout: 'idx', path: null }, image: { width: 32, height: 32, channels: 3 }, counts: { train: 3, test: 3, a: 6, b: 6, warnings: 0, skipped: 0 }, storage: 'packed', packed, fileHashes: {}, contentHash: '', options: { size: 32, fit: 'fill', background: '#000', seed: 0, testFraction: 0.5 } }));
    // The list was read at import time: drop the pair again to refresh it (a second bundle, same files).
    await page.setInputFiles('[data-testid=pytorch-drop-input]', [path.join(dir, 'latest_net_G_A.pth'), path.join(dir, 'latest_net_G_B.pth')]);
    await page.waitForSelector(`[data-testid=pytorch-continue-dataset] option[value="${id}"]`, { state: 'attached', timeout: 240_000 });
    await page.selectOption('[data-testid=pytorch-continue-dataset]', id);
    await page.fill('[data-testid=pytorch-continue-steps]', '2');
    await page.click('[data-testid=pytorch-continue-start]');
    await page.waitForSelector('[data-testid=pytorch-continue-note]', { timeout: 120_000 }).catch(async (e: unknown) => {
      throw new Error(`No run started. Errors: ${await errorsShown(page)}`, { cause: e });
    });
    const note = (await page.textContent('[data-testid=pytorch-continue-note]')) ?? '';
    expect(note).toMatch(/^Run (\S+) \(cyclegan\) is training: started from PyTorch checkpoints latest_net_G_A\.pth, latest_net_G_B\.pth: weights loaded; optimizer state fresh/);
    expect(note).toContain('D_A, D_B initialised anew');
    await screenshot(page, 'models-pth-continue');
    // The run trains to its end in the studio's training host.
    const runId = /^Run (\S+)/.exec(note)![1]!;
    const status = path.join(studio.served.workspace, 'runs', runId, 'status.json');
    const t0 = Date.now();
    while (!(fs.existsSync(status) && JSON.parse(fs.readFileSync(status, 'utf8')).state === 'done') && Date.now() - t0 < 180_000) await new Promise((r) => setTimeout(r, 500));
    expect(JSON.parse(fs.readFileSync(status, 'utf8'))).toMatchObject({ state: 'done', step: 2 });
    expect(await page.locator('[data-testid=toast-error]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
