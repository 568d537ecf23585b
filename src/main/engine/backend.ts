/**
 * The ONLY place that chooses the TensorFlow.js backend:
 *   tfjs-node (native libtensorflow)  when @tensorflow/tfjs-node loads,
 *   else wasm (+ this project's kernels for what wasm lacks),
 *   else cpu (pure JS, ~100x slower: never picked silently while wasm works).
 * ATELIER_BACKEND=node|wasm|cpu forces one; forcing one that cannot start is an error.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { StudioError } from '../../shared/errors';
import type { BackendName } from '../../shared/channels/app';
import { registerWasmKernels } from './kernels';
import { installWasmThreads, wantedWasmThreads } from './threads/wasm-threads';

const nodeRequire = createRequire(import.meta.url);

export interface BackendInfo {
  backend: BackendName;
  reason: string;
  threads: number;
  customKernels: string[];
  tfjsVersion: string;
  tfjsNode: { present: boolean; version?: string; error?: string };
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

async function choose(): Promise<BackendInfo> {
  const forced = (process.env.ATELIER_BACKEND ?? '').trim().toLowerCase();
  if (forced && !['node', 'wasm', 'cpu'].includes(forced)) {
    throw new StudioError('UNAVAILABLE', `ATELIER_BACKEND="${forced}" is not a backend.`, { hint: 'Use node, wasm or cpu, or unset it.' });
  }
  const base = { tfjsVersion: tf.version.tfjs, threads: 1 };
  let nodeResult: Awaited<ReturnType<typeof tryNode>> | null = null;
  if (!forced || forced === 'node') {
    nodeResult = await tryNode();
    if (nodeResult.ok) {
      return {
        ...base,
        backend: 'node',
        reason: forced ? 'forced by ATELIER_BACKEND=node' : 'tfjs-node loaded',
        threads: Math.max(1, (await import('node:os')).cpus().length),
        customKernels: [],
        tfjsNode: { present: true, version: nodeResult.version },
      };
    }
    if (forced === 'node') {
      throw new StudioError('UNAVAILABLE', `ATELIER_BACKEND=node, but tfjs-node cannot start: ${nodeResult.error}.`, {
        hint: 'Install @tensorflow/tfjs-node (it downloads libtensorflow), or unset ATELIER_BACKEND to use wasm.',
      });
    }
  }
  const tfjsNode = nodeResult && !nodeResult.ok ? { present: false, error: nodeResult.error } : { present: false, error: 'not tried (backend forced)' };
  if (!forced || forced === 'wasm') {
    const w = await tryWasm();
    if (w.ok) {
      return {
        ...base,
        backend: 'wasm',
        reason: forced ? 'forced by ATELIER_BACKEND=wasm' : `tfjs-node unavailable (${tfjsNode.error}); using wasm`,
        threads: w.threads,
        customKernels: w.kernels,
        tfjsNode,
      };
    }
    if (forced === 'wasm') throw new StudioError('UNAVAILABLE', `ATELIER_BACKEND=wasm, but wasm cannot start: ${w.error}.`);
    // Falling to cpu is loud: it is ~100x slower.
    console.warn(`[atelier] wasm backend failed (${w.error}); falling back to the slow cpu backend`);
  }
  await tf.setBackend('cpu');
  return {
    ...base,
    backend: 'cpu',
    reason: forced ? 'forced by ATELIER_BACKEND=cpu' : 'wasm failed to start; cpu is ~100x slower',
    customKernels: [],
    tfjsNode,
  };
}

/** Initialise once per process; later calls return the same answer. */
export function initBackend(): Promise<BackendInfo> {
  current ??= choose().catch((e) => {
    current = null;
    throw e;
  });
  return current;
}

export { tf };
