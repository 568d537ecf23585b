/**
 * Continuing the reference trainer's checkpoints in the studio (interop/continue.ts): a set of
 * .pth files becomes a run whose step-0 checkpoint holds their weights exactly; trainRun resumes
 * it (optimizer state fresh, said in the progress message), and the run's newest checkpoint
 * exports back to .pth files that PyTorch loads strictly (weights_only) into the reference
 * networks (fixtures/reference_nets.py) and runs to Atelier's output within 1e-4.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import type { Workspace } from '../../../../src/main/engine/core/workspace';
import { checkpointFiles, runFromPytorch } from '../../../../src/main/engine/interop/continue';
import { exportPytorch } from '../../../../src/main/engine/interop/export';
import { readPthFile } from '../../../../src/main/engine/interop/pth';
import { modelFromCheckpoint } from '../../../../src/main/engine/train/run-promote';
import { trainRun } from '../../../../src/main/engine/train/run';
import { maxAbsDiff, NO_TORCH, nchwToNhwc, readF32, runReference, torchAvailable, type RefSpec } from './torch';
import { useTempWorkspace } from './workspace';

let dir = '';
let ws: Workspace;
useTempWorkspace('atelier-continue-', (d, w) => ((dir = d), (ws = w)));

/** Every tensor of `b` equals `a`'s (num_batches_tracked aside: Atelier does not count batches). */
async function sameTensors(a: string, b: string): Promise<number> {
  const x = await readPthFile(a);
  const y = await readPthFile(b);
  expect([...y.tensors.keys()].sort()).toEqual([...x.tensors.keys()].sort());
  let m = 0;
  for (const [k, t] of x.tensors) if (!k.endsWith('num_batches_tracked')) m = Math.max(m, maxAbsDiff(y.tensors.get(k)!.data, t.data));
  return m;
}

/** Atelier's G (from the run's newest checkpoint) on PyTorch's input, NCHW out. */
async function ourOutput(runDir: string, network: string, inputFile: string, c: number, size: number): Promise<Float32Array> {
  const { model } = await modelFromCheckpoint(runDir);
  try {
    const x = nchwToNhwc(readF32(inputFile), 1, c, size, size);
    return tf.tidy(() => (model.networks[network]!.predict(tf.tensor4d(x, [1, size, size, c])) as tf.Tensor).transpose([0, 3, 1, 2]).dataSync() as Float32Array);
  } finally {
    model.dispose();
  }
}

