/**
 * FashionCNN: the small Fashion-MNIST classifier the quality metrics are measured with
 * (conditional accuracy, domain-transfer rate, FD-FashionCNN). Trained by the project
 * (scripts/train-demos.ts, stage "classifier"), shipped in models/fashion-classifier/.
 *
 * Input convention (one for every caller, see toClassifierInput):
 *   [N, 32, 32, 1] float32 in [-1, 1] (black = -1), the models' own value range.
 *   - 32x32 images are used as they are;
 *   - 28x28 images (raw Fashion-MNIST) are padded with 2 black pixels per side, exactly as the
 *     demo datasets pad them (data/demo.ts pad32), so the item keeps its 28-pixel extent;
 *   - any other size is resized bilinearly to 32x32;
 *   - colour images are averaged to grey.
 *
 * Network (about 0.1 M parameters, ~400 kB):
 *   conv3 16 ReLU, maxpool2      [N, 16, 16, 16]
 *   conv3 32 ReLU, maxpool2      [N, 8, 8, 32]
 *   conv3 64 ReLU, maxpool2      [N, 4, 4, 64]
 *   flatten, dense 64 ReLU       [N, 64]    <- "features": the space FD-FashionCNN is measured in
 *   dense 10                     [N, 10]    logits
 *
 * Bundle folder: classifier.json (format 'atelier-classifier': classes, input convention,
 * training summary, accuracy) + network/model.json + network/weights.bin (tfjs layers format).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../backend';
import { loadModelFromDir, saveModelToDir } from '../networks/io';
import { exists, makeTempDirBeside, publishDir } from '../core/fsutil';
import { StudioError } from '../../../shared/errors';
import { Rng } from './rng';

export const CLASSIFIER_SIZE = 32;
export const FEATURE_LAYER = 'features';
export const FEATURE_DIM = 64;

export interface ClassifierMeta {
  format: 'atelier-classifier';
  version: 1;
  name: string;
  classes: string[];
  input: { size: number; channels: 1; layout: 'NHWC'; valueRange: [number, number]; from28: 'pad-2px-black'; otherSizes: 'bilinear-resize'; colour: 'mean-to-grey' };
  featureLayer: string;
  featureDim: number;
  training: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

export interface Classifier {
  meta: ClassifierMeta;
  model: tf.LayersModel;
  /** Same weights, output = the penultimate (feature) layer. */
  featureModel: tf.LayersModel;
}

