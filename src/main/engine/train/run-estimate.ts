/**
 * The GPU memory check of a run before it starts (train.estimate): the Train page asks as the
 * user changes model, size or batch, so a run that would be refused at Start says so at once.
 * The same option resolution as createRun (run-create.ts) and the same estimate and verdict as
 * the refusal (gpu/memory.ts), so the page and the refusal never disagree.
 */
import type { TrainMemoryEstimate } from '../../../shared/channels/train';
import type { BackendInfo } from '../backend';
import type { Workspace } from '../core/workspace';
import { checkFit, estimateTrainingMemory, gpuMemoryBudget, memoryCheckNote, type TrainingMemoryEstimate } from '../gpu/memory';
import { buildModelOf, resolveRunRequest, type TrainRequest } from './run-create';

/**
 * Estimates by kind and resolved options. Building the networks to read their shapes allocates
 * their weights on the GPU; a user stepping the batch back and forth should not pay it each time.
 * The verdict is not cached: a software adapter's budget (free host memory) moves.
 */
const cache = new Map<string, TrainingMemoryEstimate>();
const CACHE_MAX = 32;

export async function estimateRun(ws: Workspace, req: Pick<TrainRequest, 'model' | 'datasetId' | 'options' | 'direction'>, info: Pick<BackendInfo, 'backend' | 'webgpu'>, env: NodeJS.ProcessEnv = process.env): Promise<TrainMemoryEstimate> {
  const adapter = info.webgpu.adapter;
  if (info.backend !== 'webgpu' || !adapter) {
    return { checked: false, backend: info.backend, note: `This engine trains on ${info.backend} (the CPU), where memory is not checked before a run; the check applies to GPU (WebGPU) runs.` };
  }
  const r = await resolveRunRequest(ws, req);
  const size = r.options.size as number;
  const batch = r.options.batchSize as number;
  const key = JSON.stringify([r.kind, r.options]);
  let e = cache.get(key);
  if (!e) {
    const model = buildModelOf(r.kind, r.options);
    try {
      e = estimateTrainingMemory(model.networks, batch, size);
    } finally {
      model.dispose();
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, e);
  }
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
