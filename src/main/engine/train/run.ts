/**
 * Training runs. A run lives in <workspace>/runs/<id>/:
 *   options.json   the resolved request (model, dataset, every model option with its default,
 *                  total steps, sample/checkpoint cadence)
 *   status.json    state, step, epoch, last losses, bundle id (atomic writes)
 *   log.jsonl      one line per step: {step, epoch, lr, t, losses}
 *   samples/step-N.png
 *   checkpoints/step-N/   (see checkpoint.ts), the last K kept
 * trainRun() starts a run or continues it from its latest checkpoint: weights, optimizer state,
 * step (= LR schedule position), RNG state, image pool and data cursor all come back, so the
 * losses after a resume equal those of an uninterrupted run.
 */
import type { TrainSummaryInfo } from '../../../shared/channels/train';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { tf, initBackend } from '../backend';
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from '../core/fsutil';
import { stampSamples } from '../infer/provenance';
import { type Workspace, insideDir, safeId } from '../core/workspace';
import { StudioError } from '../../../shared/errors';
import type { JobProgress, JobSample } from '../../../shared/events';
import { capabilitiesFor, createModel, modelEntry, resolveOptions } from '../models/registry';
import { takesImages } from '../../../shared/capabilities';
import { disposeBatch, type Batch, type BaseModel, type ModelKind } from '../models/base';
import { listCheckpoints, readCheckpoint, writeCheckpoint, checkpointsDir } from './checkpoint';
import { openBatchSource, type BatchSource } from './source';
import './dataset-source';
import { visualsToPng } from './grid';
import { writeBundle } from './bundle';
import { sweepTemp } from '../core/fsutil';
import type { TimelinePin } from '../../../shared/channels/train';
import { pinnedSet, renderFrame, sampleStats, type Reference } from './timeline';

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

export interface RunOptionsFile {
  format: 'atelier-run';
  version: 1;
  runId: string;
  name: string;
  model: ModelKind;
  datasetId: string;
  options: Record<string, unknown>;
  totalSteps: number;
  epochs: number | null;
  itemsPerEpoch: number;
  /** Class names of a labelled dataset (cgan). */
  classNames?: string[];
  sampleEvery: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  bundle: boolean;
  direction: 'AtoB' | 'BtoA';
  /** Pinned sample set of the checkpoint timeline (timeline.ts); absent: 8 items by k-means. */
  pin?: TimelinePin;
  /** Where the step-0 weights came from when not from the model's own initialisation (interop/continue.ts). */
  origin?: RunOrigin;
  createdAt: string;
}

/** A run seeded from outside (e.g. the reference's .pth files): what was loaded, and what starts fresh. */
export interface RunOrigin {
  format: string;
  files: { network: string; file: string; sha256: string }[];
  /** Networks with no file, initialised as the model does. */
  freshNetworks: string[];
  /** One line for the progress display and the Train page. */
  note: string;
}

export type RunState = 'created' | 'running' | 'done' | 'failed' | 'cancelled';

export interface RunStatus {
  state: RunState;
  step: number;
  totalSteps: number;
  epoch: number;
  updatedAt: number;
  lastLosses?: Record<string, number>;
  stepsPerSec?: number;
  bundleId?: string;
  error?: string;
  backend?: string;
}

export interface LogEntry {
  step: number;
  epoch: number;
  lr: number;
  t: number;
  losses: Record<string, number>;
  /** At sample steps: diversity of the fixed samples per row, ratio to real images' (timeline.ts sampleStats). */
  diversity?: Record<string, number>;
}

/** The contract's summary of a finished run, with the engine's narrower model and state types. */
export interface TrainSummary extends TrainSummaryInfo {
  model: ModelKind;
  state: RunState;
}

export interface TrainHooks {
  /** Pause / cancel point between steps (JobContext.checkpoint). */
  checkpoint?: () => Promise<void>;
  progress?: (p: Omit<JobProgress, 'jobId'>) => void;
  sample?: (s: Omit<JobSample, 'jobId'>) => void;
  /** Stop (as if cancelled) once this many steps are done: tests and `--steps` slices. */
  stopAtStep?: number;
}

