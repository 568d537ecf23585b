import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fusedAdamWorksOnSharedHeap, wantedWasmThreads } from '../../../../src/main/engine/threads/wasm-threads';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const FIX = path.join(import.meta.dirname, 'fixtures');

interface ChildRun {
  code: number | null;
  json: Record<string, unknown>;
  stderr: string;
  /** ms between the child printing its result and the process exiting. */
  exitLagMs: number;
}

/**
 * Run a fixture in its own node process (`node --import tsx`): the tfjs backend is per process.
 * A child that does not exit on its own within `hangMs` of printing its result is killed and the
 * run fails: the pool's worker threads must not keep the process alive.
 */
function runChild(file: string, env: Record<string, string>, hangMs = 15_000): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIX, file)], {
      cwd: ROOT,
      env: { ...process.env, VITEST: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let printedAt = 0;
    let hang: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!printedAt && out.includes('\n')) {
        printedAt = Date.now();
        hang = setTimeout(() => child.kill('SIGKILL'), hangMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (hang) clearTimeout(hang);
      if (signal) return reject(new Error(`${file} killed by ${signal} (did not exit after printing its result?)\n${err}`));
      try {
        resolve({ code, json: JSON.parse(out.trim().split('\n').pop()!), stderr: err, exitLagMs: Date.now() - printedAt });
      } catch (e) {
        reject(new Error(`${file} printed no JSON (code ${code}): ${out.slice(0, 500)}\n${err.slice(0, 2000)}`));
      }
    });
  });
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('wantedWasmThreads', () => {
  const yes = () => true;
  const no = () => false;
  it('defaults to min(2, cpus) when FusedAdam can use the shared heap, else 1; 1 under vitest', () => {
    expect(wantedWasmThreads({}, 2, yes).threads).toBe(2);
    expect(wantedWasmThreads({}, 8, yes).threads).toBe(2);
    expect(wantedWasmThreads({}, 1, yes).threads).toBe(1);
    expect(wantedWasmThreads({}, 2, no).threads).toBe(1);
    expect(wantedWasmThreads({}, 2, no).why).toContain('FusedAdam');
    expect(wantedWasmThreads({ VITEST: 'true' }, 2, yes).threads).toBe(1);
  });

  it('honours ATELIER_WASM_THREADS over every default', () => {
    expect(wantedWasmThreads({ ATELIER_WASM_THREADS: '1' }, 2, yes).threads).toBe(1);
    expect(wantedWasmThreads({ ATELIER_WASM_THREADS: '2' }, 2, no).threads).toBe(2);
    expect(wantedWasmThreads({ ATELIER_WASM_THREADS: '2', VITEST: 'true' }, 2, yes).threads).toBe(2);
    expect(wantedWasmThreads({ ATELIER_WASM_THREADS: ' 3 ' }, 2, yes).threads).toBe(3);
    expect(wantedWasmThreads({ ATELIER_WASM_THREADS: '64' }, 2, yes).threads).toBe(8); // emscripten pool size
  });

  it('ignores a malformed ATELIER_WASM_THREADS (with a warning) instead of failing', () => {
    const warn = console.warn;
    const seen: string[] = [];
    console.warn = (m: string) => seen.push(m);
    try {
      expect(wantedWasmThreads({ ATELIER_WASM_THREADS: 'many' }, 2, yes).threads).toBe(2);
      expect(wantedWasmThreads({ ATELIER_WASM_THREADS: '0' }, 4, no).threads).toBe(1);
    } finally {
      console.warn = warn;
    }
    expect(seen.join('\n')).toContain('ATELIER_WASM_THREADS="many"');
  });

  // A regression to false would silently drop the app to one thread (wantedWasmThreads).
  it('FusedAdam runs its SIMD update on a shared heap (so the app defaults to 2 threads)', () => {
    expect(fusedAdamWorksOnSharedHeap()).toBe(true);
  });
});

describe('multi-threaded wasm backend (child processes)', () => {
  it('runs 2 threads, matches the single-threaded backend, leaks nothing, and exits on its own', async () => {
    const base = { ATELIER_BACKEND: 'wasm' };
    const [two, one] = await Promise.all([
      runChild('threads-child.ts', { ...base, ATELIER_WASM_THREADS: '2' }),
      runChild('threads-child.ts', { ...base, ATELIER_WASM_THREADS: '1' }),
    ]);
    for (const r of [two, one]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.backend).toBe('wasm');
      expect(r.json.tensorDrift).toBe(0);
    }
    expect(two.json.threads).toBe(2); // BackendInfo.threads = the backend's getThreadsCount()
    expect(two.json.threaded).toBe(true);
    expect(one.json.threads).toBe(1);
    expect(one.json.threaded).toBe(false);
    expect(two.stderr).not.toContain('multi-threaded wasm failed');

    const a = two.json.out as Record<string, number[]>;
    const b = one.json.out as Record<string, number[]>;
    expect(Object.keys(a).sort()).toEqual(['adamW', 'conv2d', 'conv2dGradW', 'conv2dGradX', 'conv2dTranspose', 'matMul', 'trainLoss', 'trainW1', 'trainW2']);
    for (const k of Object.keys(b)) {
      expect(a[k]!.length, k).toBeGreaterThan(0);
      expect(a[k]!.every(Number.isFinite), k).toBe(true);
      expect(maxAbsDiff(a[k]!, b[k]!), k).toBeLessThan(1e-4);
    }
    // The training step did something (guards against comparing two untouched copies).
    expect(a.trainLoss![1]).toBeLessThan(a.trainLoss![0]!);
  }, 180_000);

  it('picks its default thread count in the app (no ATELIER_WASM_THREADS) as wantedWasmThreads says', async () => {
    const r = await runChild('threads-child.ts', { ATELIER_BACKEND: 'wasm', ATELIER_WASM_THREADS: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.threads).toBe(wantedWasmThreads({}).threads);
  }, 180_000);

  it('falls back to the stock single-threaded build when the pool does not start', async () => {
    const r = await runChild('fallback-child.ts', { ATELIER_BACKEND: 'wasm' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.threads).toBe(1);
    expect(r.json.sum).toBe(64);
    expect((r.json.state as { threaded: boolean }).threaded).toBe(false);
    expect(r.stderr).toContain('multi-threaded wasm failed');
  }, 120_000);
});
