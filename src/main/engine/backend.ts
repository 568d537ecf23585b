/**
 * The ONLY place that chooses the TensorFlow.js backend:
 *   tfjs-node (native libtensorflow)  when @tensorflow/tfjs-node loads,
 *   else webgpu (Dawn: D3D12 / Metal / Vulkan) when a hardware adapter is there,
 *   else wasm (+ this project's kernels for what wasm lacks),
 *   else cpu (pure JS, ~100x slower: never picked silently while wasm works).
 * A software/fallback WebGPU adapter (SwiftShader, WARP) is slower than wasm and is never chosen
 * unless forced. ATELIER_BACKEND=node|webgpu|wasm|cpu forces one (webgpu then accepts a fallback
 * adapter: that is how CI tests it); forcing one that cannot start is an error.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import type { BackendName } from '../../shared/channels/app';
import { registerWasmKernels } from './kernels';
import { installWasmThreads, wantedWasmThreads } from './threads/wasm-threads';
import { probeAdapter, registerWebGpuBackend, releaseGpu, type GpuAdapterReport } from './gpu/webgpu';

const nodeRequire = createRequire(import.meta.url);

export interface BackendInfo {
  backend: BackendName;
  reason: string;
  threads: number;
  customKernels: string[];
  tfjsVersion: string;
  tfjsNode: { present: boolean; version?: string; error?: string };
  /** The WebGPU adapter Dawn offered (whether or not it was chosen), or why there is none. */
  webgpu: { adapter?: GpuAdapterReport; error?: string };
  /** Each backend in order of preference: chosen, or why not (doctor shows this). */
  considered: { backend: BackendName; chosen: boolean; reason: string }[];
}

let current: Promise<BackendInfo> | null = null;

export function wasmDistDir(): string {
  return path.dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + path.sep + 'dist' + path.sep;
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 300);
}

async function tryNode(): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  try {
    const mod = nodeRequire('@tensorflow/tfjs-node') as { version?: Record<string, string> };
    const ok = await tf.setBackend('tensorflow');
    if (!ok) return { ok: false, error: 'tfjs-node loaded but its backend did not initialise' };
    return { ok: true, version: mod.version?.['tfjs-node'] ?? 'unknown' };
  } catch (e) {
    const msg = firstLine(e);
    return {
      ok: false,
      error: /Cannot find module/.test(msg) ? 'not installed (its libtensorflow download failed or was skipped)' : msg,
    };
  }
}

