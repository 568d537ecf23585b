/**
 * `exportPytorch`: a reference-variant bundle goes back to the reference trainer. The written
 * files load with torch.load(weights_only=True) and a strict load_state_dict into the reference
 * networks (written from the facts, fixtures/reference_nets.py), give Atelier's output within
 * 1e-4, and come with the dataset in the reference's layout and a train.sh for one GPU and torchrun.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import type { Workspace } from '../../../../src/main/engine/core/workspace';
import { exportPytorch } from '../../../../src/main/engine/interop/export';
import { importPytorch } from '../../../../src/main/engine/interop/import';
import { readPthFile } from '../../../../src/main/engine/interop/pth';
import { encodeIdx } from '../../../../src/main/engine/data/idx';
import { createModel } from '../../../../src/main/engine/models';
import { disposeBundle, loadBundle, writeBundle } from '../../../../src/main/engine/train/bundle';
import { maxAbsDiff, NO_TORCH, nchwToNhwc, readF32, runReference, torchAvailable, type RefSpec } from './torch';
import { useTempWorkspace } from './workspace';

let dir = '';
let ws: Workspace;
useTempWorkspace('atelier-export-', (d, w) => ((dir = d), (ws = w)));

/** A tiny paired dataset stored as files, as the importer leaves it. */
async function pairedDataset(id: string): Promise<void> {
  const d = path.join(ws.datasets, id);
  fs.mkdirSync(path.join(d, 'a'), { recursive: true });
  fs.mkdirSync(path.join(d, 'b'), { recursive: true });
  const items = [];
  for (const [i, split] of (['train', 'train', 'test'] as const).entries()) {
    for (const side of ['a', 'b']) await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: i * 80, g: side === 'a' ? 0 : 255, b: 9 } } }).png().toFile(path.join(d, side, `${i}.png`));
    items.push({ name: `img${i}`, split, files: { a: `a/${i}.png`, b: `b/${i}.png` }, hashes: {} });
  }
  const manifest = { schemaVersion: 1, id, name: id, kind: 'paired', createdAt: new Date().toISOString(), source: { layout: 'ab-folders', path: null }, image: { width: 32, height: 32, channels: 3 }, counts: { train: 2, test: 1, warnings: 0, skipped: 0 }, storage: 'files', items, fileHashes: {}, contentHash: '', options: { size: 32, fit: 'fill', background: '#000', seed: 0, testFraction: 0.2 } };
  fs.writeFileSync(path.join(d, 'dataset.json'), JSON.stringify(manifest));
}

