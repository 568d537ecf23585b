/**
 * evaluateBundle: measure a model bundle on a dataset split with the metrics its capabilities name
 * (capabilities.metrics.suite).
 * Shared by `atelier eval`, the eval.run channel and scripts/train-demos.ts (model cards).
 *
 * Conventions (also in the shared EvalResult doc):
 *   - pixel metrics (L1, MSE, SSIM) are on the [0, 1] scale; SSIM with data range 1
 *     (analysis/metrics.ts, scikit-image's definition);
 *   - dataset images are brought to the model's size the way the demo datasets are made:
 *     28x28 -> 32x32 by a 2-pixel black border, other sizes bilinear; colour <-> grey by channel
 *     mean / repetition;
 *   - classifier metrics use the FashionCNN (analysis/classifier.ts); FD-FashionCNN is the
 *     Fréchet distance of its 64-d penultimate features (NOT FID).
 *   - generated samples come from seeded noise: the same request gives the same numbers.
 */
import path from 'node:path';
import type { EvalMetric, EvalResult } from '../../../shared/channels/eval';
import { StudioError } from '../../../shared/errors';
import { tf, initBackend } from '../backend';
import { classifierFeatures, classify, disposeClassifier, loadClassifier, type Classifier } from '../analysis/classifier';
import { loadDatasetMatrix, type DatasetMatrix } from '../analysis/dataset-source';
import { psnr, ssim } from '../analysis/metrics';
import { colourfulness, foliageDomain, hueShares, type FoliageDomain } from '../analysis/colour';
import { pca, pcaProject, pcaReconstruct } from '../analysis/pca';
import { Rng } from '../analysis/rng';
import { resolveModelRef } from '../infer/registry';
import { disposeBundle, generate, loadBundle, translate, type LoadedBundle } from '../train/bundle';
import type { Workspace } from '../core/workspace';
import { diversityRatios, minRatio } from './diversity';
import { exists } from '../core/fsutil';
import { conditionalAccuracy, frechetDistance, meanL1, meanMse, pairedGain, transferRate, type Features } from './metrics';

export const DEFAULT_CLASSIFIER = 'fashion-classifier';
export const DEFAULT_JUDGE = 'fashion-judge-mlp';

export interface EvaluateOptions {
  model: string;
  dataset: string;
  split?: 'train' | 'test' | 'val';
  limit?: number;
  samples?: number;
  seed?: number;
  classifier?: string;
  /**
   * Real images given in memory instead of a workspace dataset (scripts: Fashion-MNIST t10k).
   * test: the split evaluated; train: the autoencoder's PCA baseline is fitted on it.
   */
  inMemory?: { test: DatasetMatrix; train?: DatasetMatrix };
  /** Second judge of conditional accuracy (cgan): a classifier folder of another family; default the shipped models/fashion-judge-mlp when present. */
  judge?: string;
}

/** uint8 images (n x size x size, grey) + labels as a DatasetMatrix (rows in [0, 1]). */
export function matrixFromBytes(images: Uint8Array, n: number, size: number, description: string, labels?: ArrayLike<number>): DatasetMatrix {
  const per = size * size;
  const data = new Float32Array(n * per);
  for (let i = 0; i < n * per; i++) data[i] = images[i]! / 255;
  return {
    matrix: { rows: n, cols: per, data },
    indices: Array.from({ length: n }, (_, i) => i),
    ...(labels ? { labels: Array.from(labels).slice(0, n) } : {}),
    image: { width: size, height: size, channels: 1 },
    total: n,
    description,
  };
}

export interface EvalHooks {
  progress?: (fraction: number, message: string) => void;
  checkpoint?: () => Promise<void>;
}

/** Images as rows in [0, 1] (n x size*size*channels, HWC). */
export interface ImageSet {
  data: Float32Array;
  n: number;
  size: number;
  channels: number;
}

/** [0,1] rows (any size) -> NHWC tensor in [-1, 1] at `size` x `channels`. */
export function toModelTensor(rows: Float32Array, n: number, w: number, h: number, c: number, size: number, channels: number): tf.Tensor4D {
  return tf.tidy(() => {
    let x = tf.sub(tf.mul(tf.tensor4d(rows, [n, h, w, c]), 2), 1) as tf.Tensor4D;
    if (c !== channels) x = channels === 1 ? (tf.mean(x, 3, true) as tf.Tensor4D) : (tf.tile(tf.mean(x, 3, true), [1, 1, 1, channels]) as tf.Tensor4D);
    if (w === size && h === size) return x;
    if (w === 28 && h === 28 && size === 32) return tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], -1) as tf.Tensor4D;
    return tf.image.resizeBilinear(x, [size, size]);
  });
}

