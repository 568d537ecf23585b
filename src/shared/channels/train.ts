/**
 * Training: model options, starting / resuming / pausing a training job, and the runs it writes
 * (<workspace>/runs/<id>/). Progress, samples and the end of a run arrive as job events
 * (job.progress with step/epoch/losses/stepsPerSec/etaSec, job.sample with the grid PNG,
 * job.done with the TrainSummary, job.failed).
 */
import { z } from 'zod';
import { channel } from '../define';
import { jobId } from './job';
import type { JobInfo } from './job';
import { modelKindSchema, type DataNeed, type ModelCapabilities, type ModelKindName } from '../capabilities';
import type { BackendName } from './app';

/**
 * A model kind is a key of the engine's model registry (capabilities.ts modelKindSchema). The
 * train handlers refuse unknown kinds with VALIDATION, as an enum here would.
 */
export type TrainModelKind = ModelKindName;
const modelKind = modelKindSchema;
export const runId = z.string().min(1).max(120).regex(/^[A-Za-z0-9_-]+$/, 'run ids are letters, digits, dash, underscore');

export interface TrainOptionInfo {
  key: string;
  type: 'number' | 'int' | 'boolean' | 'enum';
  /** null: chosen from the image size / dataset. */
  default: number | boolean | string | null;
  choices?: readonly string[];
  min?: number;
  max?: number;
  description: string;
}

export interface TrainModelInfo {
  kind: TrainModelKind;
  title: string;
  description: string;
  /** What the dataset must hold. */
  data: DataNeed;
  lossNames: string[];
  visualNames: string[];
  networkNames: string[];
  options: TrainOptionInfo[];
  /** What its bundles can do with the default options (a one-way translator trains the direction picked). */
  capabilities: ModelCapabilities;
}

export type RunState = 'created' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface RunSummary {
  runId: string;
  name: string;
  model: TrainModelKind;
  datasetId: string;
  state: RunState;
  step: number;
  totalSteps: number;
  epoch: number;
  createdAt: string;
  updatedAt: number;
  lastLosses?: Record<string, number>;
  stepsPerSec?: number;
  bundleId?: string;
  /** The job training it now, if any. */
  jobId?: string;
  error?: string;
}

export interface RunLogEntry {
  step: number;
  epoch: number;
  lr: number;
  t: number;
  losses: Record<string, number>;
  /** At sample steps: diversity of the fixed sample set per output row (class), as a ratio to real images' (1 = as varied as the data). */
  diversity?: Record<string, number>;
}

/** Which items a run's checkpoint timeline renders: chosen for variety by k-means, or by the user. */
export interface TimelinePin {
  mode: 'kmeans' | 'indices';
  /** kmeans: how many items (default 8, at most 16). */
  count?: number;
  /** indices: train-split item indices (at most 16). */
  indices?: number[];
}

export interface TimelineFlag {
  /** collapse: outputs too similar; copy: output ≈ input (a translation that copies); colour-drift: mean colour off the real images'. */
  kind: 'collapse' | 'copy' | 'colour-drift';
  message: string;
}

export interface TimelineStats {
  /** Per output row (class): pairwise spread of the outputs / that of real images (or of the inputs, for translators). */
  diversity: Record<string, number>;
  diversityMin?: number;
  /** Translators: mean |output - input| on [0, 1]. */
  copy?: number;
  /** Largest per-channel gap between mean output and mean real colour, [0, 1]. */
  colourDrift?: number;
  flags: TimelineFlag[];
}

export interface TimelineFrame {
  step: number;
  png: Uint8Array;
  width: number;
  height: number;
  /** Row names of the grid (visual names; class_c for cgan). */
  rows: string[];
  stats: TimelineStats;
  /** Whether the checkpoint of this step is still on disk (so it can be promoted). */
  checkpoint: boolean;
}

export interface RunTimeline {
  runId: string;
  pin: TimelinePin | null;
  /** Train-split indices of the pinned items (or, for gan/cgan, of the real reference picks). */
  indices: number[];
  frames: TimelineFrame[];
}

export const timelinePin = z
  .object({
    mode: z.enum(['kmeans', 'indices']),
    count: z.number().int().min(2).max(16).optional(),
    indices: z.array(z.number().int().min(0)).min(1).max(16).optional(),
  })
  .strict()
  .refine((p) => p.mode !== 'indices' || (p.indices?.length ?? 0) > 0, { message: 'mode "indices" needs indices' });

export interface RunDetail {
  summary: RunSummary;
  /** options.json: the resolved request and every model option. */
  options: Record<string, unknown>;
  /** log.jsonl entries (from logFrom, at most logLimit, evenly thinned when longer). */
  log: RunLogEntry[];
  latestSample: { step: number; png: Uint8Array } | null;
  samples: number[];
  checkpoints: { step: number; createdAt: number; bytes: number }[];
}

export interface TrainSummaryInfo {
  runId: string;
  runDir: string;
  model: TrainModelKind;
  state: string;
  step: number;
  totalSteps: number;
  epoch: number;
  resumedFrom: number | null;
  durationSec: number;
  stepsPerSec: number;
  msPerStep: number;
  finalLosses: Record<string, number>;
  meanLosses: Record<string, number>;
  checkpoint: number | null;
  bundleId: string | null;
  bundleDir: string | null;
  backend: string;
}

const optionValue = z.union([z.number(), z.string(), z.boolean(), z.null()]);

