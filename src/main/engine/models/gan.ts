/**
 * DCGAN (unconditional, 'gan') and class-conditional DCGAN ('cgan') for small images.
 *   z ~ N(0, 1) [B, nz] from the run's Rng (cgan: fake labels uniform over the classes)
 *   loss 'hinge' (SNGAN / BigGAN):
 *     loss_D = mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))
 *     loss_G = -mean(D(G(z)))
 *   loss 'vanilla' (DCGAN; default):
 *     loss_D = BCEwithLogits(D(x), 1) + BCEwithLogits(D(G(z)), 0)
 *     loss_G = BCEwithLogits(D(G(z)), 1)              (non-saturating)
 * D outputs logits. Anti-collapse options (off by default: measured on Fashion-MNIST 32 px cGAN,
 * 2026-12, hinge + SN + lrD 2x + EMA reached conditional accuracy 0.42 / FD-FashionCNN 95 at step
 * 1797 where the plain DCGAN with batch-norm D reached 0.86 / 25 at step 1200; the model card of
 * models/fashion-cgan has the runs):
 *   - spectralNorm: D without batch norm, every D kernel kept at spectral norm <= 1 (spectral.ts);
 *   - lrD: D's own learning rate (two time-scale update rule, Heusel et al. 2017);
 *   - emaDecay: sampling, visuals and bundles use G_ema, an exponential moving average of G's
 *     weights (incl. batch-norm statistics; Karras et al. 2018, Yazici et al. 2019), which
 *     smooths the step-to-step oscillation of G;
 *   - modeSeeking (+ modeSeekingStart): MSGAN's regulariser, from a given step on (fine-tuning a
 *     generator whose classes have formed: from the start it destroyed the conditioning);
 *   - minibatchStd: D sees the spread of the batch (ProGAN), per class for a cgan;
 *   - auxClassifier (cgan): AC-GAN's class head on D, trained on real images, and G's loss
 *     + w * CE(class head(G(z, c)), c), so the class of a varied sample stays recognisable.
 * Visuals: a fixed noise grid (cgan: one row per class) so samples are comparable over time.
 */
import { tf } from '../backend';
import { dcganDiscriminator, dcganGenerator, scaledWidth } from '../networks';
import { BaseModel, variablesOf, type Batch, type CommonOptions, type NamedArray } from './base';
import { bceWithLogits } from './losses';
import { SpectralConstraint, constrainedKernels } from './spectral';
import type { OptionSpec } from './options';
import { sampleZ } from '../infer/latent';

export interface GanOptions extends CommonOptions {
  nz: number;
  ngf: number | null;
  ndf: number | null;
  numClasses: number;
  embedDim: number | null;
  sampleCount: number;
  loss: 'hinge' | 'vanilla';
  spectralNorm: boolean;
  lrD: number | null;
  emaDecay: number;
  modeSeeking: number;
  modeSeekingStart: number;
  minibatchStd: 'off' | 'batch' | 'class';
  auxClassifier: number;
}

export const GAN_OPTIONS: readonly OptionSpec[] = [
  { key: 'nz', type: 'int', default: 64, min: 1, max: 1024, description: 'Latent (noise) size.' },
  { key: 'ngf', type: 'int', default: null, min: 1, description: 'Generator width; default scaled from the image size.' },
  { key: 'ndf', type: 'int', default: null, min: 1, description: 'Discriminator width; default like ngf.' },
  { key: 'sampleCount', type: 'int', default: 8, min: 1, max: 64, description: 'Fixed-noise samples per row in the sample grid.' },
  { key: 'loss', type: 'enum', default: 'vanilla', choices: ['hinge', 'vanilla'], description: 'Adversarial loss: hinge (SNGAN/BigGAN) or vanilla (DCGAN, non-saturating BCE).' },
  { key: 'spectralNorm', type: 'boolean', default: false, description: 'D without batch norm, every D kernel kept at spectral norm <= 1 (against mode collapse).' },
  { key: 'lrD', type: 'number', default: null, min: 0, max: 1, description: 'Discriminator learning rate (two time-scale rule); default lr (2 x lr with spectralNorm). Scheduled like lr.' },
  { key: 'emaDecay', type: 'number', default: 0, min: 0, max: 0.99999, description: 'Samples and bundles use an exponential moving average of G with this decay (0: off).' },
  { key: 'modeSeeking', type: 'number', default: 0, min: 0, max: 100, description: 'Mode-seeking weight (MSGAN): pushes two seeds of one class apart in the output (0: off).' },
  { key: 'modeSeekingStart', type: 'int', default: 0, min: 0, description: 'Step from which mode seeking applies (fine-tuning once the classes have formed; 0: from the start).' },
  { key: 'minibatchStd', type: 'enum', default: 'off', choices: ['off', 'batch', 'class'], description: 'Minibatch standard-deviation feature in D (ProGAN): D sees how alike the batch is; class: among samples of one label (cgan).' },
];

