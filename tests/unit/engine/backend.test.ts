import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { noSoftwareGpu, SWIFTSHADER_ICD } from './gpu/software-gpu';

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

interface DoctorGpu {
  backend: string;
  webgpu: { adapter?: { vendor: string; architecture: string; isFallbackAdapter: boolean; limits: { maxBufferSize: number } }; error?: string };
  backendsConsidered: { backend: string; chosen: boolean; reason: string }[];
}

describe.skipIf(noSoftwareGpu !== null || tfjsNodeInstalled)(`WebGPU in the chooser (skipped without the SwiftShader adapter or with tfjs-node installed: ${noSoftwareGpu ?? (tfjsNodeInstalled ? 'tfjs-node installed: it wins first' : 'SwiftShader')})`, () => {
  it('never picks the software adapter on its own: wasm stays the default, and doctor says why', async () => {
    const r = JSON.parse((await doctor({ ATELIER_BACKEND: '', VK_ICD_FILENAMES: SWIFTSHADER_ICD })).stdout) as DoctorGpu;
    expect(r.backend).toBe('wasm');
    expect(r.webgpu.adapter?.isFallbackAdapter).toBe(true);
    expect(r.webgpu.adapter?.limits.maxBufferSize).toBeGreaterThan(0);
    const gpu = r.backendsConsidered.find((c) => c.backend === 'webgpu')!;
    expect(gpu.chosen).toBe(false);
    expect(gpu.reason).toMatch(/software adapter/);
    expect(r.backendsConsidered.map((c) => `${c.backend}:${c.chosen}`)).toEqual(['node:false', 'webgpu:false', 'wasm:true']);
  });

  it('ATELIER_BACKEND=webgpu forces it, software adapter included, and the CLI still exits', async () => {
    const r = JSON.parse((await doctor({ ATELIER_BACKEND: 'webgpu', VK_ICD_FILENAMES: SWIFTSHADER_ICD })).stdout) as DoctorGpu & { backendReason: string };
    expect(r.backend).toBe('webgpu');
    expect(r.backendReason).toMatch(/forced by ATELIER_BACKEND=webgpu.*software fallback adapter/);
    expect(r.webgpu.adapter?.architecture).toBe('swiftshader');
  });

  it("doctor's text names what a run's memory check compares with and what --ep auto picks here", async () => {
    const { stdout } = await run(process.execPath, [BIN, 'doctor'], { cwd: ROOT, env: { ...process.env, ATELIER_BACKEND: '', VK_ICD_FILENAMES: SWIFTSHADER_ICD, ATELIER_GPU_MEMORY_MB: '4096' } });
    expect(stdout).toMatch(/^webgpu +google swiftshader .*software fallback adapter; max buffer \d+ MiB, storage binding \d+ MiB$/m);
    expect(stdout).toMatch(/^gpu memory +A run's total is checked against 4096 MiB \(ATELIER_GPU_MEMORY_MB=4096\), and its largest tensor against the largest buffer \(\d+ MiB\)\.$/m);
    expect(stdout).toMatch(/^onnxruntime .*providers cpu, webgpu .*--ep auto here: cpu \(webgpu needs a hardware adapter here\)$/m);
  });
});

describe.skipIf(process.platform !== 'linux')('WebGPU without an adapter (skipped off Linux: there Vulkan ICDs are chosen by VK_ICD_FILENAMES)', () => {
  it('ATELIER_BACKEND=webgpu with no Vulkan driver fails loudly, naming the cause', async () => {
    // An ICD list naming nothing: the loader finds no driver, Dawn offers no adapter.
    const e = (await doctor({ ATELIER_BACKEND: 'webgpu', VK_ICD_FILENAMES: path.join(ROOT, 'no-such-icd.json') }).catch((err: unknown) => err)) as { code: number; stderr: string };
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/ATELIER_BACKEND=webgpu, but WebGPU cannot start/);
  });
});