describe.skipIf(!torchAvailable)(`export to the reference trainer${NO_TORCH}`, () => {
  it('pix2pix (unet_128, batch norm): PyTorch loads G and D strictly with weights_only, outputs match; aligned dataset; train.sh', async () => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    const specs: RefSpec[] = [
      { name: 'latest_net_G', net: 'unet_128', norm: 'batch', ngf: 2, size: 128, inc: 3, outc: 3, seed: 21, dropout: true },
      { name: 'latest_net_D', net: 'basic', norm: 'batch', ngf: 2, size: 128, inc: 6, outc: 1, seed: 22 },
    ];
    runReference('make', src, specs);
    const imp = await importPytorch(ws, { files: [path.join(src, 'latest_net_G.pth'), path.join(src, 'latest_net_D.pth')], name: 'facades', size: 128 });
    await pairedDataset('facades-data');
    const before = tf.memory().numTensors;
    const out = path.join(dir, 'out');
    const res = await exportPytorch(ws, { bundleDir: imp.dir, out, dataset: 'facades-data' });
    expect(tf.memory().numTensors).toBe(before);
    expect(res.checkpoints.map((c) => [path.basename(c.file), c.fresh])).toEqual([
      ['latest_net_G.pth', false],
      ['latest_net_D.pth', false],
    ]);
    // The same tensors as the source files, key for key.
    for (const n of ['G', 'D']) {
      const a = await readPthFile(path.join(src, `latest_net_${n}.pth`));
      const b = await readPthFile(path.join(out, 'checkpoints', 'facades', `latest_net_${n}.pth`));
      expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
      for (const [k, t] of a.tensors) if (!k.endsWith('num_batches_tracked')) expect(maxAbsDiff(b.tensors.get(k)!.data, t.data)).toBe(0);
    }
    // PyTorch: torch.load(weights_only=True) + strict load_state_dict, then run; Atelier runs the same input.
    const ck = path.join(out, 'checkpoints', 'facades');
    runReference('check', ck, specs);
    const b = await loadBundle(imp.dir);
    const x = nchwToNhwc(readF32(path.join(ck, 'latest_net_G.in.bin')), 1, 3, 128, 128);
    const y = tf.tidy(() => (b.networks.G!.predict(tf.tensor4d(x, [1, 128, 128, 3])) as tf.Tensor).transpose([0, 3, 1, 2]));
    expect(maxAbsDiff(y.dataSync(), readF32(path.join(ck, 'latest_net_G.out.bin')))).toBeLessThan(1e-4);
    y.dispose();
    disposeBundle(b);
    // Aligned A|B images in train/ and test/.
    expect(res.dataset).toMatchObject({ id: 'facades-data', images: 3 });
    expect(fs.readdirSync(path.join(out, 'datasets', 'facades', 'train')).sort()).toEqual(['img0.png', 'img1.png']);
    expect(await sharp(path.join(out, 'datasets', 'facades', 'test', 'img2.png')).metadata()).toMatchObject({ width: 64, height: 32 });
    const sh = fs.readFileSync(res.trainScript, 'utf8');
    expect(sh).toContain('--model pix2pix --netG unet_128 --netD basic --norm batch --ngf 2 --ndf 2 --input_nc 3 --output_nc 3');
    expect(sh).toContain('--continue_train --epoch latest');
    expect(sh).toContain('torchrun --nproc_per_node "$NGPUS" train.py');
    expect(sh).toContain('python train.py');
    expect(fs.statSync(res.trainScript).mode & 0o111).not.toBe(0);
    // PyTorch subprocesses and an ONNX parity run: slow on a shared machine.
  }, 300_000);

  it('cyclegan without discriminators: fresh D_A/D_B as init_weights makes them; all four load strictly', async () => {
    const src = path.join(dir, 'cyc');
    fs.mkdirSync(src);
    runReference('make', src, [
      { name: 'latest_net_G_A', net: 'resnet_6blocks', norm: 'instance', ngf: 4, size: 32, inc: 3, outc: 3, seed: 31 },
      { name: 'latest_net_G_B', net: 'resnet_6blocks', norm: 'instance', ngf: 4, size: 32, inc: 3, outc: 3, seed: 32 },
    ]);
    const imp = await importPytorch(ws, { files: [path.join(src, 'latest_net_G_A.pth'), path.join(src, 'latest_net_G_B.pth')], name: 'h2z', size: 32 });
    const out = path.join(dir, 'cyc-out');
    const res = await exportPytorch(ws, { bundleDir: imp.dir, out });
    expect(res.checkpoints.map((c) => [c.network, c.fresh])).toEqual([
      ['G_A', false],
      ['G_B', false],
      ['D_A', true],
      ['D_B', true],
    ]);
    expect(res.dataset).toBeNull();
    runReference('check', path.join(out, 'checkpoints', 'h2z'), [
      { name: 'latest_net_G_A', net: 'resnet_6blocks', norm: 'instance', ngf: 4, size: 32, inc: 3, outc: 3 },
      { name: 'latest_net_G_B', net: 'resnet_6blocks', norm: 'instance', ngf: 4, size: 32, inc: 3, outc: 3 },
      { name: 'latest_net_D_A', net: 'basic', norm: 'instance', ngf: 4, size: 64, inc: 3, outc: 1 },
      { name: 'latest_net_D_B', net: 'basic', norm: 'instance', ngf: 4, size: 64, inc: 3, outc: 1 },
    ]);
    const d = await readPthFile(path.join(out, 'checkpoints', 'h2z', 'latest_net_D_A.pth'));
    const w = d.tensors.get('model.2.weight')!.data;
    const std = Math.sqrt(Array.from(w).reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    expect(fs.readFileSync(res.trainScript, 'utf8')).toContain('--model cycle_gan --netG resnet_6blocks --netD basic --norm instance');
  });
});

/** A packed (idx) dataset as the demo builder writes it: roles a/b per split, n x S x S [x C] uint8. */
function packedDataset(id: string, kind: 'paired' | 'unpaired', counts: Record<'train' | 'test', { a: number; b: number }>, size: number, channels: 1 | 3): void {
  const d = path.join(ws.datasets, id);
  const packed: Record<string, { images: Record<string, string>; count: Record<string, number> }> = {};
  for (const split of ['train', 'test'] as const) {
    fs.mkdirSync(path.join(d, split), { recursive: true });
    packed[split] = { images: {}, count: {} };
    for (const role of ['a', 'b'] as const) {
      const n = counts[split][role];
      const data = new Uint8Array(n * size * size * channels);
      // Role a dark, role b bright, so the aligned halves can be told apart.
      for (let i = 0; i < data.length; i++) data[i] = role === 'a' ? 20 : 230;
      const rel = `${split}/${role}-images-idx3-ubyte.gz`;
      fs.writeFileSync(path.join(d, rel), encodeIdx({ dims: channels === 1 ? [n, size, size] : [n, size, size, channels], data }));
      packed[split].images[role] = rel;
      packed[split].count[role] = n;
    }
  }
  const manifest = { schemaVersion: 1, id, name: id, kind, createdAt: new Date().toISOString(), source: { layout: 'idx', path: null }, image: { width: size, height: size, channels }, counts: { train: counts.train.a, test: counts.test.a, warnings: 0, skipped: 0 }, storage: 'packed', packed, fileHashes: {}, contentHash: '', options: { size, fit: 'fill', background: '#000', seed: 0, testFraction: 0.2 } };
  fs.writeFileSync(path.join(d, 'dataset.json'), JSON.stringify(manifest));
}

