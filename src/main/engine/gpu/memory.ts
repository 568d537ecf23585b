/**
 * Will a training run fit the GPU? Checked before the first step, so a run that cannot fit says
 * so at once, with a batch size or image size that does fit, instead of failing mid-run.
 *
 * WebGPU states two hard limits per buffer (tfjs keeps every tensor in one storage buffer):
 * maxBufferSize and maxStorageBufferBindingSize. It does not state the device's memory, so the
 * total is checked against a budget only where one is known: ATELIER_GPU_MEMORY_MB (the user's
 * figure for the card), or, for a software adapter, the host's free memory (its buffers live in
 * RAM). Elsewhere only the per-buffer limits refuse a run.
 *
 * The estimate is read off the networks' layers (no tensor is made):
 *   weights     every weight of every network, float32
 *   training    per trainable weight, (WEIGHT_FACTOR - 1) more of its size: its gradient, Adam's
 *               two moments and their update, and the filter copies the gradient kernels make,
 *               which a step holds until it ends
 *   activations per batch item, the output of every layer of every network, times
 *               ACTIVATION_FACTOR: each forward output is kept for the backward pass, has a
 *               gradient of its size, and some networks run more than once a step (cyclegan's
 *               generators, a discriminator on real and fake)
 * The factors are fitted to tfjs's measured peak of a real first step (tf.profile, cpu backend)
 * of every kind at two sizes and two batches: pix2pix needs ~16x its weights and little per
 * item, cyclegan ~7x its activations; the test keeps the estimate between 1x and 5x the peak.
 * tfjs-backend-webgpu also pools freed buffers for reuse, so the card holds somewhat more than
 * the engine counts: the estimate errs high on purpose.
 */
import os from 'node:os';
import type * as tfTypes from '@tensorflow/tfjs';
import { StudioError } from '../../../shared/errors';
import type { GpuAdapterReport } from './webgpu';
import type { BackendInfo } from '../backend';
import type { DoctorReport } from '../../../shared/channels/app';

export const WEIGHT_FACTOR = 18;
export const ACTIVATION_FACTOR = 8;
const F32 = 4;

export interface TrainingMemoryEstimate {
  batch: number;
  size: number;
  weightBytes: number;
  /** Gradients, optimizer moments and kernel copies of the trainable weights. */
  optimizerBytes: number;
  /** Activations (and the input) of one batch item. */
  perItemBytes: number;
  /** weights + optimizer + batch x perItem. */
  totalBytes: number;
  /** The largest single tensor of a step at this batch: one GPU buffer. */
  largest: { bytes: number; what: string };
  /** The largest activation of one batch item (it grows with the batch) and the largest weight. */
  largestActivation: { bytes: number; what: string };
  largestWeight: { bytes: number; what: string };
}

const prod = (s: readonly (number | null)[]) => s.reduce<number>((a, d) => a * (d ?? 1), 1);

interface LayerWalk {
  perItem: number;
  largestItem: { bytes: number; what: string };
}

/** Every layer's output size per batch item, through nested models. */
function walk(net: tfTypes.LayersModel, acc: LayerWalk): void {
  for (const layer of net.layers) {
    const inner = layer as unknown as tfTypes.LayersModel;
    if (Array.isArray(inner.layers) && inner.layers.length) {
      walk(inner, acc);
      continue;
    }
    const shapes = (Array.isArray(layer.outputShape[0]) || layer.outputShape.length === 0 ? layer.outputShape : [layer.outputShape]) as (number | null)[][];
    for (const s of shapes) {
      const bytes = prod(s.slice(1)) * F32;
      acc.perItem += bytes;
      if (bytes > acc.largestItem.bytes) acc.largestItem = { bytes, what: `${net.name}/${layer.name} output [batch, ${s.slice(1).join(', ')}]` };
    }
  }
}