export const CGAN_OPTIONS: readonly OptionSpec[] = [
  ...GAN_OPTIONS,
  { key: 'auxClassifier', type: 'number', default: 0, min: 0, max: 100, description: 'AC-GAN weight: D also classifies real images, G is trained to make its class recognisable (0: off).' },
  { key: 'numClasses', type: 'int', default: 10, min: 2, max: 10000, description: 'Number of classes (taken from the dataset when it has labels).' },
  { key: 'embedDim', type: 'int', default: null, min: 1, description: 'Label embedding size in G; default min(nz, numClasses).' },
];

export class GanModel extends BaseModel<GanOptions> {
  readonly kind: 'gan' | 'cgan';
  readonly lossNames: readonly string[];
  readonly visualNames: readonly string[];
  readonly networkNames: readonly string[];
  readonly inferenceNetworks = ['G'] as const;
  private readonly fixedZ: Float32Array;
  private readonly conditional: boolean;
  private readonly spectral: SpectralConstraint | null;
  /** AC-GAN weight (0: D has one output). */
  private readonly aux: number;

  constructor(options: GanOptions, conditional: boolean) {
    super(options);
    this.conditional = conditional;
    this.kind = conditional ? 'cgan' : 'gan';
    const o = options;
    this.aux = conditional && (o.auxClassifier ?? 0) > 0 ? o.auxClassifier : 0;
    this.lossNames = ['G', 'D_real', 'D_fake', ...(o.modeSeeking > 0 ? ['MS'] : []), ...(this.aux ? ['AC_real', 'AC_fake'] : [])];
    const w = scaledWidth(o.size);
    const d = { size: o.size, channels: o.channels, nz: o.nz, ngf: o.ngf ?? w, ndf: o.ndf ?? w, numClasses: conditional ? o.numClasses : 0, embedDim: o.embedDim ?? undefined, seed: this.rng.seed() };
    this.networks.G = dcganGenerator(d);
    this.networks.D = dcganDiscriminator({ ...d, dNorm: o.spectralNorm ? 'none' : 'batch', minibatchStd: o.minibatchStd ?? 'off', auxClassifier: this.aux > 0 });
    this.networkNames = o.emaDecay > 0 ? ['G', 'D', 'G_ema'] : ['G', 'D'];
    if (o.emaDecay > 0) {
      // Same builder and seed: identical start; G_ema is never trained, only averaged.
      this.networks.G_ema = dcganGenerator(d);
      this.networks.G_ema.setWeights(this.networks.G.getWeights());
    }
    this.spectral = o.spectralNorm ? new SpectralConstraint(constrainedKernels(this.networks.D), (o.seed ^ 0x5c7a1) >>> 0) : null;
    // A few power iterations up front so the first steps already see sigma, not a rough guess.
    for (let i = 0; i < (this.spectral ? 20 : 0); i++) this.spectral!.apply();
    this.optimizers.G = this.makeAdam();
    this.optimizers.D = this.makeAdam();
    // Fixed noise for the sample grid, from its own stream (does not move the run's Rng).
    this.fixedZ = sampleZ(o.seed ^ 0x51f15e, o.sampleCount, o.nz);
    this.visualNames = conditional ? Array.from({ length: Math.min(o.numClasses, 16) }, (_, c) => `class_${c}`) : ['fake'];
  }