export function runDirOf(ws: Workspace, runId: string, runsDir = ws.runs): string {
  const d = insideDir(runsDir, runId);
  if (!d || !/^[A-Za-z0-9_-]+$/.test(runId)) throw new StudioError('BAD_INPUT', `"${runId}" is not a run id.`);
  return d;
}

export async function readRunOptions(runDir: string): Promise<RunOptionsFile> {
  const f = path.join(runDir, 'options.json');
  if (!(await exists(f))) throw new StudioError('NOT_FOUND', `No training run at ${runDir}.`, { hint: 'List runs with run.list (atelier train --help).' });
  return readJson<RunOptionsFile>(f);
}

export async function readRunStatus(runDir: string): Promise<RunStatus | null> {
  try {
    return await readJson<RunStatus>(path.join(runDir, 'status.json'));
  } catch {
    return null;
  }
}

export async function readLog(runDir: string, maxStep = Infinity): Promise<LogEntry[]> {
  let text = '';
  try {
    text = await fsp.readFile(path.join(runDir, 'log.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as LogEntry;
      if (e.step <= maxStep) out.push(e);
    } catch {
      // a line cut by a kill
    }
  }
  return out;
}

function sourceNeeds(kind: ModelKind) {
  return modelEntry(kind).data;
}

async function openSource(ws: Workspace, run: Pick<RunOptionsFile, 'model' | 'datasetId' | 'options' | 'direction'>): Promise<BatchSource> {
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

/** Validate the request, resolve every option, write options.json. Returns the run id. */
export async function createRun(ws: Workspace, req: TrainRequest): Promise<{ runId: string; runDir: string; run: RunOptionsFile }> {
  const entry = modelEntry(req.model);
  const given = { ...(req.options ?? {}) };
  const direction = req.direction ?? 'AtoB';
  // Size and channels follow the dataset unless given.
  const probeOpts = { ...resolveOptions(entry.kind, given), size: given.size ?? null, channels: given.channels ?? null };
  const probe = await openSource(ws, { model: entry.kind, datasetId: req.datasetId, options: probeOpts, direction });
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
  try {
    createModel(entry.kind, options).dispose(); // fail now (not inside the job) on options the networks refuse
  } catch (e) {
    if (e instanceof StudioError) throw e;
    throw new StudioError('BAD_INPUT', `Cannot build ${entry.kind} with these options: ${e instanceof Error ? e.message : String(e)}.`, {
      hint: 'Image sizes must be powers of two (16, 32, 64, 128, 256); see train.options for the ranges.',
    });
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

function meanOfTail(log: LogEntry[]): Record<string, number> {
  const tail = log.slice(-Math.max(1, Math.ceil(log.length / 10)));
  const out: Record<string, number> = {};
  for (const e of tail) for (const [k, v] of Object.entries(e.losses)) out[k] = (out[k] ?? 0) + v / tail.length;
  return out;
}

/** Build the model and load a checkpoint into it (the newest, or a given step). */
export async function modelFromCheckpoint(runDir: string, step?: number): Promise<{ model: BaseModel; run: RunOptionsFile; step: number; epoch: number; cursor: unknown }> {
  const run = await readRunOptions(runDir);
  const all = await listCheckpoints(runDir);
  const c = step === undefined ? all[all.length - 1] : all.find((x) => x.step === step);
  if (!c) throw new StudioError('NOT_FOUND', `Run ${run.runId} has no checkpoint${step === undefined ? '' : ` at step ${step}`}.`, { hint: 'Checkpoints are written every checkpointEvery steps and at the end.' });
  const data = await readCheckpoint(c.dir);
  const model = createModel(run.model, run.options);
  model.totalSteps = run.totalSteps;
  await model.setState(data.state);
  return { model, run, step: data.step, epoch: data.epoch, cursor: data.cursor };
}

/** Bundle id for a run (and step). */
export function bundleIdFor(run: RunOptionsFile, step?: number): string {
  return safeId(step === undefined ? run.runId : `${run.runId}-step-${step}`);
}

async function bundleFrom(ws: Workspace, runDir: string, run: RunOptionsFile, model: BaseModel, bundleId: string, extra: { durationSec: number; stepsPerSec: number; backend: string; numClasses?: number }) {
  const log = await readLog(runDir, model.step);
  return writeBundle(ws.bundles, bundleId, model, {
    name: run.name,
    direction: run.direction,
    ...(run.classNames ? { classNames: run.classNames } : {}),
    training: {
      runId: run.runId,
      datasetId: run.datasetId,
      steps: model.step,
      epochs: (model.step * (run.options.batchSize as number)) / Math.max(1, run.itemsPerEpoch),
      durationSec: extra.durationSec,
      stepsPerSec: extra.stepsPerSec,
      backend: extra.backend,
      finalLosses: log[log.length - 1]?.losses ?? {},
      meanLosses: meanOfTail(log),
    },
  });
}

/** Change a run's total steps (continue training past the original end). */
export async function setRunTotalSteps(runDir: string, totalSteps: number): Promise<RunOptionsFile> {
  const run = await readRunOptions(runDir);
  if (run.totalSteps === totalSteps) return run;
  const next = { ...run, totalSteps };
  await writeJsonAtomic(path.join(runDir, 'options.json'), next);
  return next;
}

/** Make a bundle from a run's checkpoint (newest by default). */
export async function promoteRun(ws: Workspace, runId: string, opts: { step?: number; bundleId?: string } = {}): Promise<{ bundleId: string; dir: string }> {
  const runDir = runDirOf(ws, runId);
  const { model, run, step } = await modelFromCheckpoint(runDir, opts.step);
  try {
    const status = await readRunStatus(runDir);
    const id = opts.bundleId ? safeId(opts.bundleId) : bundleIdFor(run, step === run.totalSteps ? undefined : step);
    const b = await bundleFrom(ws, runDir, run, model, id, { durationSec: 0, stepsPerSec: status?.stepsPerSec ?? 0, backend: status?.backend ?? tf.getBackend() });
    return { bundleId: id, dir: b.dir };
  } finally {
    model.dispose();
  }
}

/**
 * Run (or continue) training until totalSteps, a cancel, or hooks.stopAtStep. Always leaves a
 * checkpoint of the last step it completed (unless it failed).
 */
export async function trainRun(ws: Workspace, runDir: string, hooks: TrainHooks = {}): Promise<TrainSummary> {
  const backend = (await initBackendForTraining()) as string;
  const run = await readRunOptions(runDir);
  await sweepTemp(checkpointsDir(runDir));
  const src = await openSource(ws, run);
  const model = createModel(run.model, run.options);
  model.totalSteps = run.totalSteps;
  let resumedFrom: number | null = null;
  let lastCkpt: number | null = null;
  try {
    // Newest checkpoint first; one that does not load (damaged disk) falls back to the previous.
    const ckpts = await listCheckpoints(runDir);
    let lastErr: unknown = null;
    for (const c of ckpts.reverse()) {
      try {
        const data = await readCheckpoint(c.dir);
        await model.setState(data.state);
        await src.restore(data.cursor);
        resumedFrom = data.step;
        lastCkpt = data.step;
        break;
      } catch (e) {
        lastErr = e;
      }
    }
    if (ckpts.length && resumedFrom === null) {
      throw new StudioError('BAD_INPUT', `No checkpoint of run ${run.runId} could be loaded: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}.`, {
        hint: 'Delete the damaged checkpoints/step-* folders to start over, or start a new run.',
      });
    }
  } catch (e) {
    model.dispose();
    src.close?.();
    throw e;
  }
  // The log keeps what the checkpoint covers; steps after it are redone.
  const kept = await readLog(runDir, resumedFrom ?? 0);
  await writeFileAtomic(path.join(runDir, 'log.jsonl'), kept.map((e) => JSON.stringify(e)).join('\n') + (kept.length ? '\n' : ''));
  const logFd = fs.openSync(path.join(runDir, 'log.jsonl'), 'a');

  const batch = run.options.batchSize as number;
  const epochOf = (step: number) => Math.floor((step * batch) / Math.max(1, run.itemsPerEpoch));
  const t0 = performance.now();
  const startStep = model.step;
  const prev = await readRunStatus(runDir);
  let lastLosses: Record<string, number> = kept[kept.length - 1]?.losses ?? {};
  let lastProgress = 0;
  let emaMs = 0;
  let state: RunState = 'running';
  const writeStatus = (extra: Partial<RunStatus> = {}) =>
    writeJsonAtomic(path.join(runDir, 'status.json'), {
      state,
      step: model.step,
      totalSteps: run.totalSteps,
      epoch: epochOf(model.step),
      updatedAt: Date.now(),
      lastLosses,
      stepsPerSec: emaMs ? 1000 / emaMs : undefined,
      backend,
      ...extra,
    } satisfies RunStatus);

  const checkpointNow = async () => {
    if (lastCkpt === model.step) return;
    fs.fsyncSync(logFd);
    const state0 = await model.getState();
    await writeCheckpoint(
      runDir,
      {
        step: model.step,
        epoch: epochOf(model.step),
        schedule: { policy: run.options.lrPolicy as string, lr: model.learningRate(), totalSteps: run.totalSteps },
        cursor: src.state(),
        state: state0,
      },
      run.keepCheckpoints,
    );
    lastCkpt = model.step;
    await renderTimelineFrame();
    await writeStatus();
  };

  // A fixed preview batch (up to 4 items, its own seed: the training stream is untouched), so
  // sample grids show the same inputs over the run. Models that only generate sample from fixed
  // noise instead.
  const caps = capabilitiesFor(run.model, run.options);
  let preview: Batch | null = null;
  if (takesImages(caps)) {
    const n = Math.max(1, Math.min(4, run.itemsPerEpoch));
    const ps = await openSource(ws, { ...run, options: { ...run.options, batchSize: n, seed: (run.options.seed as number) + 1 } });
    preview = await ps.next();
    ps.close?.();
  }
  // The checkpoint timeline's pinned set (timeline.ts) and the real-image reference that the
  // logged sample diversity and the timeline flags compare with. A dataset the pin cannot be
  // chosen from (too few items, unreadable) leaves the run without a timeline, not failed.
  let pinned: Awaited<ReturnType<typeof pinnedSet>> | null = null;
  try {
    pinned = await pinnedSet(ws, runDir, run);
  } catch (e) {
    console.warn(`run ${run.runId}: no checkpoint timeline (${e instanceof Error ? e.message : String(e)})`);
  }
  const reference: Reference | null = pinned?.file.reference ?? null;
  const renderTimelineFrame = async () => {
    if (!pinned) return;
    const v = pinned.batch ? model.visualsFor(pinned.batch) : model.visuals();
    try {
      await renderFrame(runDir, model.step, caps, v, pinned.file.reference, run.model);
    } finally {
      tf.dispose(Object.values(v));
    }
  };
  /** Diversity of the last sample grid (logged with the losses of that step). */
  let sampleDiversity: Record<string, number> | undefined;
  const sampleNow = async () => {
    const v = preview ? model.visualsFor(preview) : model.visuals();
    try {
      if (reference) {
        const st = sampleStats(caps, v, reference);
        sampleDiversity = Object.fromEntries(Object.entries(st.diversity).filter(([, x]) => Number.isFinite(x)).map(([k, x]) => [k, Math.round(x * 1e4) / 1e4]));
      }
      const g = await visualsToPng(v);
      const png = await stampSamples(g, { runId: run.runId, kind: run.model, step: model.step });
      await writeFileAtomic(path.join(runDir, 'samples', `step-${model.step}.png`), png);
      const rows = g.rows.map((r) => {
        const m = /^class_(\d+)$/.exec(r);
        return m && run.classNames?.[Number(m[1])] ? run.classNames[Number(m[1])]! : r;
      });
      hooks.sample?.({ step: model.step, png, width: g.width, height: g.height, caption: rows.join(' | ') });
    } finally {
      tf.dispose(Object.values(v));
    }
  };

  let bundle: { id: string; dir: string } | null = null;
  try {
    await writeStatus();
    hooks.progress?.({ step: model.step, total: run.totalSteps, epoch: epochOf(model.step), message: resumedFrom === 0 && run.origin ? run.origin.note : resumedFrom !== null ? `resumed at step ${resumedFrom}` : 'started' });
    while (model.step < run.totalSteps) {
      if (hooks.stopAtStep !== undefined && model.step >= hooks.stopAtStep) throw new StudioError('CANCELLED', 'stopped');
      await hooks.checkpoint?.();
      const ts = performance.now();
      model.setInput(await src.next());
      const lr = model.learningRate();
      const losses = model.trainStep();
      for (const [k, v] of Object.entries(losses)) {
        if (!Number.isFinite(v)) throw new StudioError('BAD_INPUT', `Training diverged at step ${model.step}: loss ${k} is ${v}.`, { hint: 'Lower the learning rate, or resume from an earlier checkpoint.' });
      }
      const ms = performance.now() - ts;
      emaMs = emaMs ? 0.8 * emaMs + 0.2 * ms : ms;
      lastLosses = losses;
      const step = model.step;
      const epoch = epochOf(step);
      // Sample first, so the log line of a sample step carries the samples' diversity.
      sampleDiversity = undefined;
      if (step % run.sampleEvery === 0 || step === run.totalSteps) await sampleNow();
      const diversity = sampleDiversity as Record<string, number> | undefined;
      fs.writeSync(logFd, JSON.stringify({ step, epoch, lr, t: Date.now(), losses, ...(diversity ? { diversity } : {}) } satisfies LogEntry) + '\n');
      const now = performance.now();
      if (now - lastProgress > 250 || step === run.totalSteps || diversity) {
        lastProgress = now;
        const dv = diversity ? Object.values(diversity) : [];
        hooks.progress?.({
          step,
          total: run.totalSteps,
          epoch,
          losses,
          metrics: { lr, msPerStep: ms, ...(dv.length ? { diversityMin: Math.min(...dv) } : {}) },
          stepsPerSec: 1000 / emaMs,
          etaSec: ((run.totalSteps - step) * emaMs) / 1000,
        });
      }
      if (step % run.checkpointEvery === 0 || step === run.totalSteps) await checkpointNow();
    }
    state = 'done';
    const already = startStep === model.step && prev?.bundleId && (await exists(path.join(ws.bundles, prev.bundleId, 'bundle.json')));
    if (already) bundle = { id: prev!.bundleId!, dir: path.join(ws.bundles, prev!.bundleId!) };
    else if (run.bundle) {
      const id = bundleIdFor(run);
      const b = await bundleFrom(ws, runDir, run, model, id, { durationSec: (performance.now() - t0) / 1000, stepsPerSec: emaMs ? 1000 / emaMs : 0, backend });
      bundle = { id, dir: b.dir };
    }
    await writeStatus(bundle ? { bundleId: bundle.id } : {});
  } catch (e) {
    const cancelled = e instanceof StudioError && e.code === 'CANCELLED';
    state = cancelled ? 'cancelled' : 'failed';
    try {
      if (cancelled) await checkpointNow();
      await writeStatus(cancelled ? {} : { error: e instanceof Error ? e.message : String(e) });
    } catch {
      // keep the original error
    }
    if (!(cancelled && hooks.stopAtStep !== undefined)) {
      disposeBatch(preview);
      disposeBatch(pinned?.batch);
      fs.closeSync(logFd);
      model.dispose();
      src.close?.();
      throw e;
    }
  }
  fs.closeSync(logFd);
  const log = await readLog(runDir);
  const durationSec = (performance.now() - t0) / 1000;
  const done = model.step - startStep;
  const summary: TrainSummary = {
    runId: run.runId,
    runDir,
    model: run.model,
    state,
    step: model.step,
    totalSteps: run.totalSteps,
    epoch: epochOf(model.step),
    resumedFrom,
    durationSec,
    stepsPerSec: done ? done / durationSec : 0,
    msPerStep: emaMs,
    finalLosses: lastLosses,
    meanLosses: meanOfTail(log),
    checkpoint: lastCkpt,
    bundleId: bundle?.id ?? null,
    bundleDir: bundle?.dir ?? null,
    backend,
  };
  disposeBatch(preview);
  disposeBatch(pinned?.batch);
  model.dispose();
  src.close?.();
  return summary;
}

async function initBackendForTraining(): Promise<string> {
  const info = await initBackend();
  return info.backend;
}
