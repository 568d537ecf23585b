/**
 * Rows for the analyses computed by a model bundle, and the PCA-versus-autoencoder
 * reconstruction comparison (analysis.reconstruct).
 *
 *   latent     z of a gan/cgan: row i = sampleZ(seed + i) (as latent.sample and generate), a
 *              cgan's row i has class i mod classes; the image of a point is
 *              latent.render {z: {seed: seeds[i]}, label}.
 *   generated  the generator's output for those z, flattened HWC with pixels in [0, 1] (the
 *              convention of dataset rows, so components can be drawn as images).
 *   features   an autoencoder's encoder outputs of dataset images (the same seeded subset a
 *              dataset source takes, so a smaller limit gives a subset of the rows).
 *
 * Inference runs on the cached ONNX sessions (infer/registry getModel); dataset images reach the
 * model's size and range through eval's toModelTensor (tfjs, tidied and disposed here).
 */
import type { z } from 'zod';
import {
  type ReconstructExample,
  type ReconstructResult,
  ANALYSIS_MODEL_MAX_ROWS,
  modelSourceSchema,
  reconstructRequestSchema,
} from '../../../shared/channels/analysis';
import { StudioError } from '../../../shared/errors';
import { initBackend, tf } from '../backend';
import { datasetDir, readManifest } from '../data/store';
import { toModelTensor } from '../eval/evaluate';
import { meanMse } from '../eval/metrics';
import { modelToPng } from '../infer/image';
import { sampleZ } from '../infer/latent';
import { isTranslator, type InferenceModel } from '../infer/model';
import fsp from 'node:fs/promises';
import { createSession, floatTensor, type OrtSession } from '../export/ort';
import { withFeatureOutput } from '../export/onnx-transform';
import { getModel, resolveModelRef } from '../infer/registry';
import type { Workspace } from '../core/workspace';
import type { ResolvedSource } from './api';
import { type DatasetMatrix, loadDatasetMatrix } from './dataset-source';
import { pcaProject, pcaReconstruct, pcaSteps } from './pca';
import { driveAsync } from './steps';

export type ModelSourceReq = z.output<typeof modelSourceSchema>;
export type ReconstructReq = z.output<typeof reconstructRequestSchema>;

/** Progress (0..1) and a cancel/pause point between chunks of inference. */
export interface SourceHooks {
  progress?(fraction: number, message: string): void;
  checkpoint?(): Promise<void>;
}

interface Ctx {
  workspace: Workspace;
}

/** Images per inference call. */
const CHUNK = 64;

export function isModelSource(s: { kind: string }): s is ModelSourceReq {
  return s.kind === 'latent' || s.kind === 'generated' || s.kind === 'features';
}

/** Cheap checks before a job starts: the model exists (and the dataset, for features). */
export async function precheckModelSource(ctx: Ctx, s: ModelSourceReq): Promise<void> {
  await resolveModelRef(ctx.workspace, s.model);
  if (s.kind === 'features') {
    await readManifest(datasetDir(ctx.workspace, s.datasetId));
  }
}

function needLatent(m: InferenceModel, what: string): number {
  if (isTranslator(m.info.capabilities) || !m.info.latentSize) {
    throw new StudioError('BAD_INPUT', `Model "${m.info.name}" is a ${m.info.kind}: it has no latent space to ${what}.`, {
      hint: 'Pick a model that generates from a latent vector (a GAN, or an autoencoder) for latent vectors and generated images.',
    });
  }
  return m.info.latentSize;
}

function needAutoencoder(m: InferenceModel, orTranslator = false): void {
  if (!m.info.capabilities.encode && !(orTranslator && isTranslator(m.info.capabilities))) {
    throw new StudioError('BAD_INPUT', `Model "${m.info.name}" is a ${m.info.kind}, not an autoencoder${orTranslator ? ' or a translator' : ''}: it has no encoder features.`, {
      hint: `Pick an autoencoder bundle (e.g. fashion-autoencoder)${orTranslator ? ' or an image translator (its bottleneck)' : ''}.`,
    });
  }
}

/**
 * A translator's bottleneck: the activation that feeds the first transposed convolution of the
 * exported ONNX graph (U-Net: the innermost down block; ResNet generator: the last residual block),
 * flattened per image. The cut graph's session is kept per file (and its mtime).
 */
const bottlenecks = new Map<string, Promise<{ session: OrtSession; node: string }>>();