/** NHWC in [-1, 1] -> rows in [0, 1]. */
export function toRows(x: tf.Tensor4D): ImageSet {
  const t = tf.tidy(() => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1));
  const data = Float32Array.from(t.dataSync());
  t.dispose();
  return { data, n: x.shape[0], size: x.shape[1], channels: x.shape[3] };
}

function batched(n: number, batch: number, fn: (start: number, count: number) => tf.Tensor4D): tf.Tensor4D {
  const parts: tf.Tensor4D[] = [];
  for (let i = 0; i < n; i += batch) parts.push(fn(i, Math.min(batch, n - i)));
  const out = parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor4D);
  if (parts.length > 1) tf.dispose(parts);
  return out;
}

function translateAll(b: LoadedBundle, x: tf.Tensor4D, direction: 'AtoB' | 'BtoA' = 'AtoB'): tf.Tensor4D {
  return batched(x.shape[0], 64, (s, k) => tf.tidy(() => translate(b, x.slice([s, 0, 0, 0], [k, -1, -1, -1]), { direction })));
}

/** SSIM of each image pair. */
function ssimEach(a: ImageSet, b: ImageSet): Float64Array {
  const per = a.size * a.size * a.channels;
  const out = new Float64Array(a.n);
  for (let i = 0; i < a.n; i++) {
    out[i] = ssim(
      { height: a.size, width: a.size, channels: a.channels, data: a.data.subarray(i * per, (i + 1) * per) },
      { height: b.size, width: b.size, channels: b.channels, data: b.data.subarray(i * per, (i + 1) * per) },
      1,
    );
  }
  return out;
}

const average = (x: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
};

function ssimMean(a: ImageSet, b: ImageSet): number {
  return average(ssimEach(a, b));
}

/** PSNR in dB of each image pair ([0, 1] scale; identical images count as 100 dB). */
function psnrEach(a: ImageSet, b: ImageSet): Float64Array {
  const per = a.size * a.size * a.channels;
  const out = new Float64Array(a.n);
  for (let i = 0; i < a.n; i++) {
    const im = (x: ImageSet) => ({ height: x.size, width: x.size, channels: x.channels, data: x.data.subarray(i * per, (i + 1) * per) });
    out[i] = Math.min(100, psnr(im(a), im(b), 1));
  }
  return out;
}

/** Mean Hasler-Süsstrunk colourfulness (0..255 scale) of RGB images; 0 for grey sets. */
export function colourfulnessMean(x: ImageSet): number {
  if (x.channels < 3) return 0;
  const per = x.size * x.size * x.channels;
  let s = 0;
  for (let i = 0; i < x.n; i++) s += colourfulness({ data: x.data.subarray(i * per, (i + 1) * per), channels: x.channels, scale: 1 });
  return s / x.n;
}

/** Foliage domain (analysis/colour.ts) of each RGB image of a set. */
function domainsOf(x: ImageSet): (FoliageDomain | null)[] {
  const per = x.size * x.size * x.channels;
  return Array.from({ length: x.n }, (_, i) => foliageDomain(hueShares({ data: x.data.subarray(i * per, (i + 1) * per), channels: x.channels, scale: 1 })));
}

/**
 * The simple per-pixel colouriser a grey -> colour model must beat: for each grey level, the
 * mean training colour of the pixels of that level (a 256-entry lookup table fitted on the
 * training pairs), applied pixel by pixel.
 */
export function greyLutBaseline(trainGrey: ImageSet, trainColour: ImageSet, grey: ImageSet): ImageSet {
  const sum = new Float64Array(256 * 3);
  const cnt = new Float64Array(256);
  const px = trainGrey.n * trainGrey.size * trainGrey.size;
  for (let p = 0; p < px; p++) {
    const g = Math.round(trainGrey.data[p * trainGrey.channels]! * 255);
    cnt[g]!++;
    for (let k = 0; k < 3; k++) sum[g * 3 + k]! += trainColour.data[p * 3 + k]!;
  }
  const out = new Float32Array(grey.n * grey.size * grey.size * 3);
  for (let p = 0; p < out.length / 3; p++) {
    const v = grey.data[p * grey.channels]!;
    const g = Math.round(v * 255);
    for (let k = 0; k < 3; k++) out[p * 3 + k] = cnt[g]! ? sum[g * 3 + k]! / cnt[g]! : v;
  }
  return { data: out, n: grey.n, size: grey.size, channels: 3 };
}

function selectRows(f: Features, keep: (i: number) => boolean): Features {
  const rows: number[] = [];
  for (let i = 0; i < f.rows; i++) if (keep(i)) rows.push(i);
  const data = new Float32Array(rows.length * f.cols);
  rows.forEach((r, k) => {
    for (let j = 0; j < f.cols; j++) data[k * f.cols + j] = f.data[r * f.cols + j]!;
  });
  return { data, rows: rows.length, cols: f.cols };
}

