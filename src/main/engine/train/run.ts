/**
 * The training loop of a run (its files: run-files.ts; creating one: run-create.ts; bundles from
 * its checkpoints: run-promote.ts).
 * trainRun() starts a run or continues it from its latest checkpoint: weights, optimizer state,
 * step (= LR schedule position), RNG state, image pool and data cursor all come back, so the
 * losses after a resume equal those of an uninterrupted run.
 */
import type { RunLogEntry, TrainSummaryInfo } from '../../../shared/channels/train';
import fs from 'node:fs';
import path from 'node:path';
import { tf, initBackend } from '../backend';
import { onHost } from '../gpu/host-read';
import { gpuFailure, leaveGpu, throwIfGpuFault } from '../gpu/failover';
import { assertFitsBackend } from '../gpu/memory';
import { exists, writeFileAtomic, writeJsonAtomic } from '../core/fsutil';
import { stampSamples } from '../infer/provenance';
import type { Workspace } from '../core/workspace';
import { StudioError } from '../../../shared/errors';
import type { JobProgress, JobSample } from '../../../shared/events';
import { capabilitiesFor, createModel } from '../models/registry';
import { takesImages } from '../../../shared/capabilities';
import { disposeBatch, type Batch } from '../models/base';
import { listCheckpoints, readCheckpoint, writeCheckpoint, checkpointsDir } from './checkpoint';
import { visualsToPng } from './grid';
import { sweepTemp } from '../core/fsutil';
import { pinnedSet, renderFrame, sampleStats, type Reference } from './timeline';
import { openRunSource } from './run-create';
import { bundleFrom, bundleIdFor } from './run-promote';
import { meanOfTail, readLog, readRunOptions, readRunStatus, type RunStatus, type StoredRunState } from './run-files';

/** The contract's summary of a finished run, with the narrower state a status file holds. */
export interface TrainSummary extends TrainSummaryInfo {
  state: StoredRunState;
}

export interface TrainHooks {
  /** Pause / cancel point between steps (JobContext.checkpoint). */
  checkpoint?: () => Promise<void>;
  progress?: (p: Omit<JobProgress, 'jobId'>) => void;
  sample?: (s: Omit<JobSample, 'jobId'>) => void;
  /** Stop (as if cancelled) once this many steps are done: tests and `--steps` slices. */
  stopAtStep?: number;
}

/**
 * Run (or continue) training until totalSteps, a cancel, or hooks.stopAtStep. Always leaves a
 * checkpoint of the last step it completed (unless it failed).
 */
export async function trainRun(ws: Workspace, runDir: string, hooks: TrainHooks = {}): Promise<TrainSummary> {
  const info = await initBackend();
  const backend = info.backend as string;
  const run = await readRunOptions(runDir);
  await sweepTemp(checkpointsDir(runDir));
  const src = await openRunSource(ws, run);
  const model = createModel(run.model, run.options);
  model.totalSteps = run.totalSteps;
  // A run that cannot fit the GPU says so now, with a batch/size that fits (gpu/memory.ts). A new
  // run was checked before its folder was made (run-create.ts); this catches a resume on a smaller GPU.
  try {
    assertFitsBackend(info, model.networks, run.model, model.options.size, model.options.batchSize);
  } catch (e) {
    model.dispose();
    src.close?.();
    throw e;
  }
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
  let state: StoredRunState = 'running';
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
    const ps = await openRunSource(ws, { ...run, options: { ...run.options, batchSize: n, seed: (run.options.seed as number) + 1 } });
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
      // The timeline reads synchronously: on the host where the backend cannot (webgpu).
      await onHost(v, (h) => renderFrame(runDir, model.step, caps, h, pinned!.file.reference, run.model));
    } finally {
      tf.dispose(Object.values(v));
    }
  };
  /** Diversity of the last sample grid (logged with the losses of that step). */
  let sampleDiversity: Record<string, number> | undefined;
  const sampleNow = async () => {
    const v = preview ? model.visualsFor(preview) : model.visuals();
    try {
      // Sample statistics and the PNG read synchronously: on the host (webgpu cannot).
      await onHost(v, async (v) => {
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
      });
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
      const losses = await model.trainStepAsync();
      if (backend === 'webgpu') throwIfGpuFault();
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
      fs.writeSync(logFd, JSON.stringify({ step, epoch, lr, t: Date.now(), losses, ...(diversity ? { diversity } : {}) } satisfies RunLogEntry) + '\n');
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
  } catch (e0) {
    // A GPU that failed mid-run: a clear message, and the resume goes to the next backend (gpu/failover.ts).
    const gpuErr = backend === 'webgpu' ? gpuFailure(e0, model.step, lastCkpt) : null;
    const e = gpuErr ?? e0;
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
      try {
        model.dispose();
      } catch {
        // a lost device may refuse to free its buffers; leaving the GPU below drops them all
      }
      src.close?.();
      if (gpuErr) await leaveGpu(gpuErr);
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