async function tryWasm(): Promise<{ ok: true; kernels: string[]; threads: number } | { ok: false; error: string }> {
  try {
    const wasm = nodeRequire('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmDistDir());
    // Multi-threaded XNNPACK pool (threads/wasm-threads.ts); ATELIER_WASM_THREADS=1 opts out.
    installWasmThreads(wasm, wantedWasmThreads());
    const kernels = registerWasmKernels();
    const ok = await tf.setBackend('wasm');
    if (!ok) return { ok: false, error: 'the wasm backend failed to initialise' };
    return { ok: true, kernels, threads: wasm.getThreadsCount() };
  } catch (e) {
    return { ok: false, error: firstLine(e) };
  }
}

async function tryWebGpu(forced: boolean): Promise<{ ok: true; adapter: GpuAdapterReport } | { ok: false; error: string; adapter?: GpuAdapterReport }> {
  const probe = await probeAdapter();
  if (!probe.ok) return { ok: false, error: probe.error };
  const adapter = probe.report;
  if (adapter.isFallbackAdapter && !forced) {
    return { ok: false, adapter, error: `only a software adapter (${adapter.vendor} ${adapter.architecture}), slower than the CPU path; ATELIER_BACKEND=webgpu forces it` };
  }
  try {
    await registerWebGpuBackend(tf, probe.adapter);
    const ok = await tf.setBackend('webgpu');
    if (!ok) return { ok: false, adapter, error: 'the webgpu backend failed to initialise' };
    return { ok: true, adapter };
  } catch (e) {
    return { ok: false, adapter, error: firstLine(e) };
  }
}

const BACKENDS = ['node', 'webgpu', 'wasm', 'cpu'] as const;

/** Backends this process must not choose again (a GPU that lost its device or ran out of memory). */
const excluded = new Map<BackendName, string>();

async function choose(): Promise<BackendInfo> {
  const asked = (process.env.ATELIER_BACKEND ?? '').trim().toLowerCase() as BackendName | '';
  if (asked && !(BACKENDS as readonly string[]).includes(asked)) {
    throw new StudioError('UNAVAILABLE', `ATELIER_BACKEND="${asked}" is not a backend.`, { hint: 'Use node, webgpu, wasm or cpu, or unset it.' });
  }
  // A forced backend that failed mid-run in this process (excludeBackend) no longer binds: the
  // run resumes on the next one in the order.
  const forced = asked && excluded.has(asked) ? '' : asked;
  const base = { tfjsVersion: tf.version.tfjs, threads: 1 };
  const considered: BackendInfo['considered'] = [];
  const skip = (b: BackendName, reason: string) => considered.push({ backend: b, chosen: false, reason });
  const chosen = (b: BackendName, reason: string) => considered.push({ backend: b, chosen: true, reason });
  const wants = (b: BackendName) => {
    if (excluded.has(b)) {
      skip(b, `not used again in this process: ${excluded.get(b)}`);
      return false;
    }
    if (forced && forced !== b) {
      skip(b, `ATELIER_BACKEND=${forced}`);
      return false;
    }
    return true;
  };

  let tfjsNode: BackendInfo['tfjsNode'] = { present: false, error: 'not tried (backend forced)' };
  if (wants('node')) {
    const n = await tryNode();
    if (n.ok) {
      chosen('node', forced ? 'forced by ATELIER_BACKEND=node' : 'tfjs-node loaded');
      return {
        ...base,
        backend: 'node',
        reason: forced ? 'forced by ATELIER_BACKEND=node' : 'tfjs-node loaded',
        threads: Math.max(1, (await import('node:os')).cpus().length),
        customKernels: [],
        tfjsNode: { present: true, version: n.version },
        webgpu: { error: 'not tried (tfjs-node chosen first)' },
        considered,
      };
    }
    if (forced === 'node') {
      throw new StudioError('UNAVAILABLE', `ATELIER_BACKEND=node, but tfjs-node cannot start: ${n.error}.`, {
        hint: 'Install @tensorflow/tfjs-node (it downloads libtensorflow), or unset ATELIER_BACKEND to use wasm.',
      });
    }
    tfjsNode = { present: false, error: n.error };
    skip('node', `tfjs-node unavailable: ${n.error}`);
  }

  let webgpu: BackendInfo['webgpu'] = {};
  if (wants('webgpu')) {
    const g = await tryWebGpu(forced === 'webgpu');
    webgpu = { adapter: g.adapter, error: g.ok ? undefined : g.error };
    if (g.ok) {
      const a = g.adapter;
      const reason = `${forced ? 'forced by ATELIER_BACKEND=webgpu' : 'a hardware WebGPU adapter'}: ${a.vendor} ${a.architecture}${a.isFallbackAdapter ? ' (software fallback adapter)' : ''}`;
      chosen('webgpu', reason);
      return { ...base, backend: 'webgpu', reason, customKernels: [], tfjsNode, webgpu, considered };
    }
    if (forced === 'webgpu') {
      throw new StudioError('UNAVAILABLE', `ATELIER_BACKEND=webgpu, but WebGPU cannot start: ${g.error}.`, {
        hint: 'Update the GPU driver (Linux: install libvulkan1 and a Vulkan driver), or unset ATELIER_BACKEND to use wasm.',
      });
    }
    skip('webgpu', g.error);
  } else if (!webgpu.adapter) {
    // Not tried for training, but doctor still reports what the machine offers.
    const p = await probeAdapter();
    webgpu = p.ok ? { adapter: p.report } : { error: p.error };
  }

  if (wants('wasm')) {
    const w = await tryWasm();
    if (w.ok) {
      const reason = forced ? 'forced by ATELIER_BACKEND=wasm' : `tfjs-node unavailable (${tfjsNode.error}); no hardware WebGPU adapter; using wasm`;
      chosen('wasm', reason);
      return { ...base, backend: 'wasm', reason, threads: w.threads, customKernels: w.kernels, tfjsNode, webgpu, considered };
    }
    if (forced === 'wasm') throw new StudioError('UNAVAILABLE', `ATELIER_BACKEND=wasm, but wasm cannot start: ${w.error}.`);
    skip('wasm', w.error);
    // Falling to cpu is loud: it is ~100x slower.
    console.warn(`[atelier] wasm backend failed (${w.error}); falling back to the slow cpu backend`);
  }
  await tf.setBackend('cpu');
  const reason = forced === 'cpu' ? 'forced by ATELIER_BACKEND=cpu' : 'wasm failed to start; cpu is ~100x slower';
  chosen('cpu', reason);
  return { ...base, backend: 'cpu', reason, customKernels: [], tfjsNode, webgpu, considered };
}

/** Initialise once per process; later calls return the same answer. */
export function initBackend(): Promise<BackendInfo> {
  current ??= choose().catch((e) => {
    current = null;
    throw e;
  });
  return current;
}

/**
 * The backend this process chose, or null when none is chosen yet; never starts one (a check that
 * only applies on a chosen GPU, e.g. run-create.ts, must not switch a test's cpu backend to wasm).
 */
export async function chosenBackend(): Promise<BackendInfo | null> {
  if (!current) return null;
  try {
    return await current;
  } catch {
    return null;
  }
}

/**
 * Stop using the current backend for the rest of this process (its GPU device was lost or ran
 * out of memory): the next initBackend() chooses among the others, so a resumed run continues on
 * wasm from its newest checkpoint. Forcing ATELIER_BACKEND to the excluded backend then fails loudly.
 */
export async function excludeBackend(backend: BackendName, why: string): Promise<void> {
  excluded.set(backend, why);
  if (backend === 'webgpu') await releaseBackend();
  else current = null;
}

/** Release the GPU device (a live Dawn device keeps Node running); the next initBackend() chooses again. */
export async function releaseBackend(): Promise<void> {
  if (tf.findBackend('webgpu')) {
    if (tf.getBackend() === 'webgpu') {
      // Leave tfjs on a backend that exists before removing the current one.
      await tf.setBackend('cpu');
    }
    tf.removeBackend('webgpu');
  }
  releaseGpu();
  current = null;
}

export { tf };