/** A reference-variant bundle trained zero steps (the dataset layout needs no trained weights). */
async function referenceBundle(kind: 'pix2pix' | 'cyclegan', id: string, channels: number): Promise<string> {
  const m = createModel(kind, { size: 16, channels, ngf: 2, ndf: 2, netG: 'resnet', variant: 'reference' });
  try {
    return (await writeBundle(ws.bundles, id, m, { name: id, training: { runId: 'r', datasetId: '', steps: 0, epochs: 0, durationSec: 0, stepsPerSec: 0, backend: 'test', finalLosses: {}, meanLosses: {} } })).dir;
  } finally {
    m.dispose();
  }
}

describe('export to the reference trainer: packed datasets in its layout', () => {
  it('paired (grey, idx): A|B side by side in train/ and test/, twice the width, A on the left', async () => {
    packedDataset('edges-packed', 'paired', { train: { a: 3, b: 3 }, test: { a: 2, b: 2 } }, 16, 1);
    const out = path.join(dir, 'packed-p2p');
    const res = await exportPytorch(ws, { bundleDir: await referenceBundle('pix2pix', 'p2p-packed', 1), out, dataset: 'edges-packed', name: 'edges' });
    expect(res.dataset).toMatchObject({ id: 'edges-packed', images: 5 });
    expect(res.datasetNote).toBeUndefined();
    const root = path.join(out, 'datasets', 'edges');
    expect(fs.readdirSync(root).sort()).toEqual(['test', 'train']);
    expect(fs.readdirSync(path.join(root, 'train'))).toEqual(['00000.png', '00001.png', '00002.png']);
    expect(fs.readdirSync(path.join(root, 'test'))).toHaveLength(2);
    const png = path.join(root, 'train', '00001.png');
    expect(await sharp(png).metadata()).toMatchObject({ width: 32, height: 16, channels: 1 });
    const { data } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([data[0], data[15], data[16], data[31]]).toEqual([20, 20, 230, 230]);
    // The reference reads it with --dataset_mode aligned and one input channel.
    expect(fs.readFileSync(res.trainScript, 'utf8')).toContain('--input_nc 1 --output_nc 1');
  });

  it('unpaired (RGB, idx, domains of different sizes): trainA/trainB/testA/testB at the stored size', async () => {
    packedDataset('h2z-packed', 'unpaired', { train: { a: 4, b: 2 }, test: { a: 1, b: 3 } }, 16, 3);
    const out = path.join(dir, 'packed-cyc');
    const res = await exportPytorch(ws, { bundleDir: await referenceBundle('cyclegan', 'cyc-packed', 3), out, dataset: 'h2z-packed', name: 'h2z' });
    expect(res.dataset).toMatchObject({ images: 10 });
    const root = path.join(out, 'datasets', 'h2z');
    expect(Object.fromEntries(fs.readdirSync(root).sort().map((d) => [d, fs.readdirSync(path.join(root, d)).length]))).toEqual({ testA: 1, testB: 3, trainA: 4, trainB: 2 });
    expect(await sharp(path.join(root, 'trainB', '00001.png')).metadata()).toMatchObject({ width: 16, height: 16, channels: 3 });
  });
});

describe('export to the reference trainer: refusals', () => {
  it("a bundle on Atelier's own networks is refused, saying how to get a reference one", async () => {
    const fake = path.join(dir, 'native');
    fs.mkdirSync(path.join(fake, 'networks'), { recursive: true });
    fs.writeFileSync(path.join(fake, 'bundle.json'), JSON.stringify({ format: 'atelier-bundle', version: 1, id: 'native', model: 'pix2pix', networks: {}, config: { norm: 'batch' }, preprocessing: { size: 32, channels: 3, inChannels: 3, inference: { batchNorm: 'none' } }, training: {} }));
    await expect(exportPytorch(ws, { bundleDir: fake, out: path.join(dir, 'never') })).rejects.toThrow(/own networks/);
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  });
});
