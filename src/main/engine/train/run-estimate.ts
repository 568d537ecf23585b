/**
 * The GPU memory check of a run before it starts (train.estimate): the Train page asks as the
 * user changes model, size or batch, so a run that would be refused at Start says so at once.
 * The same option resolution as createRun (run-create.ts) and the same estimate and verdict as
 * the refusal (gpu/memory.ts), so the page and the refusal never disagree.
 */
import type { TrainMemoryEstimate } from '../../../shared/channels/train';
import type { BackendInfo } from '../backend';
import type { Workspace } from '../core/workspace';
import { checkFit, estimateTrainingMemory, gpuMemoryBudget, memoryCheckNote, scaleEstimate, type TrainingMemoryEstimate } from '../gpu/memory';
import { buildModelOf, resolveRunRequest, type TrainRequest } from './run-create';

/**
 * Estimates by kind and the options that shape the networks. Building the networks to read their
 * shapes allocates their weights on the GPU; a user stepping the batch back and forth or editing
 * the learning rate should not pay it each time. The verdict is not cached: a software adapter's
 * budget (free host memory) moves.
 */
const cache = new Map<string, TrainingMemoryEstimate>();
const CACHE_MAX = 32;

/**
 * Common options that never change a network's layers or weights' shapes (the batch scales the
 * activations, which the estimate does per item). Every other option (size, channels, widths and
 * each model's own) may, so it stays in the key: an unknown option costs a rebuild, never a
 * wrong figure.
 */
const NOT_SHAPING = new Set(['batchSize', 'lr', 'beta1', 'beta2', 'lrPolicy', 'lrDecayStart', 'lrStepSize', 'lrGamma', 'seed']);

/** The cache key of an estimate: the kind and the shaping options, in a fixed order. */
export function estimateKey(kind: string, options: Record<string, unknown>): string {
  return JSON.stringify([kind, Object.keys(options).filter((k) => !NOT_SHAPING.has(k)).sort().map((k) => [k, options[k]])]);
}

export async function estimateRun(ws: Workspace, req: Pick<TrainRequest, 'model' | 'datasetId' | 'options' | 'direction'>, info: Pick<BackendInfo, 'backend' | 'webgpu'>, env: NodeJS.ProcessEnv = process.env): Promise<TrainMemoryEstimate> {
  const adapter = info.webgpu.adapter;
  if (info.backend !== 'webgpu' || !adapter) {
    return { checked: false, backend: info.backend, note: `This engine trains on ${info.backend} (the CPU), where memory is not checked before a run; the check applies to GPU (WebGPU) runs.` };
  }
  const r = await resolveRunRequest(ws, req);
  const size = r.options.size as number;
  const batch = r.options.batchSize as number;
  const key = estimateKey(r.kind, r.options);
  let cached = cache.get(key);
  if (!cached) {
    const model = buildModelOf(r.kind, r.options);
    try {
      cached = estimateTrainingMemory(model.networks, batch, size);
    } finally {
      model.dispose();
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, cached);
  }
  // Same size (it is in the key): only the batch's share of the activations moves.
  const e = scaleEstimate(cached, size, batch);
  const budget = gpuMemoryBudget(adapter, env);
  return {
    checked: true,
    backend: 'webgpu',
    adapter: { vendor: adapter.vendor, architecture: adapter.architecture, isFallbackAdapter: adapter.isFallbackAdapter },
    size,
    batch,
    totalBytes: e.totalBytes,
    weightBytes: e.weightBytes,
    optimizerBytes: e.optimizerBytes,
    activationBytes: batch * e.perItemBytes,
    largest: e.largest,
    bufferLimitBytes: Math.min(adapter.limits.maxBufferSize, adapter.limits.maxStorageBufferBindingSize),
    budget,
    note: memoryCheckNote(adapter.limits, budget),
    fit: checkFit(e, adapter.limits, budget),
  };
}
