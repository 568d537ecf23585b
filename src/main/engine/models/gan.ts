/**
 * DCGAN (unconditional, 'gan') and class-conditional DCGAN ('cgan') for small images.
 *   z ~ N(0, 1) [B, nz] from the run's Rng (cgan: fake labels uniform over the classes)
 *   loss_D = BCEwithLogits(D(x), 1) + BCEwithLogits(D(G(z)), 0)
 *   loss_G = BCEwithLogits(D(G(z)), 1)              (non-saturating)
 * D outputs logits; sigmoid(D(x)) is the probability that x is real.
 * Visuals: a fixed noise grid (cgan: one row per class) so samples are comparable over time.
 */
import { tf } from '../backend';
import { dcganDiscriminator, dcganGenerator, scaledWidth } from '../networks';
import { BaseModel, variablesOf, type Batch, type CommonOptions } from './base';
import { bceWithLogits } from './losses';
import type { OptionSpec } from './options';
import { sampleZ } from '../infer/latent';

export interface GanOptions extends CommonOptions {
  nz: number;
  ngf: number | null;
  ndf: number | null;
  numClasses: number;
  embedDim: number | null;
  sampleCount: number;
}

export const GAN_OPTIONS: readonly OptionSpec[] = [
  { key: 'nz', type: 'int', default: 64, min: 1, max: 1024, description: 'Latent (noise) size.' },
  { key: 'ngf', type: 'int', default: null, min: 1, description: 'Generator width; default scaled from the image size.' },
  { key: 'ndf', type: 'int', default: null, min: 1, description: 'Discriminator width; default like ngf.' },
  { key: 'sampleCount', type: 'int', default: 8, min: 1, max: 64, description: 'Fixed-noise samples per row in the sample grid.' },
];

export const CGAN_OPTIONS: readonly OptionSpec[] = [
  ...GAN_OPTIONS,
  { key: 'numClasses', type: 'int', default: 10, min: 2, max: 10000, description: 'Number of classes (taken from the dataset when it has labels).' },
  { key: 'embedDim', type: 'int', default: null, min: 1, description: 'Label embedding size in G; default min(nz, numClasses).' },
];

export class GanModel extends BaseModel<GanOptions> {
  readonly kind: 'gan' | 'cgan';
  readonly lossNames = ['G', 'D_real', 'D_fake'] as const;
  readonly visualNames: readonly string[];
  readonly networkNames = ['G', 'D'] as const;
  readonly inferenceNetworks = ['G'] as const;
  private readonly fixedZ: Float32Array;
  private readonly conditional: boolean;

  constructor(options: GanOptions, conditional: boolean) {
    super(options);
    this.conditional = conditional;
    this.kind = conditional ? 'cgan' : 'gan';
    const o = options;
    const w = scaledWidth(o.size);
    const d = { size: o.size, channels: o.channels, nz: o.nz, ngf: o.ngf ?? w, ndf: o.ndf ?? w, numClasses: conditional ? o.numClasses : 0, embedDim: o.embedDim ?? undefined, seed: this.rng.seed() };
    this.networks.G = dcganGenerator(d);
    this.networks.D = dcganDiscriminator(d);
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

  protected trainStepImpl(): Record<string, number> {
    const { a: x, labels } = this.requireInput();
    const n = x.shape[0];
    const G = this.networks.G!;
    const D = this.networks.D!;
    const t = { training: true };
    const kept: tf.Scalar[] = [];
    let fake: tf.Tensor4D | null = null;
    tf.tidy(() => {
      const z = this.noise(n);
      const yFake = this.conditional ? this.fakeLabels(n) : null;
      const gIn = (zz: tf.Tensor) => (yFake ? [zz, yFake] : zz);
      const dIn = (img: tf.Tensor, y: tf.Tensor | null) => (y ? [img, y] : img);
      const gStep = tf.variableGrads(() => {
        const f = G.apply(gIn(z), t) as tf.Tensor4D;
        fake = tf.keep(f);
        const logit = D.apply(dIn(f, yFake), t) as tf.Tensor;
        const l = bceWithLogits(logit, tf.onesLike(logit));
        kept.push(tf.keep(l));
        return l;
      }, variablesOf(G));
      const dStep = tf.variableGrads(() => {
        const lr = D.apply(dIn(x, labels ?? null), t) as tf.Tensor;
        const lf = D.apply(dIn(fake!, yFake), t) as tf.Tensor;
        const real = bceWithLogits(lr, tf.onesLike(lr));
        const fk = bceWithLogits(lf, tf.zerosLike(lf));
        kept.push(tf.keep(real), tf.keep(fk));
        return tf.add(real, fk) as tf.Scalar;
      }, variablesOf(D));
      this.optimizers.G!.applyGradients(gStep.grads);
      this.optimizers.D!.applyGradients(dStep.grads);
    });
    if (fake) (fake as tf.Tensor).dispose();
    return this.readLosses(this.lossNames, kept);
  }

  /** Generate from given noise [N, nz] (and labels [N, 1] int32), inference mode. */
  generate(z: tf.Tensor2D, labels?: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => this.networks.G!.apply(labels ? [z, labels] : z, { training: false }) as tf.Tensor4D);
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
