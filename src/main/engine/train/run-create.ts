/**
 * Creating a training run: validate the request against the model and the dataset, resolve every
 * option (size and channels from the dataset unless given), and write options.json and
 * status.json (run-files.ts). openRunSource opens the batches a run trains on.
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { TimelinePin } from '../../../shared/channels/train';
import { StudioError } from '../../../shared/errors';
import { writeJsonAtomic } from '../core/fsutil';
import { type Workspace, safeId } from '../core/workspace';
import type { ModelKind } from '../models/base';
import { createModel, modelEntry, resolveOptions } from '../models/registry';
import { checkpointsDir } from './checkpoint';
import { chosenBackend } from '../backend';
import { assertFitsBackend } from '../gpu/memory';
import { openBatchSource, type BatchSource } from './source';
import './dataset-source';
import { runDirOf, type RunOptionsFile, type RunStatus } from './run-files';

export interface TrainRequest {
  model: string;
  datasetId: string;
  options?: Record<string, unknown>;
  steps?: number;
  epochs?: number;
  sampleEvery?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  /** Write a model bundle when the run completes (default true). */
  bundle?: boolean;
  direction?: 'AtoB' | 'BtoA';
  name?: string;
  /** Runs folder override (CLI --out); default <workspace>/runs. */
  runsDir?: string;
  /** The checkpoint timeline's pinned sample set (default 8 items by k-means). */
  pin?: TimelinePin;
}

function sourceNeeds(kind: ModelKind) {
  return modelEntry(kind).data;
}

/** The batch stream a run trains on (its dataset, size, batch size, seed, direction). */
export async function openRunSource(ws: Workspace, run: Pick<RunOptionsFile, 'model' | 'datasetId' | 'options' | 'direction'>): Promise<BatchSource> {
  const o = run.options;
  return openBatchSource({
    workspace: ws,
    datasetId: run.datasetId,
    size: (o.size as number | null) ?? undefined,
    channels: (o.channels as number | null) ?? undefined,
    ...(typeof o.inChannels === 'number' ? { inChannels: o.inChannels } : {}),
    batchSize: o.batchSize as number,
    seed: o.seed as number,
    needs: sourceNeeds(run.model),
    direction: run.direction,
  });
}

/** What a request resolves to before anything is written: every option, and the dataset's facts. */
export interface ResolvedRunRequest {
  kind: ModelKind;
  options: Record<string, unknown>;
  direction: 'AtoB' | 'BtoA';
  info: BatchSource['info'];
}

/**
 * Resolve every option of a request against its model and dataset (size and channels from the
 * dataset unless given), refusing data the model cannot train on. Writes nothing: createRun and
 * the Train page's memory estimate (train.estimate) share it, so both see the same options.
 */
export async function resolveRunRequest(ws: Workspace, req: Pick<TrainRequest, 'model' | 'datasetId' | 'options' | 'direction'>): Promise<ResolvedRunRequest> {
  const entry = modelEntry(req.model);
  const given = { ...(req.options ?? {}) };
  const direction = req.direction ?? 'AtoB';
  // Size and channels follow the dataset unless given.
  const probeOpts = { ...resolveOptions(entry.kind, given), size: given.size ?? null, channels: given.channels ?? null };
  const probe = await openRunSource(ws, { model: entry.kind, datasetId: req.datasetId, options: probeOpts, direction });
  const info = probe.info;
  probe.close?.();
  // The networks halve the image down to 1x1 / 4x4: the default size is the next power of two
  // at or above the dataset's (Fashion-MNIST 28 -> 32; the loader resizes).
  given.size ??= 2 ** Math.ceil(Math.log2(Math.max(8, info.size)));
  given.channels ??= info.channels;
  let options = resolveOptions(entry.kind, given);
  if (entry.data === 'labelled') {
    if (!info.numClasses) throw new StudioError('BAD_INPUT', `Dataset ${req.datasetId} has no class labels; ${entry.kind} needs them.`, { hint: 'Use a model for plain images, or a labelled dataset.' });
    // A model of labelled data takes its class count from the dataset unless given.
    if (given.numClasses === undefined) options = resolveOptions(entry.kind, { ...given, numClasses: info.numClasses });
  }
  if ((entry.data === 'paired' || entry.data === 'unpaired') && !info.hasB) {
    throw new StudioError('BAD_INPUT', `${entry.kind} needs ${entry.data} A/B images; dataset ${req.datasetId} has one image set.`);
  }
  return { kind: entry.kind, options, direction, info };
}