/** A permutation of 0..k-1 with no fixed point (seeded). */
export function derangement(k: number, seed: number): number[] {
  const rng = new Rng(seed);
  for (;;) {
    const p = Array.from({ length: k }, (_, i) => i);
    for (let i = k - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    if (p.every((v, i) => v !== i)) return p;
  }
}

async function loadSplit(ws: Workspace, id: string, split: 'train' | 'test' | 'val', role: 'a' | 'b' | 'x' | undefined, limit: number | undefined, seed: number): Promise<DatasetMatrix> {
  try {
    const m = await loadDatasetMatrix({ workspace: ws }, id, limit, { split, ...(role ? { role } : {}), seed });
    if (m.matrix.rows === 0) throw new StudioError('NOT_FOUND', `Dataset "${id}" has no images in its ${split} split.`);
    return m;
  } catch (e) {
    if (e instanceof StudioError && e.code === 'NOT_FOUND' && split === 'test') {
      throw new StudioError('NOT_FOUND', `${e.message}`, { hint: 'Evaluate on the training split (--split train), knowing the model has seen those images.' });
    }
    throw e;
  }
}

const tensorOf = (m: DatasetMatrix, size: number, channels: number) =>
  toModelTensor(m.matrix.data, m.matrix.rows, m.image.width, m.image.height, m.image.channels, size, channels);

export async function evaluateBundle(ws: Workspace, opts: EvaluateOptions, hooks: EvalHooks = {}): Promise<EvalResult> {
  await initBackend();
  const t0 = performance.now();
  const split = opts.split ?? 'test';
  const seed = opts.seed ?? 0;
  const progress = hooks.progress ?? (() => undefined);
  const ref = await resolveModelRef(ws, opts.model);
  if (!ref.dir) throw new StudioError('BAD_INPUT', `"${opts.model}" is an ONNX file; evaluation needs a bundle folder (bundle.json + networks).`);
  progress(0, 'loading the model');
  const bundle = await loadBundle(ref.dir);
  const kind = bundle.meta.model;
  // What to measure follows the bundle's capabilities, never its kind's name.
  const suite = bundle.meta.capabilities.metrics.suite;
  const classes = bundle.meta.capabilities.generate?.classes;
  const size = bundle.meta.preprocessing.size;
  const channels = bundle.meta.preprocessing.channels;
  // Colour CycleGANs are scored by a colour statistic, not by the grey Fashion-MNIST classifier.
  const needsClassifier = suite === 'generated' || (suite === 'unpaired' && channels === 1);
  let clf: Classifier | null = null;
  const metrics: EvalMetric[] = [];
  const details: Record<string, unknown> = {};
  const notes: string[] = [];
  const live: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => (live.push(t), t);
  try {
    if (needsClassifier) {
      const dir = opts.classifier ? path.resolve(opts.classifier) : path.join(ws.shippedModels, DEFAULT_CLASSIFIER);
      clf = await loadClassifier(dir);
      // Folder names only: these notes end up in shipped cards, which must not carry machine paths.
      notes.push(`Classifier ${clf.meta.name} (${path.basename(dir)}); FD-FashionCNN = Fréchet distance of its ${clf.meta.featureDim}-d penultimate features (not FID).`);
    }
    let description = '';
    let count = 0;
    await hooks.checkpoint?.();
    if (suite === 'generated') {
      progress(0.1, 'reading real images');
      const real = opts.inMemory?.test ?? (await loadSplit(ws, opts.dataset, split, undefined, opts.limit, seed));
      description = real.description;
      count = real.matrix.rows;
      const realX = keep(tensorOf(real, size, channels));
      const realF = classifierFeatures(clf!, realX);
      const k = classes ? classes.count : 1;
      const perClass = opts.samples ?? (classes ? 100 : 1000);
      const n = classes ? perClass * k : perClass;
      const labels = Array.from({ length: n }, (_, i) => Math.floor(i / perClass));
      progress(0.3, `generating ${n} images`);
      const zr = new Rng(seed ^ 0x5eed);
      const nz = bundle.meta.latent!.size;
      const fake = keep(
        batched(n, 100, (s, m) =>
          tf.tidy(() => {
            const z = tf.tensor2d(Float32Array.from({ length: m * nz }, () => zr.normal()), [m, nz]);
            return generate(bundle, { z, ...(classes ? { labels: labels.slice(s, s + m) } : {}) });
          }),
        ),
      );
      await hooks.checkpoint?.();
      progress(0.6, 'classifying');
      const fakeF = classifierFeatures(clf!, fake);
      metrics.push({ key: 'fdFashionCnn', label: 'FD-FashionCNN (all generated vs real)', value: frechetDistance(fakeF, realF), better: 'lower', note: `${n} generated vs ${count} real (${split})` });
      if (classes) {
        const pred = classify(clf!, fake);
        const acc = conditionalAccuracy(pred, labels);
        metrics.push({ key: 'conditionalAccuracy', label: 'Conditional accuracy', value: acc.rate, better: 'higher', note: `share of ${n} generated images classified as the requested class` });
        const perm = derangement(k, seed + 1);
        const shuffled = conditionalAccuracy(pred, labels.map((c) => perm[c]!));
        metrics.push({ key: 'baselineShuffled.conditionalAccuracy', label: 'Conditional accuracy, shuffled labels (baseline)', value: shuffled.rate, better: 'none', note: 'same images scored against a fixed derangement of the labels' });
        details.conditionalAccuracyPerClass = acc.perClass;
        const judgeDir = opts.judge ? path.resolve(opts.judge) : path.join(ws.shippedModels, DEFAULT_JUDGE);
        if (await exists(path.join(judgeDir, 'classifier.json'))) {
          const judge = await loadClassifier(judgeDir);
          try {
            const jacc = conditionalAccuracy(classify(judge, fake), labels);
            metrics.push({ key: 'judge.conditionalAccuracy', label: `Conditional accuracy by a second judge (${judge.meta.name})`, value: jacc.rate, better: 'higher', note: `share of ${n} generated images ${judge.meta.name} assigns to the requested class` });
            metrics.push({ key: 'judge.minClassAccuracy', label: `Lowest per-class conditional accuracy (${judge.meta.name})`, value: Math.min(...Object.values(jacc.perClass).map((p) => p.rate)), better: 'higher' });
            details.judgeConditionalAccuracyPerClass = jacc.perClass;
            notes.push(`Second judge ${judge.meta.name} (${path.basename(judgeDir)}): a different family from ${clf!.meta.name}, trained on pixels.`);
          } finally {
            disposeClassifier(judge);
          }
        }
        metrics.push({ key: 'minClassConditionalAccuracy', label: 'Lowest per-class conditional accuracy', value: Math.min(...Object.values(acc.perClass).map((p) => p.rate)), better: 'higher' });
        // Within-class diversity (the mode-collapse measure, docs/evaluation.md), pixels and features.
        if (real.labels) {
          const genRows = toRows(fake);
          const px = { data: genRows.data, rows: n, cols: genRows.data.length / n };
          const realRows = toRows(realX);
          const rx = { data: realRows.data, rows: realX.shape[0], cols: realRows.data.length / realX.shape[0] };
          const dPix = diversityRatios(px, labels, rx, real.labels, k, 300);
          const dFeat = diversityRatios(fakeF, labels, realF, real.labels, k, 300);
          metrics.push({ key: 'diversity.pixelMin', label: 'Within-class diversity, pixels (lowest class ratio)', value: minRatio(dPix), better: 'higher', note: 'mean pairwise RMS distance of generated / real images of a class; 1 = as varied as the data' });
          metrics.push({ key: 'diversity.featureMin', label: 'Within-class diversity, FashionCNN features (lowest class ratio)', value: minRatio(dFeat), better: 'higher', note: 'the same in the 64-d FD-FashionCNN feature space' });
          details.diversity = Object.fromEntries(Object.keys(dPix).map((c) => [c, { pixel: dPix[Number(c)], feature: dFeat[Number(c)] }]));
        }
        // Class-conditional FD: generated class c vs real class c; baseline: generated pi(c) vs real c.
        if (real.labels) {
          const realLab = real.labels;
          const perFd: Record<number, { fd: number; shuffled: number; real: number; generated: number }> = {};
          let sum = 0;
          let sumS = 0;
          let used = 0;
          for (let c = 0; c < k; c++) {
            const rc = selectRows(realF, (i) => realLab[i] === c);
            if (rc.rows < 2) continue;
            const gc = selectRows(fakeF, (i) => labels[i] === c);
            const gs = selectRows(fakeF, (i) => labels[i] === perm[c]);
            const fd = frechetDistance(gc, rc);
            const fs = frechetDistance(gs, rc);
            perFd[c] = { fd, shuffled: fs, real: rc.rows, generated: gc.rows };
            sum += fd;
            sumS += fs;
            used++;
          }
          if (used) {
            metrics.push({ key: 'classFdFashionCnn', label: 'Class-conditional FD-FashionCNN (mean over classes)', value: sum / used, better: 'lower', note: 'generated class c vs real class c' });
            metrics.push({ key: 'baselineShuffled.classFdFashionCnn', label: 'Class-conditional FD-FashionCNN, shuffled labels (baseline)', value: sumS / used, better: 'none', note: 'generated class pi(c) vs real class c, pi a fixed derangement' });
            details.classFd = perFd;
            const minReal = Math.min(...Object.values(perFd).map((v) => v.real));
            if (minReal < clf!.meta.featureDim) notes.push(`Only ${minReal} real images in some class (< ${clf!.meta.featureDim} feature dimensions): per-class FD is biased upwards; compare it with its baseline, not across datasets.`);
          }
        } else notes.push('The dataset has no labels: no class-conditional FD.');
      }
      details.generated = { n, perClass: classes ? perClass : undefined, seed };
    } else if (suite === 'paired') {
      progress(0.1, 'reading pairs');
      const a = await loadSplit(ws, opts.dataset, split, 'a', opts.limit, seed);
      const b = await loadSplit(ws, opts.dataset, split, 'b', opts.limit, seed);
      // Colour sets: 600 training targets are plenty for a mean image and a grey-level table, and
      // keep the float copies small (128 px RGB is 49k values per image).
      const trainLimit = channels === 3 ? 600 : 5000;
      const trainB = await loadSplit(ws, opts.dataset, 'train', 'b', trainLimit, seed);
      description = `${a.description} -> ${b.description}`;
      count = a.matrix.rows;
      const inC = bundle.meta.preprocessing.inChannels;
      const ax = keep(tensorOf(a, size, inC));
      const target = toRows(keep(tensorOf(b, size, channels)));
      progress(0.3, 'translating');
      const out = toRows(keep(translateAll(bundle, ax)));
      await hooks.checkpoint?.();
      progress(0.6, 'scoring');
      const input = toRows(keep(tensorOf(a, size, channels)));
      // mean training target
      const mt = toRows(keep(tensorOf(trainB, size, channels)));
      const per = size * size * channels;
      const mean = new Float32Array(per);
      for (let i = 0; i < mt.n; i++) for (let j = 0; j < per; j++) mean[j]! += mt.data[i * per + j]! / mt.n;
      const meanSet: ImageSet = { data: new Float32Array(count * per), n: count, size, channels };
      for (let i = 0; i < count; i++) meanSet.data.set(mean, i * per);
      // per-image SSIM kept for the paired comparison with the input below
      const score = (x: ImageSet) => {
        const perImage = ssimEach(x, target);
        return { l1: meanL1(x.data, target.data), ssim: average(perImage), perImage };
      };
      const m = score(out);
      const bi = score(input);
      const bm = score(meanSet);
      metrics.push({ key: 'l1', label: 'L1 (translation vs target)', value: m.l1, better: 'lower' });
      metrics.push({ key: 'ssim', label: 'SSIM (translation vs target)', value: m.ssim, better: 'higher' });
      metrics.push({ key: 'baselineInput.l1', label: 'L1, baseline: the input itself', value: bi.l1, better: 'none' });
      metrics.push({ key: 'baselineInput.ssim', label: 'SSIM, baseline: the input itself', value: bi.ssim, better: 'none' });
      metrics.push({ key: 'baselineMean.l1', label: 'L1, baseline: mean training target', value: bm.l1, better: 'none', note: `mean of ${mt.n} training targets` });
      metrics.push({ key: 'baselineMean.ssim', label: 'SSIM, baseline: mean training target', value: bm.ssim, better: 'none' });
      details.beatsBaselines = { l1: m.l1 < bi.l1 && m.l1 < bm.l1, ssim: m.ssim > bi.ssim && m.ssim > bm.ssim };
      if (channels === 3) {
        // Colour targets: PSNR and colourfulness too; a grey -> colour model also faces the
        // per-pixel grey-level lookup table fitted on the training pairs.
        const pOut = psnrEach(out, target);
        const pIn = psnrEach(input, target);
        const pm = average(pOut);
        const pi = average(pIn);
        metrics.push({ key: 'psnr', label: 'PSNR dB (translation vs target)', value: pm, better: 'higher' });
        metrics.push({ key: 'baselineInput.psnr', label: 'PSNR dB, baseline: the input itself', value: pi, better: 'none' });
        metrics.push({ key: 'colourfulness', label: 'Colourfulness (Hasler-Süsstrunk) of the translations', value: colourfulnessMean(out), better: 'none', note: 'closer to the target is better' });
        metrics.push({ key: 'target.colourfulness', label: 'Colourfulness of the targets', value: colourfulnessMean(target), better: 'none' });
        metrics.push({ key: 'baselineInput.colourfulness', label: 'Colourfulness of the inputs', value: colourfulnessMean(input), better: 'none' });
        const beats = { l1: m.l1 < bi.l1, ssim: m.ssim > bi.ssim, psnr: pm > pi };
        // Is the gain over the grey input clear, or carried by a few crops? Per-image gains with a
        // bootstrap interval (eval/metrics.ts pairedGain).
        const gains = { ssim: pairedGain(m.perImage, bi.perImage, seed), psnr: pairedGain(pOut, pIn, seed) };
        for (const [k, g] of Object.entries(gains)) {
          const unit = k === 'psnr' ? ' dB' : '';
          const f = (v: number) => v.toFixed(k === 'psnr' ? 2 : 4);
          metrics.push({ key: `gainOverInput.${k}`, label: `${k.toUpperCase()} gain over the input, mean per image`, value: g.mean, better: 'higher', note: `95% bootstrap interval ${f(g.lo)} to ${f(g.hi)}${unit}, over images` });
          metrics.push({ key: `gainOverInput.${k}.lo`, label: `${k.toUpperCase()} gain over the input, 95% interval's lower end`, value: g.lo, better: 'higher' });
          metrics.push({ key: `winsOverInput.${k}`, label: `Share of images whose ${k.toUpperCase()} beats the input's`, value: g.wins, better: 'higher' });
        }
        if (inC === 1) {
          const trainA = await loadSplit(ws, opts.dataset, 'train', 'a', trainLimit, seed);
          const lut = greyLutBaseline(toRows(keep(tensorOf(trainA, size, 1))), mt, toRows(keep(tensorOf(a, size, 1))));
          const bl = score(lut);
          const pl = average(psnrEach(lut, target));
          metrics.push({ key: 'baselineLut.l1', label: 'L1, baseline: per-pixel grey-level colour table', value: bl.l1, better: 'none', note: `mean training colour of each grey level, from ${mt.n} training pairs` });
          metrics.push({ key: 'baselineLut.ssim', label: 'SSIM, baseline: per-pixel grey-level colour table', value: bl.ssim, better: 'none' });
          metrics.push({ key: 'baselineLut.psnr', label: 'PSNR dB, baseline: per-pixel grey-level colour table', value: pl, better: 'none' });
          metrics.push({ key: 'baselineLut.colourfulness', label: 'Colourfulness, baseline: per-pixel grey-level colour table', value: colourfulnessMean(lut), better: 'none' });
          details.beatsLut = { l1: m.l1 < bl.l1, ssim: m.ssim > bl.ssim, psnr: pm > pl };
        }
        details.beatsGrey = beats;
      }
    } else if (suite === 'unpaired' && channels === 3) {
      progress(0.1, 'reading both domains');
      const a = await loadSplit(ws, opts.dataset, split, 'a', opts.limit, seed);
      const b = await loadSplit(ws, opts.dataset, split, 'b', opts.limit, seed);
      description = `${a.description} | ${b.description}`;
      count = a.matrix.rows + b.matrix.rows;
      const ax = keep(tensorOf(a, size, channels));
      const bx = keep(tensorOf(b, size, channels));
      progress(0.3, 'translating both ways');
      const fakeB = keep(translateAll(bundle, ax, 'AtoB'));
      const fakeA = keep(translateAll(bundle, bx, 'BtoA'));
      const recA = keep(translateAll(bundle, fakeB, 'BtoA'));
      const recB = keep(translateAll(bundle, fakeA, 'AtoB'));
      await hooks.checkpoint?.();
      progress(0.7, 'scoring');
      const [rA, rB, fB, fA] = [ax, bx, fakeB, fakeA].map((t) => toRows(t)) as [ImageSet, ImageSet, ImageSet, ImageSet];
      // Domains: the colour statistic's majority vote on the real images of each side.
      const majority = (d: (FoliageDomain | null)[]) => {
        const c = new Map<FoliageDomain | null, number>();
        for (const v of d) c.set(v, (c.get(v) ?? 0) + 1);
        return [...c.entries()].sort((x, y) => y[1] - x[1])[0]![0];
      };
      const dA = domainsOf(rA);
      const dB = domainsOf(rB);
      const domA = majority(dA);
      const domB = majority(dB);
      if (!domA || !domB || domA === domB) notes.push(`The colour statistic does not separate the two domains (A: ${String(domA)}, B: ${String(domB)}): the transfer rate means little here.`);
      const rate = (d: (FoliageDomain | null)[], want: FoliageDomain | null) => d.filter((x) => x === want).length / Math.max(1, d.length);
      const rows = (t: tf.Tensor4D) => toRows(t).data;
      const rule = 'analysis/colour.ts foliageDomain: >= 40 % chromatic pixels, >= 80 % of them green (75-165 deg) or warm (< 60 or >= 330 deg)';
      metrics.push({ key: 'transferRate.AtoB', label: `Colour-domain transfer rate A->B (translated A judged "${String(domB)}")`, value: rate(domainsOf(fB), domB), better: 'higher', note: `${a.matrix.rows} translated A images; ${rule}` });
      metrics.push({ key: 'transferRate.BtoA', label: `Colour-domain transfer rate B->A (translated B judged "${String(domA)}")`, value: rate(domainsOf(fA), domA), better: 'higher', note: `${b.matrix.rows} translated B images` });
      metrics.push({ key: 'realRate.A', label: `Reference: real A judged "${String(domA)}"`, value: rate(dA, domA), better: 'none' });
      metrics.push({ key: 'realRate.B', label: `Reference: real B judged "${String(domB)}"`, value: rate(dB, domB), better: 'none' });
      metrics.push({ key: 'baselineIdentity.transferRate.AtoB', label: `Baseline (no translation): real A judged "${String(domB)}"`, value: rate(dA, domB), better: 'none' });
      metrics.push({ key: 'baselineIdentity.transferRate.BtoA', label: `Baseline (no translation): real B judged "${String(domA)}"`, value: rate(dB, domA), better: 'none' });
      metrics.push({ key: 'cycleL1.A', label: 'Cycle L1 A->B->A', value: meanL1(rows(recA), rA.data), better: 'lower' });
      metrics.push({ key: 'cycleL1.B', label: 'Cycle L1 B->A->B', value: meanL1(rows(recB), rB.data), better: 'lower' });
      // How far a translation moves the pixels: the scale a cycle L1 should be small against.
      metrics.push({ key: 'changeL1.AtoB', label: 'Change L1 |G_A(A) - A| (reference for cycle L1 A)', value: meanL1(fB.data, rA.data), better: 'none' });
      metrics.push({ key: 'changeL1.BtoA', label: 'Change L1 |G_B(B) - B| (reference for cycle L1 B)', value: meanL1(fA.data, rB.data), better: 'none' });
      const sharesOf = (x: ImageSet) => {
        const per = x.size * x.size * x.channels;
        let g = 0;
        let w = 0;
        for (let i = 0; i < x.n; i++) {
          const h = hueShares({ data: x.data.subarray(i * per, (i + 1) * per), channels: x.channels, scale: 1 });
          g += h.green / x.n;
          w += h.warm / x.n;
        }
        return { green: g, warm: w };
      };
      details.hueShares = { realA: sharesOf(rA), realB: sharesOf(rB), fakeB: sharesOf(fB), fakeA: sharesOf(fA) };
      metrics.push({ key: 'colourfulness.fakeB', label: 'Colourfulness of translated A (Hasler-Süsstrunk)', value: colourfulnessMean(fB), better: 'none', note: `real B ${colourfulnessMean(rB).toFixed(1)}, real A ${colourfulnessMean(rA).toFixed(1)}` });
      details.domains = { A: domA, B: domB };
    } else if (suite === 'unpaired') {
      progress(0.1, 'reading both domains');
      const a = await loadSplit(ws, opts.dataset, split, 'a', opts.limit, seed);
      const b = await loadSplit(ws, opts.dataset, split, 'b', opts.limit, seed);
      description = `${a.description} | ${b.description}`;
      count = a.matrix.rows + b.matrix.rows;
      const ax = keep(tensorOf(a, size, channels));
      const bx = keep(tensorOf(b, size, channels));
      // Domain classes: the classifier's majority vote on the real images of each domain.
      const predA = classify(clf!, ax);
      const predB = classify(clf!, bx);
      const majority = (p: Int32Array) => {
        const c = new Map<number, number>();
        for (const v of p) c.set(v, (c.get(v) ?? 0) + 1);
        return [...c.entries()].sort((x, y) => y[1] - x[1])[0]![0];
      };
      const classA = majority(predA);
      const classB = majority(predB);
      const names = clf!.meta.classes;
      if (classA === classB) notes.push(`Both domains look like "${names[classA]}" to the classifier: the transfer rate cannot separate them.`);
      progress(0.3, 'translating both ways');
      const fakeB = keep(translateAll(bundle, ax, 'AtoB'));
      const fakeA = keep(translateAll(bundle, bx, 'BtoA'));
      const recA = keep(translateAll(bundle, fakeB, 'BtoA'));
      const recB = keep(translateAll(bundle, fakeA, 'AtoB'));
      const idtB = keep(translateAll(bundle, bx, 'AtoB'));
      const idtA = keep(translateAll(bundle, ax, 'BtoA'));
      await hooks.checkpoint?.();
      progress(0.7, 'scoring');
      const tAB = transferRate(classify(clf!, fakeB), classB);
      const tBA = transferRate(classify(clf!, fakeA), classA);
      const rows = (t: tf.Tensor4D) => toRows(t).data;
      metrics.push({ key: 'transferRate.AtoB', label: `Domain-transfer rate A->B (classified "${names[classB]}")`, value: tAB.rate, better: 'higher', note: `${a.matrix.rows} translated A images` });
      metrics.push({ key: 'transferRate.BtoA', label: `Domain-transfer rate B->A (classified "${names[classA]}")`, value: tBA.rate, better: 'higher', note: `${b.matrix.rows} translated B images` });
      metrics.push({ key: 'realRate.A', label: `Reference: real A classified "${names[classA]}"`, value: transferRate(predA, classA).rate, better: 'none' });
      metrics.push({ key: 'realRate.B', label: `Reference: real B classified "${names[classB]}"`, value: transferRate(predB, classB).rate, better: 'none' });
      metrics.push({ key: 'baselineIdentity.transferRate.AtoB', label: 'Baseline (no translation): real A classified as B', value: transferRate(predA, classB).rate, better: 'none' });
      metrics.push({ key: 'cycleL1.A', label: 'Cycle L1 A->B->A', value: meanL1(rows(recA), rows(ax)), better: 'lower' });
      metrics.push({ key: 'cycleL1.B', label: 'Cycle L1 B->A->B', value: meanL1(rows(recB), rows(bx)), better: 'lower' });
      metrics.push({ key: 'identityL1.A', label: 'Identity L1 |G_A(B) - B|', value: meanL1(rows(idtB), rows(bx)), better: 'lower' });
      metrics.push({ key: 'identityL1.B', label: 'Identity L1 |G_B(A) - A|', value: meanL1(rows(idtA), rows(ax)), better: 'lower' });
      const fB = classifierFeatures(clf!, fakeB);
      const fA = classifierFeatures(clf!, fakeA);
      const rB = classifierFeatures(clf!, bx);
      const rA = classifierFeatures(clf!, ax);
      metrics.push({ key: 'fdFashionCnn.AtoB', label: 'FD-FashionCNN, translated A vs real B', value: frechetDistance(fB, rB), better: 'lower' });
      metrics.push({ key: 'fdFashionCnn.BtoA', label: 'FD-FashionCNN, translated B vs real A', value: frechetDistance(fA, rA), better: 'lower' });
      metrics.push({ key: 'baselineIdentity.fdFashionCnn.AtoB', label: 'FD-FashionCNN baseline: real A vs real B', value: frechetDistance(rA, rB), better: 'none' });
      details.domainClasses = { A: { index: classA, name: names[classA] }, B: { index: classB, name: names[classB] } };
    } else if (suite === 'reconstruction') {
      progress(0.1, 'reading images');
      const test = opts.inMemory?.test ?? (await loadSplit(ws, opts.dataset, split, undefined, opts.limit, seed));
      const train = opts.inMemory?.train ?? (await loadSplit(ws, opts.dataset, 'train', undefined, 5000, seed));
      description = test.description;
      count = test.matrix.rows;
      const x = keep(tensorOf(test, size, channels));
      const target = toRows(x);
      progress(0.3, 'reconstructing');
      const rec = toRows(keep(translateAll(bundle, x)));
      const mse = meanMse(rec.data, target.data);
      const k = bundle.meta.latent?.size ?? (bundle.meta.config.latent as number);
      progress(0.5, `fitting PCA with ${k} components on ${train.matrix.rows} training images`);
      await hooks.checkpoint?.();
      const trainRows = toRows(keep(tensorOf(train, size, channels)));
      const d = size * size * channels;
      const model = pca({ rows: trainRows.n, cols: d, data: trainRows.data }, { nComponents: Math.min(k, trainRows.n - 1), seed });
      const proj = pcaProject(model, { rows: target.n, cols: d, data: target.data });
      const kk = proj.cols;
      const pmse = meanMse(pcaReconstruct(model, proj).data, target.data);
      metrics.push({ key: 'reconMse', label: `Reconstruction MSE (bottleneck ${k})`, value: mse, better: 'lower' });
      metrics.push({ key: 'baselinePca.reconMse', label: `Reconstruction MSE, PCA with ${kk} components (baseline)`, value: pmse, better: 'none', note: `PCA fitted on ${trainRows.n} training images (${model.method})` });
      metrics.push({ key: 'reconL1', label: 'Reconstruction L1', value: meanL1(rec.data, target.data), better: 'lower' });
      metrics.push({ key: 'reconSsim', label: 'Reconstruction SSIM', value: ssimMean(rec, target), better: 'higher' });
      details.beatsPca = mse < pmse;
    } else {
      throw new StudioError('BAD_INPUT', `No evaluation for ${kind} bundles.`);
    }
    progress(1, 'done');
    return {
      model: { id: ref.id, kind, dir: ref.dir, imageSize: size },
      dataset: { id: opts.dataset, split, count, description },
      ...(clf ? { classifier: { dir: opts.classifier ? path.resolve(opts.classifier) : path.join(ws.shippedModels, DEFAULT_CLASSIFIER), name: clf.meta.name, featureDim: clf.meta.featureDim } } : {}),
      metrics,
      details,
      notes,
      seed,
      durationSec: (performance.now() - t0) / 1000,
    };
  } finally {
    tf.dispose(live);
    disposeBundle(bundle);
    if (clf) disposeClassifier(clf);
  }
}

/** The value of a metric by key (throws when missing). */
export function metricValue(r: EvalResult, key: string): number {
  const m = r.metrics.find((x) => x.key === key);
  if (!m) throw new Error(`no metric ${key} in the evaluation of ${r.model.id}`);
  return m.value;
}
