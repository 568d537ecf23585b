/**
 * The checkpoint timeline of a run: a pinned sample set rendered at every checkpoint, with
 * automatic flags, so a user can scrub through training and promote the checkpoint they like.
 *
 *   runs/<id>/timeline/pinned.json    which items are pinned (k-means over the dataset, or the
 *                                     user's indices) and the real reference statistics
 *   runs/<id>/timeline/step-N.png     the grid of the pinned set at checkpoint N (visualsToPng)
 *   runs/<id>/timeline/step-N.json    {step, stats, flags}
 *
 * Pinned set: translators / autoencoders render dataset items chosen for variety (k-means with k =
 * count over up to 512 training items; the item nearest each centroid), or the indices the user
 * gave; generators render their fixed noise (one row per class), and the same k-means pick of real
 * images is their reference for diversity and colour.
 *
 * Stats and flags (sampleStats, also logged with the losses at every sample step):
 *   diversity   per output row, mean pairwise RMS distance of the outputs / the same of real
 *               images (per class for conditional generators; the inputs for translators): flag `collapse` < 0.3
 *   copy        translators: mean |output - input| ([0, 1] scale): flag `copy` < 0.02
 *   colourDrift max over channels of |mean output - mean real target|: flag `colour-drift` > 0.15
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { ModelCapabilities } from '../../../shared/capabilities';
import type { TimelineFlag, TimelineFrame, TimelinePin, TimelineStats } from '../../../shared/channels/train';
import { tf } from '../backend';
import { capabilitiesFor } from '../models/registry';
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from '../core/fsutil';
import { stampSamples } from '../infer/provenance';
import type { Workspace } from '../core/workspace';
import { loadDatasetMatrix, type DatasetMatrix } from '../analysis/dataset-source';
import { kmeans } from '../analysis/kmeans';
import { meanPairwiseDistance } from '../eval/diversity';
import { toModelTensor } from '../eval/evaluate';
import type { Batch, ModelKind } from '../models/base';
import { visualsToPng } from './grid';
import { syntheticImages } from './source';

export const COLLAPSE_RATIO = 0.3;
export const COPY_DISTANCE = 0.02;
export const COLOUR_DRIFT = 0.15;
const POOL = 512;

/** Real-image statistics the outputs are compared with (stored in pinned.json). */
export interface Reference {
  /** Mean pairwise RMS distance of real images: per class ('class_c') or 'all'. */
  pairwise: Record<string, number>;
  /** Per-channel mean of real target images, [0, 1]. */
  colour: number[];
}

export interface PinnedFile {
  pin: TimelinePin;
  /** Dataset split indices of the pinned items (translators) or of the reference picks (generators). */
  indices: number[];
  reference: Reference;
}

const timelineDir = (runDir: string) => path.join(runDir, 'timeline');

/** Rows of `m` at the given positions as a new matrix. */
function pickRows(m: DatasetMatrix, rows: number[]): Float32Array {
  const d = m.matrix.cols;
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set((m.matrix.data as Float32Array).subarray(r * d, (r + 1) * d), i * d));
  return out;
}

/** k items chosen for variety: k-means (seeded, several restarts) and the item nearest each centroid. */
export function varietyPicks(data: Float32Array, rows: number, cols: number, k: number, seed: number): number[] {
  if (rows <= k) return Array.from({ length: rows }, (_, i) => i);
  const r = kmeans({ rows, cols, data }, { k, seed, maxIter: 50 });
  const picks: number[] = [];
  for (let c = 0; c < k; c++) {
    let best = -1;
    let bestD = Infinity;
    for (let i = 0; i < rows; i++) {
      if (r.labels[i] !== c) continue;
      let s = 0;
      for (let j = 0; j < cols; j++) s += (data[i * cols + j]! - (r.centroids.data[c * cols + j] as number)) ** 2;
      if (s < bestD) {
        bestD = s;
        best = i;
      }
    }
    if (best >= 0) picks.push(best);
  }
  return picks;
}

