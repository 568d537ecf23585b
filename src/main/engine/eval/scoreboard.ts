/**
 * Run scoreboard: each checkpoint of a run -> a temporary bundle (the bundle writer, under
 * <workspace>/tmp) -> evaluateBundle on a held-out slice of the run's dataset test split.
 * Results are cached in runs/<id>/scores.json keyed by step (with the checkpoint's mtime, the
 * slice size and the seed: a change of any of them re-evaluates that step). The key metric of the
 * model's capabilities ranks the checkpoints; `scoreboardAlarm` flags translators whose output
 * collapsed or inverted (capabilities.metrics.alarm).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { SCOREBOARD_DEFAULT_LIMIT, type ScoreAlarm, type Scoreboard, type ScoreboardRow, type ScoreKey } from '../../../shared/channels/scoreboard';
import type { EvalMetric } from '../../../shared/channels/eval';
import type { RunLogEntry } from '../../../shared/channels/train';
import type { MetricsCapability, ModelCapabilities } from '../../../shared/capabilities';
import { capabilitiesFor } from '../models/registry';
import { StudioError } from '../../../shared/errors';
import { tf, initBackend } from '../backend';
import { loadDatasetMatrix } from '../analysis/dataset-source';
import { exists, readJson, writeJsonAtomic } from '../core/fsutil';
import { disposeBundle, loadBundle, translate, writeBundle } from '../train/bundle';
import { listCheckpoints } from '../train/checkpoint';
import { readLog, readRunOptions, runDirOf } from '../train/run-files';
import { modelFromCheckpoint } from '../train/run-promote';
import type { Workspace } from '../core/workspace';
import { evaluateBundle, toModelTensor, toRows, type EvalHooks } from './evaluate';
import { COLLAPSE_RATIO } from '../train/timeline';

const SEED = 0;
/** Below this transfer rate (either direction) a CycleGAN is not translating. */
export const TRANSFER_ALARM = 0.2;
/** Below this per-pixel variance across inputs ([0,1] scale) the outputs are one image. */
export const VARIANCE_ALARM = 1e-3;

/** The metric that ranks checkpoints: the key its capabilities name (one metric, or the mean of several). */
export function keyMetric(fit: MetricsCapability, metrics: EvalMetric[]): ScoreKey {
  const key = fit.key;
  const get = (k: string) => metrics.find((m) => m.key === k)?.value ?? NaN;
  const value = key.of ? key.of.reduce((s, k) => s + get(k), 0) / key.of.length : get(key.name);
  return { name: key.name, value, higherIsBetter: key.higherIsBetter };
}

/** Step of the best row by its key metric (NaN values never win); null when none is finite. */
export function bestStepOf(rows: Pick<ScoreboardRow, 'step' | 'key'>[]): number | null {
  let best: Pick<ScoreboardRow, 'step' | 'key'> | null = null;
  for (const r of rows) {
    if (!Number.isFinite(r.key.value)) continue;
    if (!best || (r.key.higherIsBetter ? r.key.value > best.key.value : r.key.value < best.key.value)) best = r;
  }
  return best ? best.step : null;
}

/** Sum of the generator-side losses (names not starting with D). */
export function generatorLoss(losses: Record<string, number> | undefined): number {
  if (!losses) return NaN;
  let s = 0;
  let n = 0;
  for (const [k, v] of Object.entries(losses)) {
    if (/^D/.test(k) || !Number.isFinite(v)) continue;
    s += v;
    n++;
  }
  return n ? s : NaN;
}

/**
 * CycleGAN collapse / inversion alarm on the newest checkpoint (rows sorted by step or not):
 *  - a transfer rate < 0.2 in either direction while the generator losses fell since the first
 *    checkpoint (the losses say it is learning; the classifier says it is not translating), or
 *  - outputs with almost no variance across inputs (one image for every input).
 */
