/**
 * Bundles from a run's checkpoints: rebuild the model at a checkpoint, and write it as a bundle
 * with the run's training summary (at the end of training, or promote any kept checkpoint).
 */
import { tf } from '../backend';
import { StudioError } from '../../../shared/errors';
import { type Workspace, safeId } from '../core/workspace';
import type { BaseModel } from '../models/base';
import { createModel } from '../models/registry';
import { writeBundle } from './bundle';
import { listCheckpoints, readCheckpoint } from './checkpoint';
import { meanOfTail, readLog, readRunOptions, readRunStatus, runDirOf, type RunOptionsFile } from './run-files';

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

/** Write a run's model as a bundle with the run's training summary. */
export async function bundleFrom(ws: Workspace, runDir: string, run: RunOptionsFile, model: BaseModel, bundleId: string, extra: { durationSec: number; stepsPerSec: number; backend: string; numClasses?: number }) {
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
