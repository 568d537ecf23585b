/**
 * `importPytorch`: reference checkpoints -> one bundle, exported to ONNX with parity; the ONNX
 * file run by onnxruntime equals PyTorch's output within 1e-4 (eval mode, and the reference's
 * train-mode test behaviour); a CycleGAN pair becomes one two-direction bundle; a refused file
 * writes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';
import { createSession, floatTensor } from '../../../../src/main/engine/export/ort';
import { importPytorch } from '../../../../src/main/engine/interop/import';
import { writePth } from '../../../../src/main/engine/interop/pth';
import { maxAbsDiff, NO_TORCH, readF32, runReference, torchAvailable, type RefSpec } from './torch';

let dir = '';
let ws: Workspace;
const specs: RefSpec[] = [
  { name: 'p2p/latest_net_G', net: 'unet_128', norm: 'batch', ngf: 2, size: 128, inc: 3, outc: 3, format: 'zip', dropout: true, seed: 11 },
  { name: 'p2p/latest_net_D', net: 'basic', norm: 'batch', ngf: 2, size: 128, inc: 6, outc: 1, format: 'zip', seed: 12 },
  { name: 'cyc/latest_net_G_A', net: 'resnet_6blocks', norm: 'instance', ngf: 4, size: 32, inc: 3, outc: 3, format: 'legacy', seed: 13 },
  { name: 'cyc/latest_net_G_B', net: 'resnet_6blocks', norm: 'instance', ngf: 4, size: 32, inc: 3, outc: 3, format: 'zip', seed: 14 },
  { name: 'trainmode/latest_net_G', net: 'resnet_6blocks', norm: 'batch', ngf: 4, size: 32, inc: 3, outc: 3, format: 'zip', seed: 15, train: true },
];

beforeAll(async () => {
  await initBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-import-'));
  ws = openWorkspace(path.join(dir, 'ws'));
  if (!torchAvailable) return;
  for (const d of ['p2p', 'cyc', 'trainmode']) fs.mkdirSync(path.join(dir, d));
  runReference('make', dir, specs);
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function ortRun(file: string, name: string, c: number, size: number): Promise<Float32Array> {
  const s = await createSession(file);
  const x = readF32(path.join(dir, `${name}.in.bin`));
  const out = await s.run({ input: floatTensor(x, [1, c, size, size]) });
  return out.output!.data as Float32Array;
}

describe.skipIf(!torchAvailable)(`import pytorch${NO_TORCH}`, () => {
  it('pix2pix (unet_128, batch norm, zip) with its discriminator: ONNX equals PyTorch; the card names the hashes', async () => {
    const before = tf.memory().numTensors;
    const r = await importPytorch(ws, { files: [path.join(dir, 'p2p/latest_net_G.pth'), path.join(dir, 'p2p/latest_net_D.pth')], size: 128 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r).toMatchObject({ id: 'p2p', kind: 'pix2pix', mode: 'eval', pass: true });
    expect(r.networks.map((n) => n.name)).toEqual(['G', 'D']);
    expect(r.onnx).toHaveLength(1);
    expect(r.onnx[0]!.maxAbsDiff).toBeLessThan(1e-4);
    const meta = JSON.parse(fs.readFileSync(path.join(r.dir, 'bundle.json'), 'utf8'));
    expect(meta.source).toMatchObject({ format: 'pytorch', variant: 'reference-v1', architecture: { netG: 'unet_128', norm: 'batch', ngf: 2 } });
    expect(fs.existsSync(path.join(r.dir, 'reference', 'D', 'model.json'))).toBe(true);
    const card = fs.readFileSync(path.join(r.dir, 'README.md'), 'utf8');
    expect(card).toContain(r.networks[0]!.sha256);
    expect(r.networks[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const got = await ortRun(r.onnx[0]!.file, 'p2p/latest_net_G', 3, 128);
    expect(maxAbsDiff(got, readF32(path.join(dir, 'p2p/latest_net_G.out.bin')))).toBeLessThan(1e-4);
  });

  it('a CycleGAN pair (resnet_6blocks, instance norm, legacy + zip) becomes one two-direction bundle', async () => {
    const r = await importPytorch(ws, { files: [path.join(dir, 'cyc/latest_net_G_A.pth'), path.join(dir, 'cyc/latest_net_G_B.pth')], size: 32, name: 'horse2zebra-mini' });
    expect(r).toMatchObject({ id: 'horse2zebra-mini', kind: 'cyclegan', pass: true });
    expect(r.onnx.map((o) => o.direction)).toEqual(['AtoB', 'BtoA']);
    const meta = JSON.parse(fs.readFileSync(path.join(r.dir, 'bundle.json'), 'utf8'));
    expect(Object.keys(meta.networks).sort()).toEqual(['G_A', 'G_B']);
    for (const [i, n] of ['G_A', 'G_B'].entries()) {
      const got = await ortRun(r.onnx[i]!.file, `cyc/latest_net_${n}`, 3, 32);
      expect(maxAbsDiff(got, readF32(path.join(dir, `cyc/latest_net_${n}.out.bin`)))).toBeLessThan(1e-4);
    }
  });

  it("mode 'train' reproduces the reference's test.py without --eval (batch statistics of the image)", async () => {
    const r = await importPytorch(ws, { files: [path.join(dir, 'trainmode/latest_net_G.pth')], size: 32, mode: 'train' });
    expect(r.mode).toBe('train');
    const meta = JSON.parse(fs.readFileSync(path.join(r.dir, 'bundle.json'), 'utf8'));
    expect(meta.preprocessing.inference).toMatchObject({ batchNorm: 'per-image-statistics', dropout: 'keep' });
    const got = await ortRun(r.onnx[0]!.file, 'trainmode/latest_net_G', 3, 32);
    expect(maxAbsDiff(got, readF32(path.join(dir, 'trainmode/latest_net_G.out.bin')))).toBeLessThan(1e-4);
    const evalMode = await importPytorch(ws, { files: [path.join(dir, 'trainmode/latest_net_G.pth')], size: 32, name: 'evalmode' });
    expect(maxAbsDiff(await ortRun(evalMode.onnx[0]!.file, 'trainmode/latest_net_G', 3, 32), got)).toBeGreaterThan(1e-3);
  });
});

describe('import pytorch: refusals write nothing', () => {
  it('a file carrying os.system is refused before any bundle exists', async () => {
    const bad = path.join(dir, 'evil_net_G.pth');
    const good = writePth([['model.1.weight', { dtype: 'float32', shape: [1], data: [0] }]]);
    // Same container, data.pkl swapped for a pickle that calls os.system.
    const pkl = Uint8Array.from([0x80, 0x02, ...Buffer.from('cos\nsystem\n'), 0x58, 2, 0, 0, 0, ...Buffer.from('id'), 0x85, 0x52, 0x2e]);
    const { writeZip } = await import('../../../../src/main/engine/interop/zip');
    fs.writeFileSync(bad, writeZip([{ name: 'archive/data.pkl', data: pkl }]));
    void good;
    await expect(importPytorch(ws, { files: [bad] })).rejects.toThrow(/os\.system/);
    const names = fs.existsSync(ws.bundles) ? fs.readdirSync(ws.bundles).filter((n) => n.startsWith('evil') || n.startsWith('.')) : [];
    expect(names).toEqual([]);
  });

  it('a state dict that fits no reference network is refused with its keys named', async () => {
    const f = path.join(dir, 'odd', 'latest_net_G.pth');
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, writePth([['encoder.weight', { dtype: 'float32', shape: [2, 2], data: [1, 2, 3, 4] }]]));
    await expect(importPytorch(ws, { files: [f] })).rejects.toThrow(/matches none of the reference networks/);
    expect(fs.existsSync(path.join(ws.bundles, 'odd'))).toBe(false);
  });
});