async function bottleneckSession(ctx: Ctx, ref: string): Promise<{ session: OrtSession; node: string }> {
  const r = await resolveModelRef(ctx.workspace, ref);
  if (!r.onnx) {
    throw new StudioError('BAD_INPUT', `Translator "${ref}" has no ONNX export yet: its bottleneck is read from the exported graph.`, { hint: 'Export it to ONNX on the Models page first.' });
  }
  const file = r.onnx;
  const key = `${file}|${(await fsp.stat(file)).mtimeMs}`;
  let p = bottlenecks.get(key);
  if (!p) {
    p = (async () => {
      const bytes = new Uint8Array(await fsp.readFile(file));
      let target: string | undefined;
      const cut = withFeatureOutput(bytes, (n, _i, all) => {
        // Our exporter writes a transposed conv as phase Convs named "…Conv2DTranspose…/phaseXY/Conv".
        target ??= all.find((x) => x.opType === 'ConvTranspose' || /transpose/i.test(x.name))?.inputs[0];
        return target !== undefined && n.outputs[0] === target;
      });
      if (!cut) throw new StudioError('BAD_INPUT', `Cannot find the bottleneck of "${ref}" (no ConvTranspose in its graph).`);
      return { session: await createSession(cut.bytes), node: cut.node };
    })();
    p.catch(() => bottlenecks.delete(key));
    bottlenecks.set(key, p);
  }
  return p;
}

/** Forget the translator bottleneck sessions (tests, shutdown). */
export async function releaseBottlenecks(): Promise<void> {
  const all = [...bottlenecks.values()];
  bottlenecks.clear();
  for (const p of all) await p.then((b) => b.session.release()).catch(() => undefined);
}

/** z of rows seed .. seed + n - 1 (each as sampleZ(seed + i, 1, L)), and a cgan's class per row. */
function seededZ(m: InferenceModel, seed: number, n: number, L: number): { z: Float32Array; seeds: number[]; labels?: number[] } {
  const z = new Float32Array(n * L);
  const seeds: number[] = [];
  for (let i = 0; i < n; i++) {
    z.set(sampleZ(seed + i, 1, L), i * L);
    seeds.push(seed + i);
  }
  const classes = m.hasLabels ? (m.info.numClasses ?? m.info.classNames?.length ?? 0) : 0;
  return { z, seeds, ...(classes > 0 ? { labels: seeds.map((_, i) => i % classes) } : {}) };
}

/** NCHW [-1, 1] images -> HWC rows in [0, 1] (clipped). */
export function nchwToRows(y: Float32Array, n: number, c: number, s: number): Float32Array {
  const plane = s * s;
  const per = c * plane;
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    const o = i * per;
    for (let p = 0; p < plane; p++) {
      for (let k = 0; k < c; k++) {
        const v = (y[o + k * plane + p]! + 1) / 2;
        out[o + p * c + k] = v <= 0 ? 0 : v >= 1 ? 1 : v;
      }
    }
  }
  return out;
}

/** HWC rows in [0, 1] -> NCHW [-1, 1] (no clipping: PCA reconstructions may leave the range). */
function rowsToNchw(rows: Float32Array, n: number, c: number, s: number): Float32Array {
  const plane = s * s;
  const per = c * plane;
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    const o = i * per;
    for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[o + k * plane + p] = rows[o + p * c + k]! * 2 - 1;
  }
  return out;
}

/**
 * Dataset rows at the model's size and channels: NCHW in [-1, 1] (the model's input) and HWC
 * rows in [0, 1] (what reconstructions are compared with). 28x28 Fashion-MNIST is padded to 32
 * as in training.
 */
export async function datasetToModel(dm: DatasetMatrix, size: number, channels: number): Promise<{ nchw: Float32Array; rows: Float32Array }> {
  await initBackend();
  const { width: w, height: h, channels: c } = dm.image;
  const n = dm.matrix.rows;
  const [nchw, rows] = tf.tidy(() => {
    const x = toModelTensor(dm.matrix.data, n, w, h, c, size, channels);
    const a = tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array;
    const b = tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1).dataSync() as Float32Array;
    return [Float32Array.from(a), Float32Array.from(b)];
  });
  return { nchw, rows };
}

/** Run `fn` over n items in chunks, concatenating the outputs (progress and checkpoints between chunks). */
async function chunked(n: number, per: number, fn: (start: number, count: number) => Promise<Float32Array>, hooks: SourceHooks, what: string): Promise<Float32Array> {
  const out = new Float32Array(n * per);
  for (let s = 0; s < n; s += CHUNK) {
    await hooks.checkpoint?.();
    const k = Math.min(CHUNK, n - s);
    const y = await fn(s, k);
    if (y.length !== k * per) throw new StudioError('BAD_INPUT', `The model answered ${y.length / k} values per row; ${per} were expected.`);
    out.set(y, s * per);
    hooks.progress?.((s + k) / n, `${what} ${s + k}/${n}`);
  }
  return out;
}