/**
 * The GPU memory check of a run before it starts (train.estimate). Only runs on webgpu are
 * checked (a GPU states hard buffer limits; the CPU paths have none): elsewhere `checked` is
 * false and `note` says so.
 */
export type TrainMemoryEstimate =
  | { checked: false; backend: BackendName; note: string }
  | {
      checked: true;
      backend: 'webgpu';
      adapter: { vendor: string; architecture: string; isFallbackAdapter: boolean };
      /** The resolved image size and batch size (size from the dataset unless given). */
      size: number;
      batch: number;
      /** About what a training step holds: weights + gradients and optimizer + activations. */
      totalBytes: number;
      weightBytes: number;
      /** Gradients, Adam's moments and the gradient kernels' filter copies. */
      optimizerBytes: number;
      /** Activations kept for the backward pass, at this batch. */
      activationBytes: number;
      /** The largest single tensor (one GPU buffer) and what it is. */
      largest: { bytes: number; what: string };
      /** The adapter's largest buffer: min(maxBufferSize, maxStorageBufferBindingSize). */
      bufferLimitBytes: number;
      /** What the total is checked against, or null: WebGPU does not report a card's memory. */
      budget: { bytes: number; source: string } | null;
      /** One plain sentence: what is checked against what (and, without a budget, how to add one). */
      note: string;
      fit: { ok: true } | { ok: false; why: string; suggestion: string; maxBatch: number; maxSize: number | null };
    };


export const trainChannels = {
  'train.options': channel<TrainModelInfo[]>()(
    z.object({ model: modelKind.optional() }).strict(),
    'The trainable models with their options (type, default, one-line meaning).',
  ),
  'train.start': channel<{ jobId: string; runId: string }>()(
    z
      .object({
        model: modelKind,
        datasetId: z.string().min(1).max(200),
        options: z.record(z.string(), optionValue).default({}),
        steps: z.number().int().min(1).max(10_000_000).optional(),
        epochs: z.number().int().min(1).max(100_000).optional(),
        sampleEvery: z.number().int().min(1).optional(),
        checkpointEvery: z.number().int().min(1).optional(),
        keepCheckpoints: z.number().int().min(1).max(100).optional(),
        direction: z.enum(['AtoB', 'BtoA']).optional(),
        name: z.string().min(1).max(100).optional(),
        /** Write a model bundle when the run completes (default true). */
        bundle: z.boolean().optional(),
        /** The checkpoint timeline's pinned sample set (default: 8 items chosen by k-means). */
        pin: timelinePin.optional(),
      })
      .strict()
      .refine((r) => !(r.steps && r.epochs), { message: 'give steps or epochs, not both' }),
    'Start a training job; answers {jobId, runId} at once. Options not given take the model defaults.',
    ['VALIDATION', 'NOT_FOUND', 'BAD_INPUT', 'CONFLICT'],
  ),
  'train.estimate': channel<TrainMemoryEstimate>()(
    z
      .object({
        model: modelKind,
        datasetId: z.string().min(1).max(200),
        options: z.record(z.string(), optionValue).default({}),
        direction: z.enum(['AtoB', 'BtoA']).optional(),
      })
      .strict(),
    'Before train.start, with the same model, dataset and options: the GPU memory the run needs (weights, gradients and optimizer, activations) and whether it fits the adapter, with a batch or size that does when not. Checked only where training runs on webgpu; elsewhere answers checked: false with a note. Writes nothing.',
    ['VALIDATION', 'NOT_FOUND', 'BAD_INPUT'],
  ),
  'train.resume': channel<{ jobId: string; runId: string }>()(
    z.object({ runId, totalSteps: z.number().int().min(1).max(10_000_000).optional() }).strict(),
    'Continue a run from its latest checkpoint (exactly where it stopped); totalSteps extends (or shortens) the run, which reshapes a decaying LR schedule.',
    ['NOT_FOUND', 'CONFLICT'],
  ),
  'train.pause': channel<JobInfo>()(z.object({ jobId, paused: z.boolean() }).strict(), 'Pause or resume a training job between steps.', ['NOT_FOUND', 'CONFLICT']),
  'run.list': channel<RunSummary[]>()(z.object({}).strict(), 'Training runs of the workspace, newest first.'),
  'run.get': channel<RunDetail>()(
    z
      .object({
        runId,
        logFrom: z.number().int().min(0).optional(),
        logLimit: z.number().int().min(1).max(100_000).optional(),
        sampleStep: z.number().int().min(0).optional(),
      })
      .strict(),
    'One run: options, loss log, latest (or a given) sample PNG, checkpoints.',
    ['NOT_FOUND'],
  ),
  'run.timeline': channel<RunTimeline>()(
    z.object({ runId }).strict(),
    'The checkpoint timeline of a run: its pinned sample set rendered at every checkpoint, with automatic flags (collapse, output ≈ input, colour drift).',
    ['NOT_FOUND'],
  ),
  'run.delete': channel<{ deleted: boolean }>()(z.object({ runId }).strict(), 'Delete a run folder (not its bundles).', ['NOT_FOUND', 'CONFLICT']),
  'run.promote': channel<{ bundleId: string; dir: string }>()(
    z.object({ runId, step: z.number().int().min(0).optional(), bundleId: z.string().min(1).max(100).optional() }).strict(),
    'Make a model bundle from a run checkpoint (the newest by default).',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
} as const;
