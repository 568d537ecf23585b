import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'atelier.js');
const tfjsNodeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

async function doctor(env: Record<string, string>) {
  return run(process.execPath, [BIN, 'doctor', '--json'], { cwd: ROOT, env: { ...process.env, ...env } });
}

describe('backend chooser', () => {
  it('picks tfjs-node when installed, else wasm with our kernels — never cpu silently', async () => {
    const { stdout } = await doctor({ ATELIER_BACKEND: '' });
    const r = JSON.parse(stdout) as { backend: string; tfjsNode: { present: boolean }; customKernels: string[] };
    expect(r.backend).toBe(tfjsNodeInstalled ? 'node' : 'wasm');
    expect(r.tfjsNode.present).toBe(tfjsNodeInstalled);
  });

  it('honours ATELIER_BACKEND=cpu and =wasm', async () => {
    expect(JSON.parse((await doctor({ ATELIER_BACKEND: 'cpu' })).stdout).backend).toBe('cpu');
    expect(JSON.parse((await doctor({ ATELIER_BACKEND: 'wasm' })).stdout).backend).toBe('wasm');
  });

  it('fails clearly when the forced backend cannot start or does not exist', async () => {
    const bogus = await doctor({ ATELIER_BACKEND: 'gpu' }).catch((e: { stderr: string; code: number }) => e);
    expect((bogus as { code: number }).code).toBe(1);
    expect((bogus as { stderr: string }).stderr).toContain('is not a backend');
    if (!tfjsNodeInstalled) {
      const node = await doctor({ ATELIER_BACKEND: 'node' }).catch((e: { stderr: string; code: number }) => e);
      expect((node as { code: number }).code).toBe(1);
      expect((node as { stderr: string }).stderr).toContain('tfjs-node cannot start');
    }
  });
});
