/**
 * Which engine host answers a request. `EngineClient` runs two hosts with the same spawner: the
 * primary (everything) and, from the first training request on, a trainer (training only), so a
 * training step (synchronous wasm, 0.1-3 s) never delays a slider render or a page load.
 *
 * The design, and why it is correct without sharing memory between the hosts:
 * - `train.start` / `train.resume` always go to the trainer, so every training job of the session
 *   lives there and the trainer's `active` map (handlers/train.ts: runId -> jobId) is the whole
 *   truth about which runs are training. Its CONFLICT checks (resume of a run already training)
 *   therefore stay right.
 * - Channels that carry a jobId (`job.cancel`, `train.pause`) go to the host whose `job.started`
 *   event announced that id; unknown ids go to the primary (which answers NOT_FOUND).
 * - Heavy jobs of both hosts wait in ONE queue the client keeps (queue.ts): `job.move` is answered
 *   by the client, and the hosts start a queued job only when the client grants it.
 * - `job.list` merges both hosts' lists (plus the trainer's ended jobs the client remembers, so
 *   they survive a trainer crash or idle shutdown).
 * - Run state on disk is shared (the workspace). The only in-memory fact the primary lacks is
 *   "this run is training now": its `active` map is always empty, so it reports a run whose status
 *   file says `running` as `interrupted` and without a jobId. The client knows the trainer's runs
 *   (from the {jobId, runId} answers of train.start/resume, dropped on job.done/failed), so it
 *   answers `run.list` / `run.get` on the primary (fast, never behind a training step) and puts
 *   those two facts back (`patchRunSummary`): exactly what the trainer itself would have said.
 *   `run.delete` of a training run goes to the trainer, whose `active` check refuses it.
 * - `app.stats` describes the primary (rss, tensors...) with `runningJobs` counting both hosts,
 *   and adds a `trainer` sub-object when the trainer host is up.
 * - `train.estimate` (the GPU memory check before Start) goes to the trainer while it is up: its
 *   backend is the one the Start will use (after a device loss it has left webgpu for wasm; the
 *   primary has not); without a trainer the primary answers, as a new trainer would choose alike.
 * - Everything else (datasets, bundles, inference, latent, analysis, export, eval, doctor) is
 *   stateless across hosts or reads the workspace, and goes to the primary.
 */
import type { JobInfo } from '../../../shared/channels/job';
import type { RunDetail, RunSummary } from '../../../shared/channels/train';

export type HostRole = 'primary' | 'trainer';

/** Channels whose request starts a training job: always answered by the trainer host. */
export const TRAINING_CHANNELS: ReadonlySet<string> = new Set(['train.start', 'train.resume']);

/** Channels addressed to one job by `jobId`: answered by the host that owns the job. */
export const JOB_CHANNELS: ReadonlySet<string> = new Set(['job.cancel', 'train.pause']);

export function jobIdOf(payload: unknown): string | undefined {
  const id = payload && typeof payload === 'object' ? (payload as { jobId?: unknown }).jobId : undefined;
  return typeof id === 'string' ? id : undefined;
}

export function runIdOf(payload: unknown): string | undefined {
  const id = payload && typeof payload === 'object' ? (payload as { runId?: unknown }).runId : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** A run summary from the primary, corrected for a run the trainer host is training now. */
export function patchRunSummary(s: RunSummary, trainerRuns: ReadonlyMap<string, string>): RunSummary {
  const jobId = trainerRuns.get(s.runId);
  if (!jobId) return s;
  // The primary says `interrupted` only when the status file says `running` and it has no job.
  return { ...s, jobId, state: s.state === 'interrupted' ? 'running' : s.state };
}

export function patchRunList(list: unknown, trainerRuns: ReadonlyMap<string, string>): unknown {
  if (!trainerRuns.size || !Array.isArray(list)) return list;
  return (list as RunSummary[]).map((s) => patchRunSummary(s, trainerRuns));
}

export function patchRunDetail(detail: unknown, trainerRuns: ReadonlyMap<string, string>): unknown {
  const d = detail as RunDetail | undefined;
  if (!trainerRuns.size || !d || typeof d !== 'object' || !d.summary) return detail;
  return { ...d, summary: patchRunSummary(d.summary, trainerRuns) };
}

/** One job list from several sources, first source wins for an id, newest first. */
export function mergeJobLists(...lists: JobInfo[][]): JobInfo[] {
  const byId = new Map<string, JobInfo>();
  for (const list of lists) for (const j of list) if (!byId.has(j.id)) byId.set(j.id, j);
  return [...byId.values()].sort((a, b) => b.startedAt - a.startedAt);
}