export function scoreboardAlarm(caps: ModelCapabilities, rows: Pick<ScoreboardRow, 'step' | 'metrics' | 'outputVariance' | 'losses' | 'diversity'>[]): ScoreAlarm | null {
  if (!rows.length) return null;
  if (caps.metrics.alarm !== 'transfer-collapse') return diversityAlarm(caps, rows);
  const sorted = [...rows].sort((a, b) => a.step - b.step);
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const hint =
    'Try identity loss lambdaIdentity 0.5 (or higher) when starting the run: it keeps colours and tones of inputs already in the target domain; check that both domains really differ.';
  const rate = (k: string) => last.metrics.find((m) => m.key === k)?.value ?? NaN;
  const ab = rate('transferRate.AtoB');
  const ba = rate('transferRate.BtoA');
  if (last.outputVariance !== undefined && last.outputVariance < VARIANCE_ALARM) {
    return {
      kind: 'collapse',
      step: last.step,
      message: `Outputs look collapsed/inverted: at step ${last.step} the translations barely vary across inputs (variance ${last.outputVariance.toExponential(1)}).`,
      hint,
    };
  }
  const low = Math.min(ab, ba);
  const l0 = generatorLoss(first.losses);
  const l1 = generatorLoss(last.losses);
  if (sorted.length >= 2 && low < TRANSFER_ALARM && Number.isFinite(l0) && Number.isFinite(l1) && l1 < l0) {
    return {
      kind: 'collapse',
      step: last.step,
      message: `Outputs look collapsed/inverted: the domain-transfer rate is ${(100 * low).toFixed(0)}% (${ab < ba ? 'A->B' : 'B->A'}) at step ${last.step} while the losses fell from ${l0.toFixed(3)} to ${l1.toFixed(3)}.`,
      hint,
    };
  }
  return diversityAlarm(caps, rows);
}

/**
 * Any kind: the fixed samples logged nearest the newest checkpoint vary less than COLLAPSE_RATIO
 * of real images (per class for cgan; translators: of their inputs) - mode collapse - after
 * being above it at an earlier checkpoint, or at three checkpoints in a row.
 */
function diversityAlarm(caps: ModelCapabilities, rows: Pick<ScoreboardRow, 'step' | 'diversity'>[]): ScoreAlarm | null {
  const sorted = [...rows].sort((a, b) => a.step - b.step);
  const last = sorted[sorted.length - 1]!;
  if (last.diversity === undefined || !(last.diversity < COLLAPSE_RATIO)) return null;
  // An untrained generator draws one blob for every input: only diversity that fell, or that
  // stayed low over three checkpoints, is collapse.
  const fell = sorted.slice(0, -1).some((r) => r.diversity !== undefined && r.diversity >= COLLAPSE_RATIO);
  if (!fell && sorted.filter((r) => r.diversity !== undefined).length < 3) return null;
  const gan = caps.metrics.suite === 'generated';
  return {
    kind: 'collapse',
    step: last.step,
    message: `Outputs look collapsed: at step ${last.step} the fixed samples${caps.generate?.classes ? ' of some class' : ''} vary only ${(100 * last.diversity).toFixed(0)}% as much as ${gan ? 'real images' : 'their inputs'} (alarm below ${100 * COLLAPSE_RATIO}%).`,
    hint: gan
      ? 'Try minibatchStd class (the discriminator sees how alike the samples of one class are: it lifted every Fashion-MNIST class above 0.9 of the real variety), or the other anti-collapse options (loss hinge with spectralNorm, emaDecay, modeSeeking with modeSeekingStart), and compare with this run on the scoreboard; the checkpoint timeline shows when the collapse began.'
      : 'Check the checkpoint timeline for when it began and promote an earlier checkpoint; a lower learning rate or a stronger reconstruction loss keeps outputs tied to their inputs.',
  };
}

interface ScoresFile {
  format: 'atelier-scores';
  version: 1;
  entries: Record<string, ScoreboardRow & { checkpointAt: number; limit: number; seed: number }>;
}

const scoresPath = (runDir: string) => path.join(runDir, 'scores.json');

async function readScores(runDir: string): Promise<ScoresFile> {
  const p = scoresPath(runDir);
  if (await exists(p)) {
    try {
      const f = await readJson<ScoresFile>(p);
      if (f.format === 'atelier-scores' && f.entries) return f;
    } catch {
      // unreadable cache: evaluate again
    }
  }
  return { format: 'atelier-scores', version: 1, entries: {} };
}