export async function resolveModelSource(ctx: Ctx, s: ModelSourceReq, defaultLimit: number, hooks: SourceHooks = {}): Promise<ResolvedSource> {
  const m = await getModel(ctx.workspace, s.model, 'onnx');
  const name = m.info.name;
  if (s.kind === 'latent' || s.kind === 'generated') {
    const L = needLatent(m, s.kind === 'latent' ? 'sample' : 'generate from');
    const n = Math.min(s.count ?? defaultLimit, ANALYSIS_MODEL_MAX_ROWS);
    const { z, seeds, labels } = seededZ(m, s.seed, n, L);
    const classInfo = labels ? { classLabels: labels, ...(m.info.classNames ? { classes: m.info.classNames } : {}) } : {};
    const seedText = `seeds ${s.seed}..${s.seed + n - 1}`;
    if (s.kind === 'latent') {
      hooks.progress?.(1, `${n} latent vectors`);
      return {
        matrix: { rows: n, cols: L, data: z },
        info: { n, d: L, description: `${name} latent z (${n} vectors, ${seedText}${labels ? ', classes in turn' : ''})`, model: s.model, seeds, ...classInfo },
      };
    }
    const { channels: c, imageSize: S } = m.info;
    const per = c * S * S;
    const y = await chunked(
      n,
      per,
      (start, k) => m.generate({ z: z.subarray(start * L, (start + k) * L), n: k, ...(labels ? { labels: labels.slice(start, start + k) } : {}) }),
      hooks,
      'generating',
    );
    return {
      matrix: { rows: n, cols: per, data: nchwToRows(y, n, c, S) },
      info: {
        n,
        d: per,
        description: `${name} generated images (${n}, ${seedText}, ${S}x${S}x${c})`,
        model: s.model,
        seeds,
        image: { width: S, height: S, channels: c },
        ...classInfo,
      },
    };
  }
  needAutoencoder(m, true);
  const translator = isTranslator(m.info.capabilities) && !m.info.capabilities.encode;
  const bott = translator ? await bottleneckSession(ctx, s.model) : null;
  const dm = await loadDatasetMatrix(ctx, s.datasetId, s.limit ?? defaultLimit, { split: s.split, ...(s.role ? { role: s.role } : {}), seed: s.seed });
  const n = dm.matrix.rows;
  const S = m.info.imageSize;
  const { nchw } = await datasetToModel(dm, S, m.info.inChannels);
  const per = m.info.inChannels * S * S;
  let L: number;
  let f: Float32Array;
  if (bott) {
    const probe = await bott.session.run({ input: floatTensor(nchw.slice(0, per), [1, m.info.inChannels, S, S]) });
    L = (probe.features!.data as Float32Array).length;
    f = await chunked(
      n,
      L,
      async (start, k) => Float32Array.from((await bott.session.run({ input: floatTensor(nchw.slice(start * per, (start + k) * per), [k, m.info.inChannels, S, S]) })).features!.data as Float32Array),
      hooks,
      'encoding',
    );
  } else {
    L = needLatent(m, 'encode to');
    f = await chunked(n, L, (start, k) => m.encode(nchw.subarray(start * per, (start + k) * per), k), hooks, 'encoding');
  }
  return {
    matrix: { rows: n, cols: L, data: f },
    info: {
      n,
      d: L,
      description: `${name} ${bott ? `bottleneck (${bott.node}, ${L} values)` : 'encoder features'} of ${dm.description}`,
      indices: dm.indices,
      ...(dm.labels ? { classLabels: dm.labels } : {}),
      ...(dm.classes ? { classes: dm.classes } : {}),
      datasetId: s.datasetId,
      split: s.split,
      model: s.model,
    },
  };
}

async function loadCompared(ctx: Ctx, req: ReconstructReq): Promise<DatasetMatrix> {
  const opts = { ...(req.role ? { role: req.role } : {}), seed: req.seed };
  if (req.split) return loadDatasetMatrix(ctx, req.datasetId, req.limit, { ...opts, split: req.split });
  try {
    return await loadDatasetMatrix(ctx, req.datasetId, req.limit, { ...opts, split: 'test' });
  } catch (e) {
    if (!(e instanceof StudioError) || e.code !== 'NOT_FOUND') throw e;
    return loadDatasetMatrix(ctx, req.datasetId, req.limit, { ...opts, split: 'train' });
  }
}

