/**
 * The model contract (after pytorch-CycleGAN-and-pix2pix base_model.py). Every model declares
 * lossNames, visualNames, networkNames and implements setInput / trainStep / visuals; the trainer,
 * charts, sample grids, checkpoints and bundles work for any model without special cases.
 *
 *   setInput(batch)  takes OWNERSHIP of the batch tensors (disposed at the next setInput/dispose)
 *   trainStep()      one optimisation step; returns {lossName: value}; tensor count flat
 *   visuals()        NEW tensors {visualName: [B, H, W, C] in [-1,1]}, inference mode (moving
 *                    BN statistics, no dropout) so samples show what a bundle will produce;
 *                    the caller disposes them
 *   getState()/setState()  weights + optimizer state + rng + extras (image pool) for checkpoints
 */
import { tf } from '../backend';
import { FusedAdamOptimizer } from '../kernels/fused-adam';
import { createAdamSimd } from '../kernels/adam-simd';
import { type BackendWasm, heapMemory } from '../kernels/wasm-util';

/**
 * Whether the backend reads tensors synchronously (dataSync). tfjs-backend-webgpu reads through a
 * canvas in browsers and cannot in Node, so models and the trainer read asynchronously there.
 */
export function syncReads(): boolean {
  return tf.getBackend() !== 'webgpu';
}

let fusedOk: boolean | null = null;
/**
 * FusedAdam only where its WebAssembly SIMD pass runs (wasm backend, SIMD module instantiable on
 * the backend's memory); elsewhere its scalar fallback is slower than tf.train.adam, so use that.
 * Both give the same numbers (FusedAdam is bit-identical), so checkpoints move between them.
 */
function fusedAdamUsable(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  if (fusedOk === null) {
    fusedOk = !!createAdamSimd(heapMemory(tf.backend() as unknown as BackendWasm));
  }
  return fusedOk;
}
import { lrAt, type LrSchedule } from './lr';
import { Rng, type RngState } from './rng';

/** A registry key (models/registry.ts): kinds are data, so a new model needs no type change elsewhere. */
export type ModelKind = string;

/** One training batch, NHWC float32 in [-1, 1]. */
export interface Batch {
  /** Input images (pix2pix: the A side; cyclegan: domain A; gan/autoencoder: the images). */
  a: tf.Tensor4D;
  /** Target images (pix2pix: paired B; cyclegan: unpaired domain B). */
  b?: tf.Tensor4D;
  /** Class labels [B, 1] int32 (cgan). */
  labels?: tf.Tensor2D;
}

export function disposeBatch(b: Batch | null | undefined): void {
  if (!b) return;
  tf.dispose([b.a, ...(b.b ? [b.b] : []), ...(b.labels ? [b.labels] : [])]);
}

/** A raw array with shape, as stored in checkpoints. */
export interface NamedArray {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export interface ModelState {
  arrays: NamedArray[];
  extras: Record<string, unknown>;
}

export interface CommonOptions {
  size: number;
  channels: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  lrPolicy: LrSchedule['policy'];
  lrDecayStart: number;
  lrStepSize: number;
  lrGamma: number;
  seed: number;
}

type AdamLike = tf.Optimizer & { learningRate: number; accBeta1: tf.Variable; accBeta2: tf.Variable };

export function variablesOf(...nets: tf.LayersModel[]): tf.Variable[] {
  return nets.flatMap((n) => n.trainableWeights.map((w) => w.read() as tf.Variable));
}

export abstract class BaseModel<O extends CommonOptions = CommonOptions> {
  abstract readonly kind: ModelKind;
  abstract readonly lossNames: readonly string[];
  abstract readonly visualNames: readonly string[];
  abstract readonly networkNames: readonly string[];
  /** The networks a bundle needs for inference (generators / encoder+decoder). */
  abstract readonly inferenceNetworks: readonly string[];
  readonly networks: Record<string, tf.LayersModel> = {};
  readonly optimizers: Record<string, tf.Optimizer> = {};
  rng: Rng;
  /** Steps taken (the LR schedule position). */
  step = 0;
  totalSteps = 1;

  constructor(readonly options: O) {
    this.rng = new Rng(options.seed);
  }

  /** The current batch (owned: disposed at the next setInput / dispose). */
  protected input: Batch | null = null;