/** The memory a training step of these networks needs at `batch` (see the file's header). */
export function estimateTrainingMemory(networks: Record<string, tfTypes.LayersModel>, batch: number, size: number): TrainingMemoryEstimate {
  let weightBytes = 0;
  let trainable = 0;
  let largestWeight = { bytes: 0, what: '' };
  const acc: LayerWalk = { perItem: 0, largestItem: { bytes: 0, what: '' } };
  for (const net of Object.values(networks)) {
    for (const w of net.weights) {
      const bytes = prod(w.shape) * F32;
      weightBytes += bytes;
      if (w.trainable) trainable += bytes;
      if (bytes > largestWeight.bytes) largestWeight = { bytes, what: `weight ${w.name} [${w.shape.join(', ')}]` };
    }
    walk(net, acc);
  }
  const perItemBytes = acc.perItem * ACTIVATION_FACTOR;
  const optimizerBytes = (WEIGHT_FACTOR - 1) * trainable;
  const act = { bytes: acc.largestItem.bytes * batch, what: acc.largestItem.what };
  return {
    batch,
    size,
    weightBytes,
    optimizerBytes,
    perItemBytes,
    totalBytes: weightBytes + optimizerBytes + batch * perItemBytes,
    largest: act.bytes >= largestWeight.bytes ? act : largestWeight,
    largestActivation: acc.largestItem,
    largestWeight,
  };
}

/**
 * The estimate at another image size and batch without rebuilding the networks: activations
 * scale with the pixel count; the weights are kept (a smaller U-Net may drop a level: the
 * figure errs high).
 */
export function scaleEstimate(e: TrainingMemoryEstimate, size: number, batch: number): TrainingMemoryEstimate {
  const r = (size / e.size) ** 2;
  const perItemBytes = e.perItemBytes * r;
  const largestActivation = { ...e.largestActivation, bytes: e.largestActivation.bytes * r };
  const act = { bytes: largestActivation.bytes * batch, what: largestActivation.what };
  return {
    ...e,
    size,
    batch,
    perItemBytes,
    largestActivation,
    totalBytes: e.weightBytes + e.optimizerBytes + batch * perItemBytes,
    largest: act.bytes >= e.largestWeight.bytes ? act : e.largestWeight,
  };
}

/** The total the GPU may hold, where it is known (see the file's header), and where the figure comes from. */
export function gpuMemoryBudget(adapter: Pick<GpuAdapterReport, 'isFallbackAdapter'>, env: NodeJS.ProcessEnv = process.env, freeMem: () => number = os.freemem): { bytes: number; source: string } | null {
  const mb = Number(env.ATELIER_GPU_MEMORY_MB);
  if (Number.isFinite(mb) && mb > 0) return { bytes: mb * 2 ** 20, source: `ATELIER_GPU_MEMORY_MB=${env.ATELIER_GPU_MEMORY_MB}` };
  if (adapter.isFallbackAdapter) return { bytes: freeMem(), source: "the host's free memory, where a software adapter keeps its buffers" };
  return null;
}

export const mib = (b: number): string => `${(b / 2 ** 20).toFixed(b < 2 ** 20 ? 2 : 0)} MiB`;

/**
 * One plain sentence for doctor and the Train page: what a run is checked against here. A
 * hardware adapter does not report its memory through WebGPU, so without ATELIER_GPU_MEMORY_MB
 * only the largest-buffer limit is checked and a run too big in total fails at its first steps.
 */
export function memoryCheckNote(limits: Pick<GpuAdapterReport['limits'], 'maxBufferSize' | 'maxStorageBufferBindingSize'>, budget: { bytes: number; source: string } | null): string {
  const buffer = mib(Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize));
  if (!budget) {
    return `WebGPU does not report how much memory this GPU has, so a run is checked only against its largest buffer (${buffer}), not in total: set ATELIER_GPU_MEMORY_MB to the card's memory in MiB (e.g. 8192) to check the total too.`;
  }
  return `A run's total is checked against ${mib(budget.bytes)} (${budget.source}), and its largest tensor against the largest buffer (${buffer}).`;
}

export type FitVerdict = { ok: true } | { ok: false; why: string; suggestion: string; maxBatch: number; maxSize: number | null };

/**
 * Whether a run of estimate `e` fits `limits` (and `budget`, when known). When it does not: why,
 * the largest batch that fits at this size, and else the largest halved size that fits at batch 1.
 */
