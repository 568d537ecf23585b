/**
 * pix2pix (Isola et al. 2017): conditional GAN on paired images A -> B.
 *   G: U-Net (or ResNet), D: PatchGAN (or pixel) on concat(A, B or G(A)), channels inC + outC
 *   loss_G = GAN(D(A, G(A)), real) + lambda * L1(G(A), B)      (or L2)
 *   loss_D = 0.5 * (GAN(D(A, B), real) + GAN(D(A, G(A)), fake))
 * One forward of G per step; G's and D's gradients are both taken against the step's D
 * (simultaneous update, as the TensorFlow pix2pix tutorial), then both optimisers step.
 * colorize 'chroma' (grey -> colour, 1 -> 3 channels): G predicts only chroma, at S / chromaScale,
 * and keeps the grey input as the output's luminance (networks/colorizer.ts); D and the losses are
 * unchanged (L1 on RGB).
 */
import { tf } from '../backend';
import { colorizerGenerator, patchGanDiscriminator, pixelDiscriminator, resnetGenerator, scaledWidth, unetGenerator, type NormKind } from '../networks';
import { REFERENCE_NETG_OPTION, initReferenceWeights, referenceDiscriminator, referenceGenerator, referencePreset, type RefGenerator } from '../interop/reference-networks';
import { BaseModel, variablesOf, type Batch, type CommonOptions } from './base';
import { ganLoss, l1, l2, type GanMode } from './losses';
import type { OptionSpec } from './options';

export interface Pix2PixOptions extends CommonOptions {
  inChannels: number | null;
  netG: 'unet' | 'resnet';
  netD: 'patch' | 'pixel';
  ngf: number | null;
  ndf: number | null;
  unetDepth: number | null;
  nLayersD: number | null;
  norm: NormKind;
  dropout: boolean;
  ganMode: GanMode;
  lambdaL1: number;
  reconLoss: 'l1' | 'l2';
  variant: 'atelier' | 'reference';
  colorize: 'none' | 'chroma';
  chromaScale: number;
  referenceNetG: RefGenerator | 'auto';
}

export const PIX2PIX_OPTIONS: readonly OptionSpec[] = [
  { key: 'inChannels', type: 'int', default: null, min: 1, max: 4, description: 'Input (A) channels; default = channels.' },
  { key: 'netG', type: 'enum', default: 'unet', choices: ['unet', 'resnet'], description: 'Generator: U-Net with skips (paper) or ResNet.' },
  { key: 'netD', type: 'enum', default: 'patch', choices: ['patch', 'pixel'], description: 'Discriminator: PatchGAN (70x70 at 256 px) or per-pixel.' },
  { key: 'ngf', type: 'int', default: null, min: 1, description: 'Generator width; default 64 at >=128 px, scaled down for small images.' },
  { key: 'ndf', type: 'int', default: null, min: 1, description: 'Discriminator width; default like ngf.' },
  { key: 'unetDepth', type: 'int', default: null, min: 2, max: 10, description: 'U-Net down-sampling levels; default log2(size), down to 1x1.' },
  { key: 'nLayersD', type: 'int', default: null, min: 1, max: 6, description: 'PatchGAN strided layers; default 3, fewer for small images.' },
  { key: 'norm', type: 'enum', default: 'batch', choices: ['batch', 'instance', 'none'], description: 'Normalisation layers (paper: batch).' },
  { key: 'dropout', type: 'boolean', default: true, description: 'Dropout 0.5 in the 3 innermost U-Net decoder blocks (training only).' },
  { key: 'ganMode', type: 'enum', default: 'vanilla', choices: ['vanilla', 'lsgan'], description: 'GAN loss: vanilla (BCE with logits) or least squares.' },
  { key: 'lambdaL1', type: 'number', default: 100, min: 0, description: 'Weight of the reconstruction loss against the GAN loss.' },
  { key: 'reconLoss', type: 'enum', default: 'l1', choices: ['l1', 'l2'], description: 'Reconstruction loss: L1 (sharper, paper) or L2.' },
  {
    key: 'colorize',
    type: 'enum',
    default: 'none',
    choices: ['none', 'chroma'],
    description: "Grey -> colour (inChannels 1, channels 3, U-Net): 'chroma' keeps the input as the luminance and predicts only chroma (Zhang et al. 2016).",
  },
  { key: 'chromaScale', type: 'int', default: 2, min: 1, max: 8, description: "With colorize 'chroma': chroma at 1/chromaScale resolution, upsampled bilinearly (smooth colour, no checkerboard)." },
  {
    key: 'variant',
    type: 'enum',
    default: 'atelier',
    choices: ['atelier', 'reference'],
    description: "Networks: Atelier's own, or the reference implementation's exactly (unet_128/256 at multiples of 128 px, resnet_6/9blocks, basic PatchGAN) so the model exports to PyTorch without loss.",
  },
  REFERENCE_NETG_OPTION,
];

export class Pix2PixModel extends BaseModel<Pix2PixOptions> {
  readonly kind = 'pix2pix' as const;
  readonly lossNames = ['G_GAN', 'G_L1', 'D_real', 'D_fake'] as const;
  readonly visualNames = ['real_A', 'fake_B', 'real_B'] as const;
  readonly networkNames = ['G', 'D'] as const;
  readonly inferenceNetworks = ['G'] as const;