function channelMeans(data: Float32Array, channels: number): number[] {
  const out = new Array<number>(channels).fill(0);
  const n = data.length / channels;
  for (let i = 0; i < data.length; i++) out[i % channels]! += data[i]!;
  return out.map((v) => v / Math.max(1, n));
}

function pairwiseOf(data: Float32Array, rows: number): number {
  return rows >= 2 ? meanPairwiseDistance({ data, rows, cols: data.length / rows }) : NaN;
}

/** The built-in synthetic datasets (train/source.ts) as a matrix in [0, 1], as their source makes them. */
async function syntheticMatrix(id: string, size: number, channels: number, role: 'a' | 'b' | undefined): Promise<DatasetMatrix> {
  const kind = id.split(':')[1] as 'images' | 'labelled' | 'paired' | 'unpaired';
  const d = syntheticImages({ n: 64, size, channels, seed: 1234, kind });
  const items = role === 'b' ? d.b : d.a;
  const per = size * size * channels;
  const data = new Float32Array(items.length * per);
  items.forEach((x, i) => {
    for (let j = 0; j < per; j++) data[i * per + j] = (x[j]! + 1) / 2;
  });
  return {
    matrix: { rows: items.length, cols: per, data },
    indices: items.map((_, i) => i),
    ...(kind === 'labelled' ? { labels: d.labels.slice(0, items.length) } : {}),
    image: { width: size, height: size, channels },
    total: items.length,
    description: id,
  };
}

export interface PinnedSet {
  file: PinnedFile;
  /** Batch to render with visualsFor (translators, autoencoder); null for generators (fixed noise). */
  batch: Batch | null;
}

/**
 * Choose (or re-read) the pinned set of a run and build its batch. Idempotent: pinned.json is
 * written once, so a resumed run renders the same items.
 */
export async function pinnedSet(ws: Workspace, runDir: string, run: { model: ModelKind; datasetId: string; options: Record<string, unknown>; pin?: TimelinePin }): Promise<PinnedSet> {
  const size = run.options.size as number;
  const channels = run.options.channels as number;
  const inChannels = (run.options.inChannels as number | undefined) ?? channels;
  const seed = ((run.options.seed as number) ?? 0) + 2;
  const file0 = path.join(timelineDir(runDir), 'pinned.json');
  const saved = (await exists(file0)) ? await readJson<PinnedFile>(file0) : null;
  const pin: TimelinePin = saved?.pin ?? run.pin ?? { mode: 'kmeans', count: 8 };
  // By capabilities, not kind names: generators sample noise; paired/unpaired models take A and B.
  const caps = capabilitiesFor(run.model, run.options);
  const gen = !!caps.generate && !caps.encode;
  const twoSided = caps.data === 'paired' || caps.data === 'unpaired';
  const byIndices = pin.mode === 'indices' && pin.indices?.length && !gen;
  const load = (role: 'a' | 'b' | undefined) =>
    run.datasetId.startsWith('synthetic:') ? syntheticMatrix(run.datasetId, size, channels, role) : loadDatasetMatrix({ workspace: ws }, run.datasetId, byIndices ? undefined : POOL, { split: 'train', ...(role ? { role } : {}), seed });
  const a = await load(twoSided ? 'a' : undefined);
  const b = twoSided ? await load('b') : null;
  const { width: w, height: h, channels: c } = a.image;
  let rows: number[];
  if (saved) rows = saved.indices.map((i) => a.indices.indexOf(i)).filter((r) => r >= 0);
  else if (byIndices) {
    const bad = pin.indices!.filter((i) => i < 0 || i >= a.matrix.rows);
    if (bad.length) throw new Error(`pinned indices out of range (the train split has ${a.matrix.rows} items): ${bad.slice(0, 5).join(', ')}`);
    rows = pin.indices!.slice(0, 16);
  } else rows = varietyPicks(a.matrix.data as Float32Array, a.matrix.rows, a.matrix.cols, Math.min(pin.count ?? 8, 16), seed);
  // Reference statistics from real images (the whole pool: a pairwise spread needs more than 8).
  const reference: Reference = { pairwise: {}, colour: [] };
  const targets = b ?? a;
  reference.colour = channelMeans(targets.matrix.data as Float32Array, targets.image.channels);
  if (gen && caps.generate?.classes && a.labels) {
    const classes = new Set(a.labels);
    for (const cl of classes) {
      const idx = a.labels.map((l, i) => (l === cl ? i : -1)).filter((i) => i >= 0).slice(0, 200);
      reference.pairwise[`class_${cl}`] = pairwiseOf(pickRows(a, idx), idx.length);
    }
  }
  const poolIdx = Array.from({ length: Math.min(a.matrix.rows, 200) }, (_, i) => i);
  reference.pairwise.all = pairwiseOf(pickRows(a, poolIdx), poolIdx.length);
  const file: PinnedFile = saved ?? { pin, indices: rows.map((r) => a.indices[r]!), reference };
  if (!saved) {
    await fsp.mkdir(timelineDir(runDir), { recursive: true });
    await writeJsonAtomic(file0, file);
  }
  if (gen) return { file, batch: null };
  const n = rows.length;
  const batch: Batch = { a: toModelTensor(pickRows(a, rows), n, w, h, c, size, inChannels) };
  if (b) batch.b = toModelTensor(pickRows(b, rows), n, b.image.width, b.image.height, b.image.channels, size, channels);
  return { file, batch };
}