/**
 * The same images reconstructed by PCA with k components and by the autoencoder, both at the
 * model's size with pixels in [0, 1]: MSE of each and example triplets (original | PCA | AE).
 */
export async function reconstructCompare(ctx: Ctx, req: ReconstructReq, hooks: SourceHooks = {}): Promise<ReconstructResult> {
  const m = await getModel(ctx.workspace, req.model, 'onnx');
  needAutoencoder(m);
  const { imageSize: S, inChannels: c } = m.info;
  const d = S * S * c;
  hooks.progress?.(0.02, 'reading images');
  const test = await loadCompared(ctx, req);
  if (test.matrix.rows < 2) throw new StudioError('BAD_INPUT', 'The comparison needs at least 2 images.', { hint: 'Pick a larger limit or dataset.' });
  const n = test.matrix.rows;
  const x = await datasetToModel(test, S, c);
  await hooks.checkpoint?.();
  // The autoencoder's reconstruction.
  const y = await chunked(n, d, (s, k) => m.translate(x.nchw.subarray(s * d, (s + k) * d), k), { ...hooks, progress: (f, msg) => hooks.progress?.(0.05 + 0.35 * f, msg) }, 'reconstructing');
  const ae = nchwToRows(y, n, m.info.channels, S);
  // PCA fitted on training images (or on the compared ones).
  let fitRows = x.rows;
  let fitN = n;
  if (req.fitOn === 'train') {
    hooks.progress?.(0.4, 'reading training images');
    const train = await loadDatasetMatrix(ctx, req.datasetId, req.fitLimit, { split: 'train', ...(req.role ? { role: req.role } : {}), seed: req.seed });
    fitN = train.matrix.rows;
    fitRows = (await datasetToModel(train, S, c)).rows;
  }
  if (fitN < 2) throw new StudioError('BAD_INPUT', 'PCA needs at least 2 training images.');
  await hooks.checkpoint?.();
  const kWanted = req.k ?? m.info.latentSize ?? 32;
  const k = Math.max(1, Math.min(kWanted, d, fitN - 1));
  hooks.progress?.(0.45, `fitting PCA with ${k} components on ${fitN} images`);
  // Between PCA passes: progress, and the job's cancel/pause point (other requests get in too).
  const model = await driveAsync(pcaSteps({ rows: fitN, cols: d, data: fitRows }, { nComponents: k, seed: req.seed }), async (s) => {
    hooks.progress?.(0.45 + 0.45 * s.fraction, s.message);
    await hooks.checkpoint?.();
  });
  await hooks.checkpoint?.();
  const X = { rows: n, cols: d, data: x.rows };
  const rec = pcaReconstruct(model, pcaProject(model, X, Math.min(k, model.components.rows))).data;
  const pcaMse = meanMse(rec, x.rows);
  const aeMse = meanMse(ae, x.rows);
  // Variance of the compared images kept by the k components.
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x.rows[i * d + j]! / n;
  let ss = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) ss += (x.rows[i * d + j]! - mean[j]!) ** 2;
  hooks.progress?.(0.95, 'drawing examples');
  const examples: ReconstructExample[] = [];
  const pcaNchw = rowsToNchw(rec, Math.min(req.examples, n), c, S);
  const origNchw = x.nchw;
  for (let i = 0; i < Math.min(req.examples, n); i++) {
    const png = async (data: Float32Array, ch: number) => {
      const r = await modelToPng(data, ch, S, { index: i, fast: true });
      return { png: r.png, width: r.width, height: r.height };
    };
    examples.push({
      index: test.indices[i]!,
      original: await png(origNchw, c),
      pca: await png(pcaNchw, c),
      autoencoder: await png(y, m.info.channels),
      pcaMse: meanMse(rec.subarray(i * d, i * d + d), x.rows.subarray(i * d, i * d + d)),
      autoencoderMse: meanMse(ae.subarray(i * d, i * d + d), x.rows.subarray(i * d, i * d + d)),
    });
  }
  hooks.progress?.(1, 'done');
  return {
    model: req.model,
    k: model.components.rows,
    ...(m.info.latentSize ? { latentSize: m.info.latentSize } : {}),
    n,
    description: test.description,
    fit: { on: req.fitOn, n: fitN, method: model.method },
    pcaMse,
    autoencoderMse: aeMse,
    ...(ss > 0 ? { pcaExplained: Math.max(0, 1 - (pcaMse * n * d) / ss) } : {}),
    image: { width: S, height: S, channels: c },
    examples,
  };
}
