/**
 * The PyTorch peer: the same pix2pix networks, losses and optimiser (or the U-Net generator alone
 * at inference: `runPeerUnetInference`) timed in PyTorch on this CPU, in the same bench run, so
 * our figures come with a ratio. Uses Debian's python3-torch with OpenBLAS (OpenMP build) first
 * on LD_LIBRARY_PATH and 2 threads, and says which BLAS it loaded.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { appRoot } from '../core/workspace';

const run = promisify(execFile);

interface PeerRun<R> {
  mode?: 'train' | 'infer';
  torch: string;
  threads: number;
  blas: string[];
  results: R[];
}

/** Training steps: median seconds per step and trainable parameter counts of G and D. */
export type PeerResult = PeerRun<{ size: number; batch: number; secondsPerStep: number; steps: number; paramsG: number; paramsD: number }>;

/** Generator inference (eval mode, no grad): median seconds per image and G's parameter count. */
export type PeerInferResult = PeerRun<{ size: number; batch: number; secondsPerImage: number; reps: number; paramsG: number }>;

export interface PeerAvailability {
  available: boolean;
  python?: string;
  reason: string;
  env?: NodeJS.ProcessEnv;
}

function openblasDir(): string | undefined {
  const candidates = ['/usr/lib/x86_64-linux-gnu/openblas-openmp', '/usr/lib/aarch64-linux-gnu/openblas-openmp'];
  try {
    for (const d of fs.readdirSync('/usr/lib')) if (d.endsWith('-linux-gnu')) candidates.push(path.join('/usr/lib', d, 'openblas-openmp'));
  } catch {
    // not a Debian-like layout
  }
  return candidates.find((d) => fs.existsSync(path.join(d, 'libblas.so.3')));
}

export async function peerAvailability(): Promise<PeerAvailability> {
  const python = process.env.ATELIER_PEER_PYTHON ?? '/usr/bin/python3';
  if (!fs.existsSync(python)) return { available: false, reason: `${python} not found` };
  const blas = openblasDir();
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(Math.min(2, os.cpus().length)) };
  if (blas) env.LD_LIBRARY_PATH = [blas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  try {
    await run(python, ['-c', 'import torch'], { env, timeout: 60_000 });
  } catch {
    return { available: false, python, reason: 'torch is not importable (apt-get install python3-torch libopenblas0-openmp)' };
  }
  return { available: true, python, env, reason: blas ? `OpenBLAS (OpenMP) from ${blas}` : 'default BLAS alternative (libopenblas0-openmp not found)' };
}

/** Runs scripts/peer/<script> with `args` (2 threads) and parses the JSON it prints last. */
async function runPeerScript<T>(args: string[], script = 'torch_pix2pix.py'): Promise<T | { error: string }> {
  const a = await peerAvailability();
  if (!a.available) return { error: a.reason };
  const file = path.join(appRoot(), 'scripts', 'peer', script);
  try {
    const { stdout } = await run(a.python!, [file, ...args, '--threads', '2'], { env: a.env, timeout: 30 * 60_000, maxBuffer: 8 << 20 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
  } catch (e) {
    return { error: `the PyTorch peer failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

export async function runPeerPix2pix(opts: { sizes: number[]; batch: number; steps: number; warmup: number; ngf?: number }): Promise<PeerResult | { error: string }> {
  return runPeerScript<PeerResult>(['--sizes', opts.sizes.join(','), '--batch', String(opts.batch), '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--ngf', String(opts.ngf ?? 64)]);
}

/**
 * The CycleGAN step at the paper's widths (scripts/peer/torch_cyclegan.py: two ResNet generators,
 * 6 blocks up to 128 px and 9 above, two 70x70 PatchGANs, instance norm, LSGAN, cycle 10, identity
 * 0.5, Adam). paramsG / paramsD are those of ONE generator / discriminator. `batched`: the
 * independent applications as one batch, as Atelier's step runs them up to 128 px.
 */
export async function runPeerCycleGan(opts: { sizes: number[]; batch: number; steps: number; warmup: number; ngf?: number; ndf?: number; batched?: boolean }): Promise<PeerResult | { error: string }> {
  return runPeerScript<PeerResult>(
    ['--sizes', opts.sizes.join(','), '--batch', String(opts.batch), '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--ngf', String(opts.ngf ?? 64), '--ndf', String(opts.ndf ?? 64), ...(opts.batched ? ['--batched'] : [])],
    'torch_cyclegan.py',
  );
}

/**
 * The pix2pix U-Net generator's forward pass, batch 1, as the app infers (dropout off, batch norm
 * on moving statistics: model.eval() under torch.inference_mode()), median of `reps` runs after
 * `warmup`, for each of `sizes`.
 */
export async function runPeerUnetInference(opts: {
  sizes: number[];
  reps: number;
  warmup: number;
  ngf?: number;
  inChannels?: number;
  outChannels?: number;
  /** Run the network built for `sizes[i]` at height x width (native-resolution translation). */
  hw?: [number, number];
}): Promise<PeerInferResult | { error: string }> {
  const extra = [
    ...(opts.inChannels ? ['--in-channels', String(opts.inChannels)] : []),
    ...(opts.outChannels ? ['--out-channels', String(opts.outChannels)] : []),
    ...(opts.hw ? ['--hw', `${opts.hw[0]}x${opts.hw[1]}`] : []),
  ];
  return runPeerScript<PeerInferResult>(['--infer', '--sizes', opts.sizes.join(','), '--batch', '1', '--steps', String(opts.reps), '--warmup', String(opts.warmup), '--ngf', String(opts.ngf ?? 64), ...extra]);
}