/** [-1, 1] tensor -> [0, 1] rows. */
function rows01(t: tf.Tensor4D): Float32Array {
  const x = tf.tidy(() => tf.div(tf.add(tf.clipByValue(t, -1, 1), 1), 2));
  const out = x.dataSync() as Float32Array;
  x.dispose();
  return out;
}

/** Grey view of [0, 1] NHWC rows (mean over channels). */
function grey(data: Float32Array, channels: number): Float32Array {
  if (channels === 1) return data;
  const out = new Float32Array(data.length / channels);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let k = 0; k < channels; k++) s += data[i * channels + k]!;
    out[i] = s / channels;
  }
  return out;
}

/**
 * Which visuals are the model's outputs, by capabilities: a translator's `fake_*` rows (not its
 * inputs or cycle reconstructions); otherwise every row that is not a `real*` input (a
 * generator's samples, an encoder-decoder's reconstruction).
 */
function outputVisuals(caps: ModelCapabilities, names: string[]): string[] {
  return caps.translate ? names.filter((k) => k.startsWith('fake')) : names.filter((k) => !k.startsWith('real'));
}

/** Statistics + flags of one rendering of the pinned set (visuals of the model). */
export function sampleStats(caps: ModelCapabilities, visuals: Record<string, tf.Tensor4D>, ref: Reference): TimelineStats {
  const diversity: Record<string, number> = {};
  let copy: number | undefined;
  let colourDrift: number | undefined;
  const outputNames = outputVisuals(caps, Object.keys(visuals));
  const allOut: Float32Array[] = [];
  let outChannels = 1;
  for (const name of outputNames) {
    const t = visuals[name];
    if (!t || t.shape[0] < 2) continue;
    const data = rows01(t);
    outChannels = t.shape[3];
    allOut.push(data);
    const own = pairwiseOf(data, t.shape[0]);
    let real = ref.pairwise[name] ?? ref.pairwise.all ?? NaN;
    // Translators: compare with the spread of their own inputs (the same items).
    const input = name === 'fake_B' ? visuals.real_A : name === 'fake_A' ? visuals.real_B : undefined;
    if (input) {
      const ind = rows01(input);
      real = pairwiseOf(grey(ind, input.shape[3]), input.shape[0]);
      const og = grey(data, t.shape[3]);
      const ig = grey(ind, input.shape[3]);
      let s = 0;
      for (let i = 0; i < og.length; i++) s += Math.abs(og[i]! - ig[i]!);
      const d = s / og.length;
      copy = copy === undefined ? d : Math.min(copy, d);
      diversity[name] = real > 0 ? pairwiseOf(og, t.shape[0]) / real : NaN;
      continue;
    }
    diversity[name] = real > 0 ? own / real : NaN;
  }
  if (allOut.length && ref.colour.length) {
    const joined = new Float32Array(allOut.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of allOut) {
      joined.set(x, o);
      o += x.length;
    }
    const m = channelMeans(joined, outChannels);
    const r = ref.colour.length === m.length ? ref.colour : [ref.colour.reduce((a, v) => a + v, 0) / ref.colour.length];
    const mm = m.length === r.length ? m : [m.reduce((a, v) => a + v, 0) / m.length];
    colourDrift = Math.max(...mm.map((v, i) => Math.abs(v - r[i]!)));
  }
  const finite = Object.values(diversity).filter(Number.isFinite);
  const diversityMin = finite.length ? Math.min(...finite) : undefined;
  const flags: TimelineFlag[] = [];
  if (diversityMin !== undefined && diversityMin < COLLAPSE_RATIO) {
    const worst = Object.entries(diversity).find(([, v]) => v === diversityMin)![0];
    const against = worst.startsWith('fake_') ? 'its inputs' : 'real images';
    flags.push({ kind: 'collapse', message: `Outputs too similar: ${worst} varies ${(100 * diversityMin).toFixed(0)}% as much as ${against} (< ${100 * COLLAPSE_RATIO}%).` });
  }
  // An encoder-decoder is meant to give its input back: no copy flag.
  if (copy !== undefined && !caps.encode && copy < COPY_DISTANCE) flags.push({ kind: 'copy', message: `Output ≈ input: mean |output - input| is ${copy.toFixed(3)} (< ${COPY_DISTANCE}).` });
  if (colourDrift !== undefined && colourDrift > COLOUR_DRIFT) flags.push({ kind: 'colour-drift', message: `Colour drift: the mean output colour is ${colourDrift.toFixed(2)} away from the real images' (> ${COLOUR_DRIFT}).` });
  return { diversity, ...(diversityMin !== undefined ? { diversityMin } : {}), ...(copy !== undefined ? { copy } : {}), ...(colourDrift !== undefined ? { colourDrift } : {}), flags };
}