/** Build the model of resolved options, refusing options the networks do not take (BAD_INPUT). */
export function buildModelOf(kind: ModelKind, options: Record<string, unknown>): ReturnType<typeof createModel> {
  try {
    return createModel(kind, options);
  } catch (e) {
    if (e instanceof StudioError) throw e;
    throw new StudioError('BAD_INPUT', `Cannot build ${kind} with these options: ${e instanceof Error ? e.message : String(e)}.`, {
      hint: 'Image sizes must be powers of two (16, 32, 64, 128, 256); see train.options for the ranges.',
    });
  }
}

/**
 * Validate the request, resolve every option, write options.json. Returns the run id. Every
 * refusal (bad options, too few items, a run the GPU cannot hold) comes before the run folder
 * exists, so a refused run leaves nothing in the runs list.
 */
export async function createRun(ws: Workspace, req: TrainRequest): Promise<{ runId: string; runDir: string; run: RunOptionsFile }> {
  const { kind, options, direction, info } = await resolveRunRequest(ws, req);
  const entry = modelEntry(kind);
  // Built once to fail now (not inside the job) on options the networks refuse, and on webgpu to
  // check the run fits the adapter (gpu/memory.ts). The backend is the one already chosen: the
  // engine hosts choose it at start; the CLI before creating a run.
  const model = buildModelOf(kind, options);
  try {
    assertFitsBackend(await chosenBackend(), model.networks, kind, options.size as number, options.batchSize as number);
  } finally {
    model.dispose();
  }
  const batch = options.batchSize as number;
  if (info.length < batch) {
    throw new StudioError('BAD_INPUT', `Batch size ${batch} is larger than the ${info.length} training items of ${req.datasetId}.`, { hint: `Use batchSize <= ${info.length}.` });
  }
  const perEpoch = Math.max(1, Math.floor(info.length / batch)); // the loader drops a short last batch
  const totalSteps = req.steps ?? (req.epochs ? req.epochs * perEpoch : 200 * perEpoch);
  const now = new Date();
  const runId = `${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}-${entry.kind}-${crypto.randomBytes(2).toString('hex')}`;
  const runDir = runDirOf(ws, runId, req.runsDir ?? ws.runs);
  const run: RunOptionsFile = {
    format: 'atelier-run',
    version: 1,
    runId,
    name: req.name ? safeId(req.name) : runId,
    model: entry.kind,
    datasetId: req.datasetId,
    options,
    totalSteps,
    epochs: req.epochs ?? null,
    itemsPerEpoch: info.length,
    ...(entry.data === 'labelled' && info.classNames ? { classNames: info.classNames } : {}),
    sampleEvery: req.sampleEvery ?? Math.max(1, Math.min(100, Math.ceil(totalSteps / 20))),
    checkpointEvery: req.checkpointEvery ?? Math.max(1, Math.min(500, Math.ceil(totalSteps / 10))),
    keepCheckpoints: req.keepCheckpoints ?? 3,
    bundle: req.bundle ?? true,
    direction,
    ...(req.pin ? { pin: req.pin } : {}),
    createdAt: now.toISOString(),
  };
  await fsp.mkdir(path.join(runDir, 'samples'), { recursive: true });
  await fsp.mkdir(checkpointsDir(runDir), { recursive: true });
  await writeJsonAtomic(path.join(runDir, 'options.json'), run);
  await writeJsonAtomic(path.join(runDir, 'status.json'), { state: 'created', step: 0, totalSteps, epoch: 0, updatedAt: Date.now() } satisfies RunStatus);
  return { runId, runDir, run };
}