/** Losses logged at (or just before) a step: mean of up to 5 entries ending there. */
function lossesAt(log: RunLogEntry[], step: number): Record<string, number> | undefined {
  const upto = log.filter((e) => e.step <= step).slice(-5);
  if (!upto.length) return undefined;
  const out: Record<string, number> = {};
  for (const e of upto) for (const [k, v] of Object.entries(e.losses)) out[k] = (out[k] ?? 0) + v / upto.length;
  return out;
}

/** Mean over pixels of the across-input variance of G(A) on the held-out slice ([0,1] scale). */
async function outputVariance(ws: Workspace, bundleDir: string, datasetId: string, limit: number): Promise<number> {
  const b = await loadBundle(bundleDir);
  try {
    const m = await loadDatasetMatrix({ workspace: ws }, datasetId, limit, { split: 'test', role: 'a', seed: SEED });
    const { size, channels } = b.meta.preprocessing;
    const inC = b.meta.preprocessing.inChannels ?? channels;
    const x = toModelTensor(m.matrix.data, m.matrix.rows, m.image.width, m.image.height, m.image.channels, size, inC);
    const y = translate(b, x, { direction: 'AtoB' });
    const rows = toRows(y);
    tf.dispose([x, y]);
    const per = rows.size * rows.size * rows.channels;
    let total = 0;
    for (let j = 0; j < per; j++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < rows.n; i++) {
        const v = rows.data[i * per + j]!;
        s += v;
        s2 += v * v;
      }
      const mean = s / rows.n;
      total += Math.max(0, s2 / rows.n - mean * mean);
    }
    return total / per;
  } finally {
    disposeBundle(b);
  }
}

/** Lowest per-row sample diversity logged at or before a step (train/timeline.ts sampleStats). */
export function diversityAt(log: RunLogEntry[], step: number): number | undefined {
  for (let i = log.length - 1; i >= 0; i--) {
    const e = log[i]!;
    if (e.step > step || !e.diversity) continue;
    const v = Object.values(e.diversity).filter(Number.isFinite);
    return v.length ? Math.min(...v) : undefined;
  }
  return undefined;
}

function build(runId: string, model: string, datasetId: string, limit: number, rows: ScoreboardRow[], cached: number, evaluated: number, log: RunLogEntry[]): Scoreboard {
  rows.sort((a, b) => a.step - b.step);
  for (const r of rows) {
    const d = diversityAt(log, r.step);
    if (d !== undefined) r.diversity = d;
  }
  return { runId, model, datasetId, split: 'test', limit, rows, bestStep: bestStepOf(rows), alarm: scoreboardAlarm(capabilitiesFor(model, {}), rows), cached, evaluated };
}

/** The cached scoreboard (rows of the checkpoints that still exist and were evaluated with this limit). */
export async function cachedScoreboard(ws: Workspace, runId: string, limit = SCOREBOARD_DEFAULT_LIMIT): Promise<Scoreboard> {
  const runDir = runDirOf(ws, runId);
  const run = await readRunOptions(runDir);
  const file = await readScores(runDir);
  const rows: ScoreboardRow[] = [];
  for (const c of await listCheckpoints(runDir)) {
    const e = file.entries[String(c.step)];
    if (isFresh(e, c, limit)) rows.push(stripCache(e));
  }
  return build(run.runId, run.model, run.datasetId, limit, rows, rows.length, 0, await readLog(runDir));
}

/** A cached row still stands for checkpoint `c` when it was scored from that file with this limit and seed. */
function isFresh(e: ScoresFile['entries'][string] | undefined, c: { createdAt: number }, limit: number): e is ScoresFile['entries'][string] {
  return !!e && e.checkpointAt === c.createdAt && e.limit === limit && e.seed === SEED;
}

function stripCache(e: ScoresFile['entries'][string]): ScoreboardRow {
  const { checkpointAt: _c, limit: _l, seed: _s, ...row } = e;
  return row;
}