/** Render the pinned set at a checkpoint: timeline/step-N.png + step-N.json. Caller disposes nothing. */
/** `kind` is the run's registry kind, a label for the frame's provenance only. */
export async function renderFrame(runDir: string, step: number, caps: ModelCapabilities, visuals: Record<string, tf.Tensor4D>, ref: Reference, kind = 'model'): Promise<TimelineStats> {
  const stats = sampleStats(caps, visuals, ref);
  const g = await visualsToPng(visuals, 16);
  await fsp.mkdir(timelineDir(runDir), { recursive: true });
  await writeFileAtomic(path.join(timelineDir(runDir), `step-${step}.png`), await stampSamples(g, { runId: path.basename(runDir), kind, step }));
  await writeJsonAtomic(path.join(timelineDir(runDir), `step-${step}.json`), { step, width: g.width, height: g.height, rows: g.rows, stats });
  return stats;
}

/** Every rendered frame of a run, oldest first, with whether its checkpoint is still on disk. */
export async function readTimeline(runDir: string, keptSteps: Set<number>): Promise<{ pinned: PinnedFile | null; frames: TimelineFrame[] }> {
  const dir = timelineDir(runDir);
  const pinnedFile = path.join(dir, 'pinned.json');
  const pinned = (await exists(pinnedFile)) ? await readJson<PinnedFile>(pinnedFile) : null;
  let names: string[] = [];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return { pinned, frames: [] };
  }
  const steps = names.map((n) => /^step-(\d+)\.json$/.exec(n)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])).sort((x, y) => x - y);
  const frames: TimelineFrame[] = [];
  for (const step of steps) {
    try {
      const meta = await readJson<{ width: number; height: number; rows: string[]; stats: TimelineStats }>(path.join(dir, `step-${step}.json`));
      const png = new Uint8Array(await fsp.readFile(path.join(dir, `step-${step}.png`)));
      frames.push({ step, png, width: meta.width, height: meta.height, rows: meta.rows, stats: meta.stats, checkpoint: keptSteps.has(step) });
    } catch {
      // a frame being written: skip it
    }
  }
  return { pinned, frames };
}