  protected override checkInput(batch: Batch): void {
    if (this.conditional && !batch.labels) throw new Error('cgan needs labelled batches');
  }

  private noise(n: number): tf.Tensor2D {
    return tf.randomNormal([n, this.options.nz], 0, 1, 'float32', this.rng.seed()) as tf.Tensor2D;
  }

  private fakeLabels(n: number): tf.Tensor2D {
    return tf.tensor2d(Int32Array.from({ length: n }, () => this.rng.int(this.options.numClasses)), [n, 1], 'int32');
  }

  /** Fake labels for mode seeking: the second half of the batch repeats the first half's labels. */
  private pairedLabels(n: number): tf.Tensor2D {
    const h = Math.floor(n / 2);
    const first = Array.from({ length: h }, () => this.rng.int(this.options.numClasses));
    const all = Int32Array.from({ length: n }, (_, i) => (i < 2 * h ? first[i % h]! : this.rng.int(this.options.numClasses)));
    return tf.tensor2d(all, [n, 1], 'int32');
  }

  /** 1 / (lz + eps), lz = mean|f1 - f2| / mean|z1 - z2| over the two halves of the batch. */
  private modeSeekingLoss(f: tf.Tensor4D, z: tf.Tensor2D): tf.Scalar {
    const h = Math.floor(f.shape[0] / 2);
    const df = tf.mean(tf.abs(tf.sub(f.slice([0, 0, 0, 0], [h, -1, -1, -1]), f.slice([h, 0, 0, 0], [h, -1, -1, -1]))));
    const dz = tf.mean(tf.abs(tf.sub(z.slice([0, 0], [h, -1]), z.slice([h, 0], [h, -1]))));
    return tf.div(1, tf.add(tf.div(df, dz), 1e-5)) as tf.Scalar;
  }

