/** Handlers of the train.* and run.* channels. Training runs as a job ('train'). */
import { QUEUE } from '../host/jobs';
import { handlers, type EngineContext } from '../host/context';
import { StudioError } from '../../../shared/errors';
import { MODELS, capabilitiesFor, createModel, hasModel, modelKinds } from '../models/registry';
import type { TrainModelInfo } from '../../../shared/channels/train';
import { readRunOptions, runDirOf, setRunTotalSteps } from '../train/run-files';
import { createRun, type TrainRequest } from '../train/run-create';
import { promoteRun } from '../train/run-promote';
import { estimateRun } from '../train/run-estimate';
import { trainRun } from '../train/run';
import { deleteRun, getRun, getTimeline, listRuns, type ActiveJobs } from '../train/runs';
import { initBackend, tf } from '../backend';

/** runId -> jobId of the training jobs running in this engine. */
const active: ActiveJobs = new Map();
/** Per kind (a kind registered later, e.g. by a test, joins on the next call). */
const modelInfoCache = new Map<string, TrainModelInfo>();

function modelInfos(): TrainModelInfo[] {
  return modelKinds().map((kind) => {
    const cached = modelInfoCache.get(kind);
    if (cached) return cached;
    const e = MODELS[kind]!;
    // Names come from a tiny instance (built once, disposed).
    const tiny: Record<string, unknown> = { size: 16, ngf: 2, ndf: 2, blocks: 0, nz: 2, latent: 2 };
    const keys = new Set(e.options.map((o) => o.key));
    const m = createModel(kind, Object.fromEntries(Object.entries(tiny).filter(([k]) => keys.has(k))));
    const info: TrainModelInfo = {
      kind,
      title: e.title,
      description: e.description,
      data: e.data,
      lossNames: [...m.lossNames],
      visualNames: [...m.visualNames],
      networkNames: [...m.networkNames],
      options: e.options.map((o) => ({ ...o })),
      // With the default options: what the page needs before training (e.g. one-way translators pick a direction).
      capabilities: capabilitiesFor(kind, {}),
    };
    m.dispose();
    modelInfoCache.set(kind, info);
    return info;
  });
}

/** The contract takes any kind name; the registry decides which exist (as the enum used to). */
function assertKnown(kind: string | undefined): void {
  if (kind !== undefined && !hasModel(kind)) throw new StudioError('VALIDATION', `model: unknown model "${kind}"; use one of: ${modelKinds().join(', ')}.`);
}

function assertIdle(runId: string): void {
  if (active.has(runId)) throw new StudioError('CONFLICT', `Run ${runId} is already training (job ${active.get(runId)}).`);
}

function startJob(ctx: EngineContext, runId: string, runDir: string, title: string, total: number): { jobId: string; runId: string } {
  assertIdle(runId);
  const job = ctx.jobs.start(
    'train',
    title,
    async (j) => {
      j.setRunId(runId);
      try {
        return await trainRun(ctx.workspace, runDir, { checkpoint: () => j.checkpoint(), progress: (p) => j.progress(p), sample: (s) => j.sample(s) });
      } finally {
        active.delete(runId);
      }
    },
    { total, queue: QUEUE, onSettled: () => active.delete(runId) },
  );
  active.set(runId, job.id);
  return { jobId: job.id, runId };
}

export const trainHandlers = handlers({
  'train.options': async (req) => {
    assertKnown(req.model);
    await tf.ready();
    const all = modelInfos();
    return req.model ? all.filter((m) => m.kind === req.model) : all;
  },
  'train.start': async (req, ctx) => {
    // Training has its own engine host (client.ts), whose first request this can be: the backend
    // it warms at start may not be ready yet, and createRun builds the model.
    assertKnown(req.model);
    await initBackend();
    const { runId, runDir, run } = await createRun(ctx.workspace, req as TrainRequest);
    return startJob(ctx, runId, runDir, `Train ${run.model} on ${run.datasetId}`, run.totalSteps);
  },
  'train.estimate': async (req, ctx) => {
    assertKnown(req.model);
    // Answered by the primary host (never behind a training step); both hosts choose the backend alike.
    return estimateRun(ctx.workspace, req, await initBackend());
  },
  'train.resume': async (req, ctx) => {
    await initBackend();
    const runDir = runDirOf(ctx.workspace, req.runId);
    assertIdle(req.runId); // before setRunTotalSteps rewrites the options of a running run
    const run = req.totalSteps ? await setRunTotalSteps(runDir, req.totalSteps) : await readRunOptions(runDir);
    return startJob(ctx, run.runId, runDir, `Resume ${run.model} on ${run.datasetId}`, run.totalSteps);
  },
  'train.pause': (req, ctx) => {
    const j = ctx.jobs.get(req.jobId);
    if (!j) throw new StudioError('NOT_FOUND', `No job with id ${req.jobId}.`);
    if (j.kind !== 'train') throw new StudioError('CONFLICT', `Job ${req.jobId} is not a training job.`);
    return ctx.jobs.pause(req.jobId, req.paused);
  },
  'run.list': (_req, ctx) => listRuns(ctx.workspace, active),
  'run.get': (req, ctx) => getRun(ctx.workspace, req.runId, active, req),
  'run.timeline': (req, ctx) => getTimeline(ctx.workspace, req.runId),
  'run.delete': (req, ctx) => deleteRun(ctx.workspace, req.runId, active),
  'run.promote': (req, ctx) => promoteRun(ctx.workspace, req.runId, { ...(req.step !== undefined ? { step: req.step } : {}), ...(req.bundleId ? { bundleId: req.bundleId } : {}) }),
});
