/**
 * Run scoreboard: every checkpoint of a training run measured on a held-out slice of the run's
 * dataset (test split) with the metrics of its model kind (eval.run's metrics), cached per
 * checkpoint step in runs/<id>/scores.json. `run.scoreboard` is a job (the Scoreboard arrives in
 * job.done); `run.scores` answers the cached rows at once without evaluating anything.
 * `alarm` flags a CycleGAN whose outputs look collapsed or colour-inverted, and any run whose
 * fixed samples lost their diversity (mode collapse, from the diversity logged with the losses).
 */
import { z } from 'zod';
import { channel } from '../define';
import { runId } from './train';
import type { EvalMetric } from './eval';

export interface ScoreKey {
  /** Metric key (EvalMetric.key) that ranks the checkpoints. */
  name: string;
  value: number;
  higherIsBetter: boolean;
}

export interface ScoreboardRow {
  step: number;
  metrics: EvalMetric[];
  key: ScoreKey;
  /** Mean over pixels of the variance across inputs of the generated outputs ([0, 1] scale); translating models only. */
  outputVariance?: number;
  /** Lowest per-row diversity of the fixed samples logged at or before this step (ratio to real images'; see run.timeline). */
  diversity?: number;
  /** Training losses logged at this step (mean of the log entries near it). */
  losses?: Record<string, number>;
  evaluatedAt: number;
}

export interface ScoreAlarm {
  kind: 'collapse';
  /** Checkpoint the alarm is about (the newest). */
  step: number;
  message: string;
  hint: string;
}

export interface Scoreboard {
  runId: string;
  model: string;
  datasetId: string;
  split: 'test';
  /** Held-out images per split/domain. */
  limit: number;
  rows: ScoreboardRow[];
  bestStep: number | null;
  alarm: ScoreAlarm | null;
  /** Rows taken from scores.json / evaluated by this call. */
  cached: number;
  evaluated: number;
}

export const SCOREBOARD_DEFAULT_LIMIT = 64;

export const scoreboardChannels = {
  'run.scoreboard': channel<{ jobId: string }>()(
    z.object({ runId, limit: z.number().int().min(2).max(10_000).optional() }).strict(),
    'Evaluate every checkpoint of a run on a held-out slice of its dataset test split (a job; the Scoreboard arrives in job.done). Cached per step in runs/<id>/scores.json.',
    ['NOT_FOUND', 'BAD_INPUT', 'CONFLICT'],
  ),
  'run.scores': channel<Scoreboard>()(
    z.object({ runId, limit: z.number().int().min(2).max(10_000).optional() }).strict(),
    'The cached scoreboard of a run (checkpoints already evaluated), without evaluating.',
    ['NOT_FOUND'],
  ),
} as const;
