/**
 * The PyTorch peer driver: arguments and parsing against a fake python (CI has no torch), the
 * reasons it gives when the peer is unavailable or fails, and, where python3-torch is installed,
 * the real inference peer's parameter count against our U-Net's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { peerAvailability, runPeerCycleGan, runPeerPix2pix, runPeerUnetInference } from '../../../../src/main/engine/bench/peer';
import { countTrainable } from '../../../../src/main/engine/bench/train';
import { tf } from '../../../../src/main/engine/backend';
import { patchGanDiscriminator, resnetGenerator } from '../../../../src/main/engine/networks';

const saved = process.env.ATELIER_PEER_PYTHON;
let dir = '';

/** An executable "python" that accepts `-c import torch` and prints `lines` for the script. */
function fakePython(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\nif [ "$1" = "-c" ]; then ${name === 'no-torch' ? 'exit 1' : 'exit 0'}; fi\nprintf '%s\\n' "$@" > "${file}.args"\n${body}\n`, { mode: 0o755 });
  return file;
}

const argsOf = (python: string) => fs.readFileSync(`${python}.args`, 'utf8').trim().split('\n');

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-peer-'));
});
afterEach(() => {
  if (saved === undefined) delete process.env.ATELIER_PEER_PYTHON;
  else process.env.ATELIER_PEER_PYTHON = saved;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('PyTorch peer (fake python)', () => {
  const inferJson = { mode: 'infer', torch: '9.9', threads: 2, blas: ['/x/libopenblasp.so'], results: [{ size: 64, batch: 1, secondsPerImage: 0.02, reps: 7, paramsG: 29244611 }] };

  it('runPeerUnetInference passes --infer, the sizes, reps and warm-up, and parses the last line', async () => {
    const py = fakePython('infer-ok', `echo "some warning"\necho '${JSON.stringify(inferJson)}'`);
    process.env.ATELIER_PEER_PYTHON = py;
    const r = await runPeerUnetInference({ sizes: [64, 128], reps: 7, warmup: 1 });
    expect(r).toEqual(inferJson);
    const args = argsOf(py);
    expect(path.basename(args[0]!)).toBe('torch_pix2pix.py');
    expect(fs.existsSync(args[0]!)).toBe(true);
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect(args).toContain('--infer');
    expect(flag('--sizes')).toBe('64,128');
    expect(flag('--batch')).toBe('1');
    expect(flag('--steps')).toBe('7');
    expect(flag('--warmup')).toBe('1');
    expect(flag('--threads')).toBe('2');
    expect(flag('--ngf')).toBe('64');
  });

  it('runPeerUnetInference passes the colouriser shape (1 -> 3 channels) and a non-square run size', async () => {
    const py = fakePython('infer-hw', `echo '${JSON.stringify(inferJson)}'`);
    process.env.ATELIER_PEER_PYTHON = py;
    await runPeerUnetInference({ sizes: [256], reps: 3, warmup: 1, inChannels: 1, outChannels: 3, hw: [512, 768] });
    const args = argsOf(py);
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect([flag('--in-channels'), flag('--out-channels'), flag('--hw'), flag('--sizes')]).toEqual(['1', '3', '512x768', '256']);
  });

  it('runPeerPix2pix still runs the training mode', async () => {
    const train = { torch: '9.9', threads: 2, blas: [], results: [{ size: 32, batch: 1, secondsPerStep: 0.5, steps: 2, paramsG: 1, paramsD: 2 }] };
    const py = fakePython('train-ok', `echo '${JSON.stringify(train)}'`);
    process.env.ATELIER_PEER_PYTHON = py;
    expect(await runPeerPix2pix({ sizes: [32], batch: 1, steps: 2, warmup: 1 })).toEqual(train);
    const args = argsOf(py);
    expect(args).not.toContain('--infer');
    expect(args[args.indexOf('--steps') + 1]).toBe('2');
  });

  it('runPeerCycleGan runs scripts/peer/torch_cyclegan.py with the paper widths', async () => {
    const train = { torch: '9.9', threads: 2, blas: [], results: [{ size: 64, batch: 1, secondsPerStep: 0.5, steps: 3, paramsG: 1, paramsD: 2 }] };
    const py = fakePython('cyclegan-ok', `echo '${JSON.stringify(train)}'`);
    process.env.ATELIER_PEER_PYTHON = py;
    expect(await runPeerCycleGan({ sizes: [64, 128], batch: 1, steps: 3, warmup: 1 })).toEqual(train);
    const args = argsOf(py);
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect(path.basename(args[0]!)).toBe('torch_cyclegan.py');
    expect(fs.existsSync(args[0]!)).toBe(true);
    expect([flag('--sizes'), flag('--steps'), flag('--ngf'), flag('--ndf'), flag('--threads')]).toEqual(['64,128', '3', '64', '64', '2']);
    expect(args).not.toContain('--batched');
    await runPeerCycleGan({ sizes: [64], batch: 1, steps: 3, warmup: 1, batched: true });
    expect(argsOf(py)).toContain('--batched');
  });

  it('says why when python is missing, torch does not import, or the script fails', async () => {
    process.env.ATELIER_PEER_PYTHON = path.join(dir, 'no-python');
    expect(await peerAvailability()).toMatchObject({ available: false, reason: expect.stringContaining('not found') });
    expect(await runPeerUnetInference({ sizes: [64], reps: 1, warmup: 0 })).toEqual({ error: expect.stringContaining('not found') });

    process.env.ATELIER_PEER_PYTHON = fakePython('no-torch', 'exit 0');
    expect(await runPeerUnetInference({ sizes: [64], reps: 1, warmup: 0 })).toEqual({ error: expect.stringContaining('torch is not importable') });

    process.env.ATELIER_PEER_PYTHON = fakePython('crash', 'echo boom >&2; exit 3');
    expect(await runPeerUnetInference({ sizes: [64], reps: 1, warmup: 0 })).toEqual({ error: expect.stringContaining('the PyTorch peer failed') });
  });
});

function realTorch(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

const haveTorch = realTorch();
describe.skipIf(!haveTorch)(`PyTorch peer (python3-torch installed)${haveTorch ? '' : ' (skipped: no importable python3-torch)'}`, () => {
  it('times the U-Net generator in eval mode with our parameter count', async () => {
    delete process.env.ATELIER_PEER_PYTHON;
    const r = await runPeerUnetInference({ sizes: [64], reps: 1, warmup: 0 });
    if ('error' in r) throw new Error(r.error);
    expect(r.mode).toBe('infer');
    expect(r.threads).toBe(2);
    expect(r.results).toHaveLength(1);
    expect(r.results[0]!.size).toBe(64);
    expect(r.results[0]!.secondsPerImage).toBeGreaterThan(0);
    // Ours (unetGenerator ngf 64, batch norm, dropout), trainable weights: the bench prints it too.
    expect(r.results[0]!.paramsG).toBe(29244611);
  }, 120_000);

  it('runs the CycleGAN step batched like ours (one timed step at 32 px)', async () => {
    delete process.env.ATELIER_PEER_PYTHON;
    const r = await runPeerCycleGan({ sizes: [32], batch: 1, steps: 1, warmup: 0, ngf: 4, ndf: 4, batched: true });
    if ('error' in r) throw new Error(r.error);
    expect(r.results[0]).toMatchObject({ size: 32, batched: true });
    expect(r.results[0]!.secondsPerStep).toBeGreaterThan(0);
  }, 120_000);

  it('builds the CycleGAN networks with our parameter counts (6 blocks at 64 px, 9 at 256 px)', async () => {
    delete process.env.ATELIER_PEER_PYTHON;
    const r = await runPeerCycleGan({ sizes: [64, 256], batch: 1, steps: 0, warmup: 0 });
    if ('error' in r) throw new Error(r.error);
    for (const size of [64, 256]) {
      const p = r.results.find((x) => x.size === size)!;
      const g = resnetGenerator({ size, inChannels: 3, outChannels: 3, ngf: 64, norm: 'instance', upsample: 'transpose', seed: 1 });
      const d = patchGanDiscriminator({ size, inChannels: 3, ndf: 64, nLayers: 3, norm: 'instance', seed: 2 });
      try {
        expect([p.paramsG, p.paramsD], `${size} px`).toEqual([countTrainable(g), countTrainable(d)]);
      } finally {
        g.dispose();
        d.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(0);
  }, 120_000);
});