  protected trainStepImpl(): Record<string, number> {
    const { a: x, labels } = this.requireInput();
    const n = x.shape[0];
    const G = this.networks.G!;
    const D = this.networks.D!;
    const t = { training: true };
    const kept: Record<string, tf.Scalar> = {};
    let fake: tf.Tensor4D | null = null;
    const aux = this.aux;
    tf.tidy(() => {
      const z = this.noise(n);
      const ms = this.options.modeSeeking > 0 && n >= 2 && this.step >= (this.options.modeSeekingStart ?? 0) ? this.options.modeSeeking : 0;
      const yFake = this.conditional ? (ms ? this.pairedLabels(n) : this.fakeLabels(n)) : null;
      const gIn = (zz: tf.Tensor) => (yFake ? [zz, yFake] : zz);
      // D's outputs: the real/fake logit, and with the AC-GAN head also class logits.
      const dOut = (img: tf.Tensor, y: tf.Tensor | null): [tf.Tensor, tf.Tensor | null] => {
        const o = D.apply(y ? [img, y] : img, t) as tf.Tensor | tf.Tensor[];
        return Array.isArray(o) ? [o[0]!, o[1] ?? null] : [o, null];
      };
      const classLoss = (cls: tf.Tensor, y: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(y, [-1]) as tf.Tensor1D, this.options.numClasses), cls) as tf.Scalar;
      const hinge = this.options.loss === 'hinge';
      const gStep = tf.variableGrads(() => {
        const f = G.apply(gIn(z), t) as tf.Tensor4D;
        fake = tf.keep(f);
        const [logit, cls] = dOut(f, yFake);
        let l = hinge ? (tf.neg(tf.mean(logit)) as tf.Scalar) : bceWithLogits(logit, tf.onesLike(logit));
        kept.G = tf.keep(l);
        if (ms) {
          const m = (kept.MS = tf.keep(this.modeSeekingLoss(f, z)));
          l = tf.add(l, tf.mul(m, ms)) as tf.Scalar;
        }
        if (aux && cls && yFake) {
          const c = (kept.AC_fake = tf.keep(classLoss(cls, yFake)));
          l = tf.add(l, tf.mul(c, aux)) as tf.Scalar;
        }
        return l;
      }, variablesOf(G));
      const dStep = tf.variableGrads(() => {
        const [lr, clsReal] = dOut(x, labels ?? null);
        const [lf] = dOut(fake!, yFake);
        const real = hinge ? (tf.mean(tf.relu(tf.sub(1, lr))) as tf.Scalar) : bceWithLogits(lr, tf.onesLike(lr));
        const fk = hinge ? (tf.mean(tf.relu(tf.add(1, lf))) as tf.Scalar) : bceWithLogits(lf, tf.zerosLike(lf));
        kept.D_real = tf.keep(real);
        kept.D_fake = tf.keep(fk);
        let l = tf.add(real, fk) as tf.Scalar;
        // The class head learns from real images only: trained on fakes too, it would reward G
        // for the easiest-to-classify images (AC-GAN's known pull towards collapse).
        if (aux && clsReal && labels) {
          const c = (kept.AC_real = tf.keep(classLoss(clsReal, labels)));
          l = tf.add(l, tf.mul(c, aux)) as tf.Scalar;
        }
        return l;
      }, variablesOf(D));
      this.optimizers.G!.applyGradients(gStep.grads);
      this.optimizers.D!.applyGradients(dStep.grads);
    });
    if (fake) (fake as tf.Tensor).dispose();
    this.spectral?.apply();
    this.updateEma();
    // Every named loss in lossNames order (MS is 0 before modeSeekingStart).
    return this.readLosses(this.lossNames, this.lossNames.map((k) => kept[k] ?? tf.scalar(0)));
  }

  protected override lrFactor(optimizer: string): number {
    const o = this.options;
    if (optimizer !== 'D') return 1;
    // The two time-scale rule goes with the spectrally normalised D (SNGAN's setting).
    if (o.lrD === null || o.lr <= 0) return o.spectralNorm ? 2 : 1;
    return o.lrD / o.lr;
  }

  /**
   * G_ema <- d * G_ema + (1 - d) * G over all weights (batch-norm moving statistics too), with
   * d = min(emaDecay, (1 + step) / (10 + step)) so the average does not drag the random
   * initialisation along in short runs (as TensorFlow's ExponentialMovingAverage num_updates).
   */
  private updateEma(): void {
    const ema = this.networks.G_ema;
    if (!ema) return;
    const d = Math.min(this.options.emaDecay, (1 + this.step) / (10 + this.step));
    const src = this.networks.G!.weights;
    tf.tidy(() => {
      ema.weights.forEach((w, i) => {
        const v = w.read() as tf.Variable;
        v.assign(tf.add(tf.mul(v, d), tf.mul(src[i]!.read(), 1 - d)));
      });
    });
  }

  override inferenceNetwork(name: string): tf.LayersModel {
    return name === 'G' && this.networks.G_ema ? this.networks.G_ema : super.inferenceNetwork(name);
  }

  protected override async getExtraArrays(): Promise<NamedArray[]> {
    return this.spectral ? await this.spectral.arrays('extra/spectral-u') : [];
  }

  protected override setExtraArrays(arrays: NamedArray[]): void {
    this.spectral?.setArrays('extra/spectral-u', arrays);
  }

  override dispose(): void {
    this.spectral?.dispose();
    super.dispose();
  }

  /** Generate from given noise [N, nz] (and labels [N, 1] int32), inference mode. */
  generate(z: tf.Tensor2D, labels?: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => this.inferenceNetwork('G').apply(labels ? [z, labels] : z, { training: false }) as tf.Tensor4D);
  }

  visuals(): Record<string, tf.Tensor4D> {
    const k = this.options.sampleCount;
    return tf.tidy(() => {
      const z = tf.tensor2d(this.fixedZ, [k, this.options.nz]);
      if (!this.conditional) return { fake: this.generate(z) };
      const out: Record<string, tf.Tensor4D> = {};
      this.visualNames.forEach((name, c) => {
        out[name] = this.generate(z, tf.fill([k, 1], c, 'int32') as tf.Tensor2D);
      });
      return out;
    });
  }
}