export function checkFit(
  e: TrainingMemoryEstimate,
  limits: Pick<GpuAdapterReport['limits'], 'maxBufferSize' | 'maxStorageBufferBindingSize'>,
  budget: { bytes: number; source: string } | null,
): FitVerdict {
  const bufferLimit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const fits = (x: TrainingMemoryEstimate) => x.largest.bytes <= bufferLimit && (!budget || x.totalBytes <= budget.bytes);
  if (fits(e)) return { ok: true };
  const reasons: string[] = [];
  if (e.largest.bytes > bufferLimit) reasons.push(`its largest tensor (${e.largest.what}, ${mib(e.largest.bytes)}) exceeds the adapter's largest buffer (${mib(bufferLimit)}: maxBufferSize ${mib(limits.maxBufferSize)}, maxStorageBufferBindingSize ${mib(limits.maxStorageBufferBindingSize)})`);
  if (budget && e.totalBytes > budget.bytes) reasons.push(`it needs about ${mib(e.totalBytes)} (weights ${mib(e.weightBytes)}, gradients and optimizer ${mib(e.optimizerBytes)}, activations ${mib(e.batch * e.perItemBytes)} at batch ${e.batch}) but ${budget.source} gives ${mib(budget.bytes)}`);
  // The batch scales activations linearly; the fixed part (weights, optimizer) does not.
  let maxBatch = e.largestWeight.bytes > bufferLimit ? 0 : Math.floor(bufferLimit / Math.max(1, e.largestActivation.bytes));
  if (budget) maxBatch = Math.min(maxBatch, Math.floor((budget.bytes - e.weightBytes - e.optimizerBytes) / Math.max(1, e.perItemBytes)));
  maxBatch = Math.max(0, Math.min(maxBatch, e.batch - 1));
  let maxSize: number | null = null;
  for (let s = e.size / 2; s >= 8 && Number.isInteger(s); s /= 2) {
    if (fits(scaleEstimate(e, s, 1))) {
      maxSize = s;
      break;
    }
  }
  const suggestion =
    maxBatch >= 1
      ? `Lower the batch size to ${maxBatch} or less (--batch ${maxBatch})${maxSize ? `, or the image size to ${maxSize} (--size ${maxSize})` : ''}.`
      : maxSize
        ? `Lower the image size to ${maxSize} or less (--size ${maxSize}) at batch 1.`
        : 'Even the smallest sizes do not fit this GPU: train on the CPU path (ATELIER_BACKEND=wasm).';
  return { ok: false, why: reasons.join('; and '), suggestion, maxBatch, maxSize };
}

/** The refusal a run gets before its first step when it does not fit. */
export function doesNotFit(v: Extract<FitVerdict, { ok: false }>, adapter: Pick<GpuAdapterReport, 'vendor' | 'architecture'>, kind: string, e: TrainingMemoryEstimate): StudioError {
  return new StudioError('BAD_INPUT', `This ${kind} run (size ${e.size}, batch ${e.batch}) does not fit the GPU (${adapter.vendor} ${adapter.architecture}): ${v.why}.`, {
    hint: `${v.suggestion}${v.maxBatch || v.maxSize ? ' Or set ATELIER_BACKEND=wasm to train on the CPU path.' : ''}`,
    details: v.why,
  });
}

/** Before a run's first step on webgpu: the estimate, or the refusal when it does not fit `adapter`. */
export function assertGpuFit(
  networks: Record<string, tfTypes.LayersModel>,
  kind: string,
  size: number,
  batch: number,
  adapter: GpuAdapterReport,
  budget: { bytes: number; source: string } | null = gpuMemoryBudget(adapter),
): TrainingMemoryEstimate {
  const e = estimateTrainingMemory(networks, batch, size);
  const v = checkFit(e, adapter.limits, budget);
  if (!v.ok) throw doesNotFit(v, adapter, kind, e);
  return e;
}

/**
 * The check where it applies: training on webgpu with an adapter (null elsewhere: the CPU paths
 * have no such limits). createRun calls it before the run folder exists, so a refused run leaves
 * nothing behind; trainRun again, for a resume on another (smaller) GPU.
 */
export function assertFitsBackend(
  info: Pick<BackendInfo, 'backend' | 'webgpu'> | null,
  networks: Record<string, tfTypes.LayersModel>,
  kind: string,
  size: number,
  batch: number,
): TrainingMemoryEstimate | null {
  if (info?.backend !== 'webgpu' || !info.webgpu.adapter) return null;
  return assertGpuFit(networks, kind, size, batch, info.webgpu.adapter);
}

/** A doctor report with the sentence on what a run's memory is checked against (app.doctor, `atelier doctor`). */
export function withMemoryCheck(r: DoctorReport, env: NodeJS.ProcessEnv = process.env): DoctorReport {
  const a = r.webgpu.adapter;
  return a ? { ...r, webgpu: { ...r.webgpu, memoryCheck: memoryCheckNote(a.limits, gpuMemoryBudget(a, env)) } } : r;
}