  constructor(options: Pix2PixOptions) {
    super(options);
    const o = options;
    const inC = o.inChannels ?? o.channels;
    const ngf = o.ngf ?? scaledWidth(o.size);
    const ndf = o.ndf ?? scaledWidth(o.size);
    const seed = this.rng.seed();
    if (o.variant === 'reference') {
      // The reference's networks, named by their PyTorch module paths and initialised as its init_weights.
      if (o.norm === 'none') throw new Error("The reference variant needs norm 'batch' or 'instance'");
      if (o.netD !== 'patch') throw new Error("The reference variant's discriminator is the PatchGAN (netD 'patch')");
      if (o.colorize !== 'none') throw new Error("The reference variant has no colorize head (colorize 'none')");
      const netG = referencePreset(o.netG, o.size, o.referenceNetG);
      this.networks.G = referenceGenerator({ netG, norm: o.norm, ngf, inChannels: inC, outChannels: o.channels, size: o.size, dropout: o.dropout, name: 'G' });
      initReferenceWeights(this.networks.G, seed);
      const dSeed = this.rng.seed();
      this.networks.D = referenceDiscriminator({ norm: o.norm, ndf, inChannels: inC + o.channels, size: o.size, nLayers: o.nLayersD ?? 3, name: 'D' });
      initReferenceWeights(this.networks.D, dSeed);
      this.optimizers.G = this.makeAdam();
      this.optimizers.D = this.makeAdam();
      return;
    }
    if (o.colorize === 'chroma') {
      if (inC !== 1 || o.channels !== 3) throw new Error(`colorize 'chroma' translates grey to colour: it needs inChannels 1 and channels 3 (got ${inC} and ${o.channels})`);
      if (o.netG !== 'unet') throw new Error("colorize 'chroma' is built on the U-Net generator (netG 'unet')");
    }
    this.networks.G =
      o.colorize === 'chroma'
        ? colorizerGenerator({ size: o.size, ngf, norm: o.norm, dropout: o.dropout, depth: o.unetDepth ?? undefined, chromaScale: o.chromaScale, seed, name: 'G' })
        : o.netG === 'unet'
        ? unetGenerator({ size: o.size, inChannels: inC, outChannels: o.channels, ngf, norm: o.norm, dropout: o.dropout, depth: o.unetDepth ?? undefined, seed, name: 'G' })
        : resnetGenerator({ size: o.size, inChannels: inC, outChannels: o.channels, ngf, norm: o.norm, upsample: 'transpose', seed, name: 'G' });
    const dSeed = this.rng.seed();
    this.networks.D =
      o.netD === 'patch'
        ? patchGanDiscriminator({ size: o.size, inChannels: inC + o.channels, ndf, nLayers: o.nLayersD ?? undefined, norm: o.norm, seed: dSeed, name: 'D' })
        : pixelDiscriminator({ size: o.size, inChannels: inC + o.channels, ndf, norm: o.norm, seed: dSeed, name: 'D' });
    this.optimizers.G = this.makeAdam();
    this.optimizers.D = this.makeAdam();
  }

  protected override checkInput(batch: Batch): void {
    if (!batch.b) throw new Error('pix2pix needs paired batches (a and b)');
  }

  protected trainStepImpl(): Record<string, number> {
    const { a, b } = this.requireInput() as Required<Pick<Batch, 'a' | 'b'>>;
    const G = this.networks.G!;
    const D = this.networks.D!;
    const o = this.options;
    const kept: tf.Scalar[] = [];
    let fake: tf.Tensor4D | null = null;
    tf.tidy(() => {
      const gStep = tf.variableGrads(() => {
        const f = G.apply(a, { training: true }) as tf.Tensor4D;
        fake = tf.keep(f);
        const pred = D.apply(tf.concat([a, f], 3), { training: true }) as tf.Tensor;
        const gan = ganLoss(pred, true, o.ganMode);
        const rec = tf.mul(o.reconLoss === 'l1' ? l1(f, b) : l2(f, b), o.lambdaL1) as tf.Scalar;
        kept.push(tf.keep(gan), tf.keep(rec));
        return tf.add(gan, rec) as tf.Scalar;
      }, variablesOf(G));
      const dStep = tf.variableGrads(() => {
        const real = ganLoss(D.apply(tf.concat([a, b], 3), { training: true }) as tf.Tensor, true, o.ganMode);
        const fk = ganLoss(D.apply(tf.concat([a, fake!], 3), { training: true }) as tf.Tensor, false, o.ganMode);
        kept.push(tf.keep(real), tf.keep(fk));
        return tf.mul(tf.add(real, fk), 0.5) as tf.Scalar;
      }, variablesOf(D));
      this.optimizers.G!.applyGradients(gStep.grads);
      this.optimizers.D!.applyGradients(dStep.grads);
    });
    if (fake) (fake as tf.Tensor).dispose();
    return this.readLosses(this.lossNames, kept);
  }

  visuals(): Record<string, tf.Tensor4D> {
    const { a, b } = this.requireInput() as Required<Pick<Batch, 'a' | 'b'>>;
    return {
      real_A: a.clone(),
      fake_B: tf.tidy(() => this.networks.G!.apply(a, { training: false }) as tf.Tensor4D),
      real_B: b.clone(),
    };
  }
}