/** Build the (untrained) network, weights from `seed`. */
export function buildClassifierNetwork(seed = 0, numClasses = 10): tf.LayersModel {
  let s = seed * 7919 + 1;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  const x = tf.input({ shape: [CLASSIFIER_SIZE, CLASSIFIER_SIZE, 1], name: 'image' });
  let h = x as tf.SymbolicTensor;
  for (const [i, f] of [16, 32, 64].entries()) {
    h = tf.layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), name: `conv${i + 1}` }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${i + 1}` }).apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: FEATURE_DIM, activation: 'relu', kernelInitializer: init(), name: FEATURE_LAYER }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }), name: 'logits' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: logits, name: 'fashion_cnn' });
}

/**
 * PixelMLP, the "second judge" of generated images (a different family from FashionCNN: no
 * convolutions, no pooling, so it does not share the CNN's blind spots):
 *   flatten [N, 1024] -> dense 256 ReLU -> dense 64 ReLU ("features") -> dense 10 logits
 * Same input convention and folder format as FashionCNN (loadClassifier reads either).
 */
export function buildPixelMlpNetwork(seed = 0, numClasses = 10): tf.LayersModel {
  let s = seed * 7919 + 3;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  const x = tf.input({ shape: [CLASSIFIER_SIZE, CLASSIFIER_SIZE, 1], name: 'image' });
  let h = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 256, activation: 'relu', kernelInitializer: init(), name: 'hidden' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: FEATURE_DIM, activation: 'relu', kernelInitializer: init(), name: FEATURE_LAYER }).apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }), name: 'logits' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: logits, name: 'pixel_mlp' });
}

function featureModelOf(model: tf.LayersModel): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(FEATURE_LAYER).output as tf.SymbolicTensor });
}

/**
 * Bring images to the classifier's input: [N, 32, 32, 1] in [-1, 1].
 * `x` is NHWC in [-1, 1] (any size, 1 to 4 channels).
 */
export function toClassifierInput(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    let g = x.shape[3] === 1 ? x : (tf.mean(x.slice([0, 0, 0, 0], [-1, -1, -1, Math.min(3, x.shape[3])]), 3, true) as tf.Tensor4D);
    const s = g.shape[1];
    if (s === CLASSIFIER_SIZE && g.shape[2] === CLASSIFIER_SIZE) return g.clone();
    if (s === 28 && g.shape[2] === 28) return tf.pad(g, [[0, 0], [2, 2], [2, 2], [0, 0]], -1) as tf.Tensor4D;
    g = tf.image.resizeBilinear(g, [CLASSIFIER_SIZE, CLASSIFIER_SIZE]);
    return g;
  });
}

/** uint8 greyscale images (N x size x size, 0..255) -> [N, size, size, 1] in [-1, 1]. */
export function bytesToTensor(bytes: Uint8Array, n: number, size: number): tf.Tensor4D {
  const f = new Float32Array(n * size * size);
  for (let i = 0; i < f.length; i++) f[i] = bytes[i]! / 127.5 - 1;
  return tf.tensor4d(f, [n, size, size, 1]);
}

function inBatches(x: tf.Tensor4D, batch: number, fn: (b: tf.Tensor4D) => tf.Tensor): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < x.shape[0]; i += batch) {
    const n = Math.min(batch, x.shape[0] - i);
    const r = tf.tidy(() => fn(toClassifierInput(x.slice([i, 0, 0, 0], [n, -1, -1, -1]))));
    out.push(Float32Array.from(r.dataSync()));
    r.dispose();
  }
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Predicted class of each image (x: NHWC in [-1, 1], any size; see toClassifierInput). */
export function classify(c: Classifier, x: tf.Tensor4D, batch = 256): Int32Array {
  const parts = inBatches(x, batch, (b) => tf.argMax(c.model.apply(b, { training: false }) as tf.Tensor2D, 1));
  return Int32Array.from(concat(parts));
}

/** Softmax probabilities [N, classes] row-major. */
export function classProbabilities(c: Classifier, x: tf.Tensor4D, batch = 256): Float32Array {
  return concat(inBatches(x, batch, (b) => tf.softmax(c.model.apply(b, { training: false }) as tf.Tensor2D)));
}

/** Penultimate-layer features [N, FEATURE_DIM] row-major (the FD-FashionCNN space). */
export function classifierFeatures(c: Classifier, x: tf.Tensor4D, batch = 256): { data: Float32Array; rows: number; cols: number } {
  const data = concat(inBatches(x, batch, (b) => c.featureModel.apply(b, { training: false }) as tf.Tensor));
  return { data, rows: x.shape[0], cols: c.meta.featureDim };
}

export interface TrainClassifierOptions {
  /** uint8 images, n x size x size (28 or 32). */
  images: Uint8Array;
  labels: Uint8Array;
  size: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  classes: string[];
  /** Random shifts of up to this many pixels (0: none). */
  shift?: number;
  /** Learning-rate factor at a point of the run, progress in [0, 1) (default 1). */
  lrFactor?: (progress: number) => number;
  /** Stop after this many minutes (the result says how many steps were done). */
  maxMinutes?: number;
  /** Start from these weights (continue a training) instead of the seeded initialisation. */
  initialWeights?: tf.Tensor[];
  /** Another network of the same input/feature convention (default FashionCNN), e.g. the pixel-MLP judge. */
  build?: (seed: number, numClasses: number) => tf.LayersModel;
  onProgress?: (p: { epoch: number; step: number; total: number; loss: number; acc: number }) => void;
  /** Between steps (cancel point). */
  checkpoint?: () => Promise<void>;
}

/** Train a fresh classifier with Adam + softmax cross-entropy; returns the network (caller disposes). */
export async function trainClassifier(o: TrainClassifierOptions): Promise<{ model: tf.LayersModel; steps: number; durationSec: number; finalLoss: number }> {
  const n = o.labels.length;
  const px = o.size * o.size;
  const model = (o.build ?? buildClassifierNetwork)(o.seed, o.classes.length);
  if (o.initialWeights) model.setWeights(o.initialWeights);
  const opt = tf.train.adam(o.lr);
  const rng = new Rng(o.seed);
  const perEpoch = Math.ceil(n / o.batchSize);
  const total = perEpoch * o.epochs;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const t0 = performance.now();
  let step = 0;
  let ema = NaN;
  let emaAcc = NaN;
  const shift = o.shift ?? 0;
  for (let e = 0; e < o.epochs; e++) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let b = 0; b < perEpoch; b++) {
      await o.checkpoint?.();
      if (o.maxMinutes && (performance.now() - t0) / 60000 > o.maxMinutes) break;
      (opt as unknown as { learningRate: number }).learningRate = o.lr * (o.lrFactor?.(step / total) ?? 1);
      const idx = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
      const k = idx.length;
      const buf = new Float32Array(k * px).fill(-1);
      const lab = new Int32Array(k);
      idx.forEach((src, r) => {
        const dx = shift ? Math.floor(rng.next() * (2 * shift + 1)) - shift : 0;
        const dy = shift ? Math.floor(rng.next() * (2 * shift + 1)) - shift : 0;
        for (let y = 0; y < o.size; y++) {
          const sy = y - dy;
          if (sy < 0 || sy >= o.size) continue;
          for (let x = 0; x < o.size; x++) {
            const sx = x - dx;
            if (sx < 0 || sx >= o.size) continue;
            buf[r * px + y * o.size + x] = o.images[src * px + sy * o.size + sx]! / 127.5 - 1;
          }
        }
        lab[r] = o.labels[src]!;
      });
      const [loss, acc] = tf.tidy(() => {
        const x = toClassifierInput(tf.tensor4d(buf, [k, o.size, o.size, 1]));
        const y = tf.oneHot(tf.tensor1d(lab, 'int32'), o.classes.length);
        let logits: tf.Tensor2D | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const l = model.apply(x, { training: true }) as tf.Tensor2D;
          logits = tf.keep(l);
          return tf.losses.softmaxCrossEntropy(y, l) as tf.Scalar;
        }, vars);
        opt.applyGradients(grads as unknown as tf.NamedTensorMap & Record<string, tf.Variable>);
        const kept = logits as unknown as tf.Tensor2D;
        const a = tf.mean(tf.cast(tf.equal(tf.argMax(kept, 1), tf.tensor1d(lab, 'int32')), 'float32'));
        const out = [value.dataSync()[0]!, a.dataSync()[0]!];
        kept.dispose();
        return out;
      });
      ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
      emaAcc = Number.isNaN(emaAcc) ? acc : 0.98 * emaAcc + 0.02 * acc;
      step++;
      o.onProgress?.({ epoch: e, step, total, loss: ema, acc: emaAcc });
    }
    if (o.maxMinutes && (performance.now() - t0) / 60000 > o.maxMinutes) break;
  }
  opt.dispose();
  return { model, steps: step, durationSec: (performance.now() - t0) / 1000, finalLoss: ema };
}

export async function saveClassifier(dir: string, model: tf.LayersModel, meta: Omit<ClassifierMeta, 'format' | 'version' | 'input' | 'featureLayer' | 'featureDim'>): Promise<ClassifierMeta> {
  const full: ClassifierMeta = {
    format: 'atelier-classifier',
    version: 1,
    ...meta,
    input: { size: CLASSIFIER_SIZE, channels: 1, layout: 'NHWC', valueRange: [-1, 1], from28: 'pad-2px-black', otherSizes: 'bilinear-resize', colour: 'mean-to-grey' },
    featureLayer: FEATURE_LAYER,
    featureDim: FEATURE_DIM,
  };
  const tmp = await makeTempDirBeside(dir);
  await saveModelToDir(model, path.join(tmp, 'network'));
  await fsp.writeFile(path.join(tmp, 'classifier.json'), JSON.stringify(full, null, 2) + '\n');
  // Keep what else lives in the folder (model card) across a re-save.
  for (const keep of ['README.md', 'card.json']) {
    if (await exists(path.join(dir, keep))) await fsp.copyFile(path.join(dir, keep), path.join(tmp, keep));
  }
  await publishDir(tmp, dir);
  return full;
}

export async function loadClassifier(dir: string): Promise<Classifier> {
  const file = path.join(dir, 'classifier.json');
  if (!(await exists(file))) {
    throw new StudioError('NOT_FOUND', `No classifier at ${dir} (classifier.json missing).`, { hint: 'The shipped one is models/fashion-classifier (npm run train:demos -- --only classifier rebuilds it).' });
  }
  const meta = JSON.parse(await fsp.readFile(file, 'utf8')) as ClassifierMeta;
  if (meta.format !== 'atelier-classifier') throw new StudioError('BAD_INPUT', `${file} is not an Atelier classifier.`);
  const model = await loadModelFromDir(path.join(dir, 'network'));
  return { meta, model, featureModel: featureModelOf(model) };
}

export function disposeClassifier(c: Classifier): void {
  c.model.dispose();
}