describe.skipIf(!torchAvailable)(`continue the reference's checkpoints in the studio${NO_TORCH}`, () => {
  it('pix2pix G + D (unet_128, batch norm): a run resumes from them, trains 2 steps, exports back; PyTorch loads strictly and matches', async () => {
    const src = path.join(dir, 'p2p');
    fs.mkdirSync(src);
    const specs: RefSpec[] = [
      { name: 'latest_net_G', net: 'unet_128', norm: 'batch', ngf: 2, size: 128, inc: 3, outc: 3, seed: 41, dropout: true },
      { name: 'latest_net_D', net: 'basic', norm: 'batch', ngf: 2, size: 128, inc: 6, outc: 1, seed: 42 },
    ];
    runReference('make', src, specs);
    // The reference's checkpoints folder is enough: latest_net_*.pth are taken from it.
    const files = await checkpointFiles([src]);
    expect(files.map((f) => path.basename(f))).toEqual(['latest_net_D.pth', 'latest_net_G.pth']);
    const r = await runFromPytorch(ws, { files, datasetId: 'synthetic:paired', steps: 2, checkpointEvery: 1, sampleEvery: 100 });
    expect(r.model).toBe('pix2pix');
    expect(r.run.options).toMatchObject({ variant: 'reference', referenceNetG: 'unet_128', norm: 'batch', ngf: 2, ndf: 2, size: 128, dropout: true });
    expect(r.origin.freshNetworks).toEqual([]);
    expect(r.origin.note).toMatch(/optimizer state fresh/);
    expect(JSON.parse(fs.readFileSync(path.join(r.runDir, 'options.json'), 'utf8')).origin.files.map((f: { network: string }) => f.network).sort()).toEqual(['D', 'G']);

    // Step 0 holds the files' weights exactly.
    const out0 = path.join(dir, 'p2p-step0');
    await exportPytorch(ws, { runDir: r.runDir, step: 0, out: out0, name: 'step0' });
    for (const n of ['G', 'D']) expect(await sameTensors(path.join(src, `latest_net_${n}.pth`), path.join(out0, 'checkpoints', 'step0', `latest_net_${n}.pth`))).toBe(0);

    // Resume: from step 0, saying where the weights came from; no tensor leak.
    const messages: string[] = [];
    const before = tf.memory().numTensors;
    const sum = await trainRun(ws, r.runDir, { progress: (p) => p.message && messages.push(p.message) });
    expect(tf.memory().numTensors).toBe(before);
    expect(sum).toMatchObject({ resumedFrom: 0, step: 2, state: 'done' });
    expect(Object.values(sum.finalLosses).every(Number.isFinite)).toBe(true);
    expect(messages[0]).toMatch(/^started from PyTorch checkpoints latest_net_D\.pth, latest_net_G\.pth: weights loaded; optimizer state fresh/);

    // Back to PyTorch: both networks trained (weights moved), loadable strictly, same output.
    const out = path.join(dir, 'p2p-out');
    const res = await exportPytorch(ws, { runDir: r.runDir, out, name: 'facades' });
    expect(res.checkpoints.map((c) => [c.network, c.fresh])).toEqual([
      ['G', false],
      ['D', false],
    ]);
    const ck = path.join(out, 'checkpoints', 'facades');
    for (const n of ['G', 'D']) expect(await sameTensors(path.join(src, `latest_net_${n}.pth`), path.join(ck, `latest_net_${n}.pth`))).toBeGreaterThan(0);
    runReference('check', ck, specs);
    const y = await ourOutput(r.runDir, 'G', path.join(ck, 'latest_net_G.in.bin'), 3, 128);
    expect(maxAbsDiff(y, readF32(path.join(ck, 'latest_net_G.out.bin')))).toBeLessThan(1e-4);
    expect(fs.readFileSync(res.trainScript, 'utf8')).toContain('--model pix2pix --netG unet_128 --netD basic --norm batch --ngf 2 --ndf 2');
  }, 300_000);

  it('cyclegan G_A + G_B without discriminators (resnet_9blocks kept at 32 px): fresh D_A/D_B said so; all four go back and load strictly', async () => {
    const src = path.join(dir, 'cyc');
    fs.mkdirSync(src);
    const specs: RefSpec[] = [
      { name: 'latest_net_G_A', net: 'resnet_9blocks', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 3, seed: 51 },
      { name: 'latest_net_G_B', net: 'resnet_9blocks', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 3, seed: 52 },
    ];
    runReference('make', src, specs);
    const r = await runFromPytorch(ws, { files: await checkpointFiles([src]), datasetId: 'synthetic:unpaired', steps: 2, sampleEvery: 100, options: { size: 32 } });
    expect(r.model).toBe('cyclegan');
    // Nine blocks at 32 px: the preset comes from the files, not from the size.
    expect(r.run.options).toMatchObject({ variant: 'reference', referenceNetG: 'resnet_9blocks', netG: 'resnet', norm: 'instance', ngf: 2, size: 32 });
    expect(r.origin.freshNetworks).toEqual(['D_A', 'D_B']);
    expect(r.origin.note).toMatch(/D_A, D_B initialised anew/);
    const sum = await trainRun(ws, r.runDir);
    expect(sum).toMatchObject({ resumedFrom: 0, step: 2 });
    const out = path.join(dir, 'cyc-out');
    const res = await exportPytorch(ws, { runDir: r.runDir, out, name: 'h2z' });
    // The run trained its own discriminators: none is written fresh on the way back.
    expect(res.checkpoints.map((c) => [c.network, c.fresh])).toEqual([
      ['G_A', false],
      ['G_B', false],
      ['D_A', false],
      ['D_B', false],
    ]);
    const ck = path.join(out, 'checkpoints', 'h2z');
    runReference('check', ck, [...specs, ...['D_A', 'D_B'].map((d) => ({ name: `latest_net_${d}`, net: 'basic' as const, norm: 'instance' as const, ngf: 2, size: 64, inc: 3, outc: 1 }))]);
    const y = await ourOutput(r.runDir, 'G_B', path.join(ck, 'latest_net_G_B.in.bin'), 3, 32);
    expect(maxAbsDiff(y, readF32(path.join(ck, 'latest_net_G_B.out.bin')))).toBeLessThan(1e-4);
  }, 300_000);

  it('a set that is not one run (norms differ) is refused and leaves no run behind', async () => {
    const src = path.join(dir, 'mixed');
    fs.mkdirSync(src);
    runReference('make', src, [
      { name: 'latest_net_G', net: 'unet_128', norm: 'batch', ngf: 2, size: 128, inc: 3, outc: 3, seed: 61 },
      { name: 'latest_net_D', net: 'basic', norm: 'instance', ngf: 2, size: 128, inc: 6, outc: 1, seed: 62 },
    ]);
    const runsBefore = fs.existsSync(ws.runs) ? fs.readdirSync(ws.runs).length : 0;
    await expect(runFromPytorch(ws, { files: await checkpointFiles([src]), datasetId: 'synthetic:paired', steps: 1 })).rejects.toThrow(/instance norm and the generator batch/);
    expect(fs.existsSync(ws.runs) ? fs.readdirSync(ws.runs).length : 0).toBe(runsBefore);
  }, 300_000);
});