  /** The current batch; throws before the first setInput. */
  protected requireInput(): Batch {
    if (!this.input) throw new Error('setInput first');
    return this.input;
  }

  /** Take ownership of a batch (the previous one is disposed). */
  setInput(batch: Batch): void {
    this.checkInput(batch);
    disposeBatch(this.input);
    this.input = batch;
  }

  /** Throw when the batch lacks what the model needs (b, labels). */
  protected checkInput(_batch: Batch): void {}

  /**
   * Visuals for another batch (e.g. a fixed preview batch for the sample grid), leaving the
   * current input alone; the caller keeps ownership of `batch`.
   */
  visualsFor(batch: Batch): Record<string, tf.Tensor4D> {
    const saved = this.input;
    this.input = batch;
    try {
      return this.visuals();
    } finally {
      this.input = saved;
    }
  }

  protected abstract trainStepImpl(): Record<string, number>;
  abstract visuals(): Record<string, tf.Tensor4D>;

  /** Adam (eps 1e-8 as torch). FusedAdam: one wasm SIMD pass per variable, bit-identical to tf.train.adam. */
  protected makeAdam(): tf.Optimizer {
    const o = this.options;
    return fusedAdamUsable() ? new FusedAdamOptimizer(o.lr, o.beta1, o.beta2, 1e-8) : tf.train.adam(o.lr, o.beta1, o.beta2, 1e-8);
  }

  /** Current learning rate from the schedule. */
  learningRate(): number {
    const o = this.options;
    return lrAt(this.step, { lr: o.lr, policy: o.lrPolicy, totalSteps: this.totalSteps, decayStart: o.lrDecayStart, stepSize: o.lrStepSize, gamma: o.lrGamma });
  }

  trainStep(): Record<string, number> {
    const lr = this.learningRate();
    for (const [name, opt] of Object.entries(this.optimizers)) (opt as AdamLike).learningRate = lr * this.lrFactor(name);
    this.seedDropout();
    const losses = this.trainStepImpl();
    this.step += 1;
    return losses;
  }

  /** Per-optimizer factor on the scheduled learning rate (two-time-scale GANs: D faster than G). */
  protected lrFactor(_optimizer: string): number {
    return 1;
  }

  /** The network a bundle stores under `name` (a model may keep a smoothed copy for inference). */
  inferenceNetwork(name: string): tf.LayersModel {
    return this.networks[name]!;
  }

  /** Each dropout layer gets a fresh seed from the run's Rng every step (deterministic masks). */
  protected seedDropout(): void {
    for (const name of this.networkNames) {
      for (const layer of this.networks[name]!.layers) {
        if (layer.getClassName() === 'Dropout') (layer as unknown as { seed: number }).seed = this.rng.seed();
      }
    }
  }

  /** Losses of the last step still on the GPU (webgpu cannot read synchronously): trainStepAsync fills them. */
  private pendingLosses: { stacked: tf.Tensor; names: readonly string[]; out: Record<string, number> } | null = null;

  /**
   * Read scalars kept during a step into numbers (one sync) and dispose them. On a backend
   * without synchronous reads (webgpu in Node) the numbers are NaN until trainStepAsync reads them.
   */
  protected readLosses(names: readonly string[], scalars: tf.Scalar[]): Record<string, number> {
    const stacked = tf.keep(tf.stack(scalars));
    tf.dispose(scalars);
    const out: Record<string, number> = {};
    if (!syncReads()) {
      names.forEach((n) => (out[n] = NaN));
      this.pendingLosses?.stacked.dispose();
      this.pendingLosses = { stacked, names, out };
      return out;
    }
    const v = stacked.dataSync();
    stacked.dispose();
    names.forEach((n, i) => (out[n] = v[i]!));
    return out;
  }

  /** trainStep, with the losses read asynchronously where the backend needs it (the trainer uses this). */
  async trainStepAsync(): Promise<Record<string, number>> {
    const losses = this.trainStep();
    const p = this.pendingLosses;
    if (p) {
      this.pendingLosses = null;
      try {
        const v = await p.stacked.data();
        p.names.forEach((n, i) => (p.out[n] = v[i]!));
      } finally {
        p.stacked.dispose();
      }
    }
    return losses;
  }

