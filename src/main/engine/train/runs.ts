/** Runs of the workspace: list, detail, delete (the run.* channels). */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { RunDetail, RunState, RunSummary, RunTimeline } from '../../../shared/channels/train';
import { StudioError } from '../../../shared/errors';
import type { Workspace } from '../core/workspace';
import { readdirOrEmpty } from '../core/fsutil';
import { listCheckpoints } from './checkpoint';
import { readTimeline } from './timeline';
import { readLog, readRunOptions, readRunStatus, runDirOf, type RunOptionsFile } from './run-files';

export type ActiveJobs = Map<string, string>; // runId -> jobId

async function summaryOf(runDir: string, run: RunOptionsFile, active: ActiveJobs): Promise<RunSummary> {
  const st = await readRunStatus(runDir);
  const jobId = active.get(run.runId);
  let state: RunState = st?.state ?? 'created';
  if (state === 'running' && !jobId) state = 'interrupted';
  return {
    runId: run.runId,
    name: run.name,
    model: run.model,
    datasetId: run.datasetId,
    state,
    step: st?.step ?? 0,
    totalSteps: run.totalSteps,
    epoch: st?.epoch ?? 0,
    createdAt: run.createdAt,
    updatedAt: st?.updatedAt ?? Date.parse(run.createdAt),
    ...(st?.lastLosses ? { lastLosses: st.lastLosses } : {}),
    ...(st?.stepsPerSec ? { stepsPerSec: st.stepsPerSec } : {}),
    ...(st?.bundleId ? { bundleId: st.bundleId } : {}),
    ...(st?.error ? { error: st.error } : {}),
    ...(jobId ? { jobId } : {}),
  };
}

export async function listRuns(ws: Workspace, active: ActiveJobs): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  for (const n of await readdirOrEmpty(ws.runs)) {
    if (n.startsWith('.')) continue;
    const dir = path.join(ws.runs, n);
    try {
      out.push(await summaryOf(dir, await readRunOptions(dir), active));
    } catch {
      // not a run folder
    }
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
}

export async function getRun(ws: Workspace, runId: string, active: ActiveJobs, opts: { logFrom?: number; logLimit?: number; sampleStep?: number } = {}): Promise<RunDetail> {
  const dir = runDirOf(ws, runId);
  const run = await readRunOptions(dir);
  let log = (await readLog(dir)).filter((e) => e.step >= (opts.logFrom ?? 0));
  const limit = opts.logLimit ?? 5000;
  if (log.length > limit) {
    const stride = log.length / limit;
    log = Array.from({ length: limit }, (_, i) => log[Math.min(log.length - 1, Math.floor(i * stride))]!).concat(log.length ? [log[log.length - 1]!] : []);
  }
  const sdir = path.join(dir, 'samples');
  const samples = (fs.existsSync(sdir) ? await fsp.readdir(sdir) : [])
    .map((f) => /^step-(\d+)\.png$/.exec(f))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const pick = opts.sampleStep ?? samples[samples.length - 1];
  let latestSample: RunDetail['latestSample'] = null;
  if (pick !== undefined && samples.includes(pick)) latestSample = { step: pick, png: new Uint8Array(await fsp.readFile(path.join(sdir, `step-${pick}.png`))) };
  const checkpoints = (await listCheckpoints(dir)).map((c) => ({ step: c.step, createdAt: c.createdAt, bytes: c.bytes }));
  return { summary: await summaryOf(dir, run, active), options: run as unknown as Record<string, unknown>, log, latestSample, samples, checkpoints };
}

export async function deleteRun(ws: Workspace, runId: string, active: ActiveJobs): Promise<{ deleted: boolean }> {
  const dir = runDirOf(ws, runId);
  if (active.has(runId)) throw new StudioError('CONFLICT', `Run ${runId} is training now.`, { hint: 'Cancel its job first.' });
  if (!fs.existsSync(path.join(dir, 'options.json'))) throw new StudioError('NOT_FOUND', `No run ${runId}.`);
  await fsp.rm(dir, { recursive: true, force: true });
  return { deleted: true };
}

/** run.timeline: the pinned sample set rendered at every checkpoint (timeline.ts), flagged. */
export async function getTimeline(ws: Workspace, runId: string): Promise<RunTimeline> {
  const dir = runDirOf(ws, runId);
  await readRunOptions(dir); // NOT_FOUND for an unknown run
  const kept = new Set((await listCheckpoints(dir)).map((c) => c.step));
  const t = await readTimeline(dir, kept);
  return { runId, pin: t.pinned?.pin ?? null, indices: t.pinned?.indices ?? [], frames: t.frames };
}
