/** Test helpers: Debian's python3-torch, when installed, runs the reference networks (fixtures/reference_nets.py). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const PY = process.env.ATELIER_PEER_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.join(__dirname, 'fixtures', 'reference_nets.py');

/**
 * Whether the peer Python has these modules, found without importing them: `import torch` takes
 * tens of seconds when many test files probe at once on a loaded machine, and a probe that timed
 * out used to skip every torch test as if torch were missing.
 */
function hasModules(names: string[]): boolean {
  try {
    const code = `import importlib.util, sys; sys.exit(0 if all(importlib.util.find_spec(m) for m in ${JSON.stringify(names)}) else 1)`;
    execFileSync(PY, ['-c', code], { stdio: 'ignore', timeout: 120_000 });
    return true;
  } catch {
    return false;
  }
}

export const torchAvailable: boolean = hasModules(['torch']);
export const NO_TORCH = torchAvailable ? '' : ' (skipped: no Python with torch; apt-get install python3-torch)';

/** torch and PIL: what the DDP stand-in trainer (fixtures/reference_train_standin.py) needs; gloo comes with Debian's torch. */
export const ddpAvailable: boolean = torchAvailable && hasModules(['PIL']);
export const NO_DDP = ddpAvailable ? '' : ' (skipped: needs Python with torch and PIL; apt-get install python3-torch python3-pil)';
export { PY as PEER_PYTHON };

export interface RefSpec {
  name: string;
  net: 'resnet_6blocks' | 'resnet_9blocks' | 'unet_128' | 'unet_256' | 'basic';
  norm: 'instance' | 'batch';
  ngf: number;
  size: number;
  inc: number;
  outc: number;
  dropout?: boolean;
  format?: 'zip' | 'legacy';
  seed?: number;
  train?: boolean;
  /** Images in the input batch (default 1). */
  batch?: number;
}

/**
 * `make`: random reference networks saved as .pth + a fixed input and PyTorch's output; `check`: load ours strictly and run;
 * `trainstep`: load, one forward in training mode, and save the state dict after it (<name>.after.pth).
 */
export function runReference(mode: 'make' | 'check' | 'trainstep', dir: string, specs: RefSpec[]): void {
  execFileSync(PY, [SCRIPT, mode, dir, JSON.stringify(specs)], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

export function readF32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** NCHW <-> NHWC for one image batch. */
export function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) out[(b * h * w + i) * c + k] = x[(b * c + k) * h * w + i]!;
  return out;
}
export function nhwcToNchw(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) out[(b * c + k) * h * w + i] = x[(b * h * w + i) * c + k]!;
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