  /** Extra state of the subclass (image pool, fixed noise...); may read the GPU, hence a promise. */
  protected getExtraArrays(): NamedArray[] | Promise<NamedArray[]> {
    return [];
  }
  protected setExtraArrays(_arrays: NamedArray[]): void {}

  async getState(): Promise<ModelState> {
    const arrays: NamedArray[] = [];
    for (const name of this.networkNames) {
      // Asynchronous reads: the webgpu backend has no synchronous ones in Node.
      const ws = this.networks[name]!.getWeights();
      const data = await Promise.all(ws.map((w) => w.data()));
      ws.forEach((w, i) => arrays.push({ name: `net/${name}/${i}`, shape: w.shape, dtype: 'float32', data: data[i] as Float32Array }));
    }
    const optMeta: Record<string, { count: number; accBeta1: number; accBeta2: number }> = {};
    for (const [name, opt] of Object.entries(this.optimizers)) {
      const ws = await opt.getWeights();
      const data = await Promise.all(ws.map((w) => w.tensor.data()));
      ws.forEach((w, i) => arrays.push({ name: `opt/${name}/${i}`, shape: w.tensor.shape, dtype: w.tensor.dtype === 'int32' ? 'int32' : 'float32', data: data[i] as Float32Array }));
      tf.dispose(ws.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
      const a = opt as AdamLike;
      optMeta[name] = { count: ws.length, accBeta1: (await a.accBeta1.data())[0]!, accBeta2: (await a.accBeta2.data())[0]! };
    }
    arrays.push(...(await this.getExtraArrays()));
    return { arrays, extras: { kind: this.kind, step: this.step, rng: this.rng.getState(), optimizers: optMeta, ...this.getExtras() } };
  }

  protected getExtras(): Record<string, unknown> {
    return {};
  }
  protected setExtras(_e: Record<string, unknown>): void {}

  async setState(state: ModelState): Promise<void> {
    const byName = new Map(state.arrays.map((a) => [a.name, a]));
    for (const name of this.networkNames) {
      const net = this.networks[name]!;
      const n = net.getWeights().length;
      const ts: tf.Tensor[] = [];
      for (let i = 0; i < n; i++) {
        const a = byName.get(`net/${name}/${i}`);
        if (!a) throw new Error(`checkpoint has no weights for ${name} #${i}`);
        ts.push(tf.tensor(a.data, a.shape, a.dtype));
      }
      net.setWeights(ts);
      tf.dispose(ts);
    }
    const meta = state.extras.optimizers as Record<string, { count: number; accBeta1: number; accBeta2: number }>;
    for (const [name, opt] of Object.entries(this.optimizers)) {
      const m = meta[name];
      if (!m) throw new Error(`checkpoint has no optimizer state for ${name}`);
      const named: { name: string; tensor: tf.Tensor }[] = [];
      for (let i = 0; i < m.count; i++) {
        const a = byName.get(`opt/${name}/${i}`)!;
        named.push({ name: i === 0 ? 'iter' : `${name}/${i}`, tensor: tf.tensor(a.data, a.shape, a.dtype) });
      }
      // Adam.setWeights makes variables from the tensors (sharing data); our copies can go.
      const old = (opt as unknown as { accumulatedFirstMoment?: { variable: tf.Variable }[]; accumulatedSecondMoment?: { variable: tf.Variable }[] });
      tf.dispose([...(old.accumulatedFirstMoment ?? []), ...(old.accumulatedSecondMoment ?? [])].map((v) => v.variable));
      await opt.setWeights(named);
      tf.dispose(named.map((n) => n.tensor));
      const a = opt as AdamLike;
      tf.tidy(() => {
        a.accBeta1.assign(tf.scalar(m.accBeta1));
        a.accBeta2.assign(tf.scalar(m.accBeta2));
      });
    }
    this.step = state.extras.step as number;
    this.rng.setState(state.extras.rng as RngState);
    this.setExtraArrays(state.arrays.filter((a) => a.name.startsWith('extra/')));
    this.setExtras(state.extras);
  }

  dispose(): void {
    this.pendingLosses?.stacked.dispose();
    this.pendingLosses = null;
    for (const n of Object.values(this.networks)) n.dispose();
    for (const o of Object.values(this.optimizers)) o.dispose();
    disposeBatch(this.input);
    this.input = null;
  }
}
