/**
 * The files of a training run. A run lives in <workspace>/runs/<id>/:
 *   options.json   the resolved request (model, dataset, every model option with its default,
 *                  total steps, sample/checkpoint cadence)
 *   status.json    state, step, epoch, last losses, bundle id (atomic writes)
 *   log.jsonl      one line per step: {step, epoch, lr, t, losses}
 *   samples/step-N.png
 *   checkpoints/step-N/   (see checkpoint.ts), the last K kept
 *   timeline/      the checkpoint timeline (timeline.ts)
 * Creating a run: run-create.ts; the training loop: run.ts; bundles from checkpoints: run-promote.ts.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { RunLogEntry, RunState, RunSummary, TimelinePin } from '../../../shared/channels/train';
import { StudioError } from '../../../shared/errors';
import { exists, readJson, writeJsonAtomic } from '../core/fsutil';
import { type Workspace, insideDir } from '../core/workspace';
import type { ModelKind } from '../models/base';

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

/**
 * The state status.json holds: the contract's RunState less 'interrupted', which run.list derives
 * (runs.ts) for a run whose file says 'running' while no job trains it.
 */
export type StoredRunState = Exclude<RunState, 'interrupted'>;

/** status.json: the contract's run summary fields the loop keeps current, and the backend it trains on. */
export interface RunStatus extends Pick<RunSummary, 'step' | 'totalSteps' | 'epoch' | 'updatedAt' | 'lastLosses' | 'stepsPerSec' | 'bundleId' | 'error'> {
  state: StoredRunState;
  backend?: string;
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

export async function readLog(runDir: string, maxStep = Infinity): Promise<RunLogEntry[]> {
  let text = '';
  try {
    text = await fsp.readFile(path.join(runDir, 'log.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: RunLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as RunLogEntry;
      if (e.step <= maxStep) out.push(e);
    } catch {
      // a line cut by a kill
    }
  }
  return out;
}

/** Change a run's total steps (continue training past the original end). */
export async function setRunTotalSteps(runDir: string, totalSteps: number): Promise<RunOptionsFile> {
  const run = await readRunOptions(runDir);
  if (run.totalSteps === totalSteps) return run;
  const next = { ...run, totalSteps };
  await writeJsonAtomic(path.join(runDir, 'options.json'), next);
  return next;
}

/** Mean of each loss over the last tenth of the log (a bundle's and a summary's meanLosses). */
export function meanOfTail(log: RunLogEntry[]): Record<string, number> {
  const tail = log.slice(-Math.max(1, Math.ceil(log.length / 10)));
  const out: Record<string, number> = {};
  for (const e of tail) for (const [k, v] of Object.entries(e.losses)) out[k] = (out[k] ?? 0) + v / tail.length;
  return out;
}