/** Evaluate every checkpoint of a run not in the cache; answers all rows. */
export async function scoreRun(ws: Workspace, runId: string, opts: { limit?: number } = {}, hooks: EvalHooks = {}): Promise<Scoreboard> {
  await initBackend();
  const limit = opts.limit ?? SCOREBOARD_DEFAULT_LIMIT;
  const runDir = runDirOf(ws, runId);
  const run = await readRunOptions(runDir);
  const checkpoints = await listCheckpoints(runDir);
  const caps = capabilitiesFor(run.model, run.options, run.classNames ? { classNames: run.classNames } : {});
  if (!checkpoints.length)
    throw new StudioError('NOT_FOUND', `Run ${run.runId} has no checkpoints to evaluate yet.`, {
      hint: 'Checkpoints are written every checkpointEvery steps and at the end of training.',
    });
  const file = await readScores(runDir);
  const log = await readLog(runDir);
  const rows: ScoreboardRow[] = [];
  let cached = 0;
  let evaluated = 0;
  const progress = hooks.progress ?? (() => undefined);
  const tmpRoot = await fsp.mkdtemp(path.join(ws.tmp, `scoreboard-${run.runId}-`));
  try {
    for (let i = 0; i < checkpoints.length; i++) {
      const c = checkpoints[i]!;
      const prev = file.entries[String(c.step)];
      if (isFresh(prev, c, limit)) {
        rows.push(stripCache(prev));
        cached++;
        continue;
      }
      await hooks.checkpoint?.();
      const base = i / checkpoints.length;
      const span = 1 / checkpoints.length;
      progress(base, `checkpoint ${c.step}: writing a bundle`);
      let model: Awaited<ReturnType<typeof modelFromCheckpoint>>['model'];
      try {
        ({ model } = await modelFromCheckpoint(runDir, c.step));
      } catch (e) {
        // pruned by the training job since it was listed: nothing to score
        if (e instanceof StudioError && e.code === 'NOT_FOUND') continue;
        throw e;
      }
      let dir: string;
      try {
        const id = `step-${c.step}`;
        const losses = lossesAt(log, c.step) ?? {};
        ({ dir } = await writeBundle(tmpRoot, id, model, {
          name: `${run.name} @ ${c.step}`,
          direction: run.direction,
          ...(run.classNames ? { classNames: run.classNames } : {}),
          training: {
            runId: run.runId,
            datasetId: run.datasetId,
            steps: c.step,
            epochs: (c.step * ((run.options.batchSize as number) ?? 1)) / Math.max(1, run.itemsPerEpoch),
            durationSec: 0,
            stepsPerSec: 0,
            backend: tf.getBackend(),
            finalLosses: losses,
            meanLosses: losses,
          },
        }));
      } finally {
        model.dispose();
      }
      const r = await evaluateBundle(
        ws,
        {
          model: dir,
          dataset: run.datasetId,
          split: 'test',
          limit,
          seed: SEED,
          // Generators: as many samples as real images (per class, a tenth of them, at least 2).
          ...(caps.metrics.suite === 'generated' ? { samples: caps.generate?.classes ? Math.max(2, Math.ceil(limit / 10)) : limit } : {}),
        },
        { progress: (f, m) => progress(base + span * 0.9 * f, `checkpoint ${c.step}: ${m}`), ...(hooks.checkpoint ? { checkpoint: hooks.checkpoint } : {}) },
      );
      const row: ScoreboardRow = { step: c.step, metrics: r.metrics, key: keyMetric(caps.metrics, r.metrics), evaluatedAt: Date.now() };
      const losses = lossesAt(log, c.step);
      if (losses) row.losses = losses;
      if (caps.translate) row.outputVariance = await outputVariance(ws, dir, run.datasetId, limit);
      await fsp.rm(dir, { recursive: true, force: true });
      rows.push(row);
      evaluated++;
      file.entries[String(c.step)] = { ...row, checkpointAt: c.createdAt, limit, seed: SEED };
      await writeJsonAtomic(scoresPath(runDir), file);
    }
  } finally {
    await fsp.rm(tmpRoot, { recursive: true, force: true });
  }
  progress(1, 'done');
  return build(run.runId, run.model, run.datasetId, limit, rows, cached, evaluated, log);
}
