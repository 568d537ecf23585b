/**
 * CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B.
 *   G_A: A -> B, G_B: B -> A (ResNet by default), D_A judges B-domain images, D_B A-domain ones.
 *   loss_G = LS(D_A(G_A(A)), 1) + LS(D_B(G_B(B)), 1)
 *          + lambdaA * |G_B(G_A(A)) - A| + lambdaB * |G_A(G_B(B)) - B|          (cycle)
 *          + lambdaIdentity * (lambdaB * |G_A(B) - B| + lambdaA * |G_B(A) - A|)  (identity)
 *   loss_D_A = 0.5 * (LS(D_A(B), 1) + LS(D_A(pool_B(fake_B)), 0)), same for D_B
 * Image pools of 50 with 50% swap feed D with past fakes.
 */
import { tf } from '../backend';
import { patchGanDiscriminator, resnetGenerator, scaledWidth, unetGenerator, type NormKind } from '../networks';
import { REFERENCE_NETG_OPTION, initReferenceWeights, referenceDiscriminator, referenceGenerator, referencePreset, type RefGenerator } from '../interop/reference-networks';
import { accumulateInto } from '../kernels/accumulate';
import { BaseModel, variablesOf, type Batch, type CommonOptions, type NamedArray } from './base';
import { ganLoss, l1, type GanMode } from './losses';
import type { OptionSpec } from './options';
import { ImagePool } from './pool';

export interface CycleGanOptions extends CommonOptions {
  netG: 'resnet' | 'unet';
  ngf: number | null;
  ndf: number | null;
  blocks: number | null;
  upsample: 'transpose' | 'resize';
  nLayersD: number | null;
  norm: NormKind;
  ganMode: GanMode;
  lambdaA: number;
  lambdaB: number;
  lambdaIdentity: number;
  poolSize: number;
  variant: 'atelier' | 'reference';
  referenceNetG: RefGenerator | 'auto';
}

export const CYCLEGAN_OPTIONS: readonly OptionSpec[] = [
  { key: 'netG', type: 'enum', default: 'resnet', choices: ['resnet', 'unet'], description: 'Generators: ResNet (paper) or U-Net.' },
  { key: 'ngf', type: 'int', default: null, min: 1, description: 'Generator width; default 64 at >=128 px, scaled down for small images.' },
  { key: 'ndf', type: 'int', default: null, min: 1, description: 'Discriminator width; default like ngf.' },
  { key: 'blocks', type: 'int', default: null, min: 0, max: 16, description: 'ResNet residual blocks; default 6 up to 128 px, 9 above.' },
  { key: 'upsample', type: 'enum', default: 'transpose', choices: ['transpose', 'resize'], description: 'Upsampling: transposed conv (paper) or resize + conv (no checkerboard).' },
  { key: 'nLayersD', type: 'int', default: null, min: 1, max: 6, description: 'PatchGAN strided layers; default 3, fewer for small images.' },
  { key: 'norm', type: 'enum', default: 'instance', choices: ['instance', 'batch', 'none'], description: 'Normalisation layers (paper: instance).' },
  { key: 'ganMode', type: 'enum', default: 'lsgan', choices: ['lsgan', 'vanilla'], description: 'GAN loss: least squares (paper) or BCE with logits.' },
  { key: 'lambdaA', type: 'number', default: 10, min: 0, description: 'Cycle loss weight A -> B -> A.' },
  { key: 'lambdaB', type: 'number', default: 10, min: 0, description: 'Cycle loss weight B -> A -> B.' },
  { key: 'lambdaIdentity', type: 'number', default: 0.5, min: 0, description: 'Identity loss weight, relative to the cycle weights (0 disables).' },
  { key: 'poolSize', type: 'int', default: 50, min: 0, max: 1000, description: 'Past fakes kept for the discriminators (0: no pool).' },
  {
    key: 'variant',
    type: 'enum',
    default: 'atelier',
    choices: ['atelier', 'reference'],
    description: "Networks: Atelier's own, or the reference implementation's exactly (resnet_6/9blocks, basic PatchGAN) so the model exports to PyTorch without loss.",
  },
  REFERENCE_NETG_OPTION,
];

/**
 * Whether independent applications of one network share a batch (see trainStepImpl): not under
 * batch norm, and only while a batch is small (up to 128 x 128 pixels of samples per domain). The
 * gain is the calls' fixed costs, which large calls hide: a 256 px generator's fwd + bwd on
 * batch 2 was slower than twice batch 1 (loaded machine, 7.3-15 s against 4.8-8.7 s), and the
 * tape's peak grows by one application (wasm heap after a 256 px step 2.4 -> 3.1 GB of 4).
 * `ATELIER_CYCLEGAN_BATCH=0` keeps them apart, `=1` batches at every size (A/B, tests).
 */
const batchable = (o: CycleGanOptions) => {
  const env = process.env.ATELIER_CYCLEGAN_BATCH;
  if (o.norm === 'batch' || env === '0') return false;
  return env === '1' || o.batchSize * o.size * o.size <= 128 * 128;
};

export class CycleGanModel extends BaseModel<CycleGanOptions> {
  readonly kind = 'cyclegan' as const;
  readonly lossNames = ['D_A', 'G_A', 'cycle_A', 'idt_A', 'D_B', 'G_B', 'cycle_B', 'idt_B'] as const;
  readonly visualNames = ['real_A', 'fake_B', 'rec_A', 'real_B', 'fake_A', 'rec_B'] as const;
  readonly networkNames = ['G_A', 'G_B', 'D_A', 'D_B'] as const;
  readonly inferenceNetworks = ['G_A', 'G_B'] as const;
  readonly poolA: ImagePool;
  readonly poolB: ImagePool;

  constructor(options: CycleGanOptions) {
    super(options);
    const o = options;
    const ngf = o.ngf ?? scaledWidth(o.size);
    const ndf = o.ndf ?? scaledWidth(o.size);
    const reference = o.variant === 'reference';
    if (reference && o.norm === 'none') throw new Error("The reference variant needs norm 'instance' or 'batch'");
    const refNorm = o.norm === 'batch' ? 'batch' : 'instance';
    const refGen = (name: string) => {
      const g = referenceGenerator({ netG: referencePreset(o.netG, o.size, o.referenceNetG), norm: refNorm, ngf, inChannels: o.channels, outChannels: o.channels, size: o.size, dropout: false, name });
      initReferenceWeights(g, this.rng.seed());
      return g;
    };
    const refDis = (name: string) => {
      const d = referenceDiscriminator({ norm: refNorm, ndf, inChannels: o.channels, size: o.size, nLayers: o.nLayersD ?? 3, name });
      initReferenceWeights(d, this.rng.seed());
      return d;
    };
    const gen = (name: string) =>
      reference ? refGen(name) : o.netG === 'resnet'
        ? resnetGenerator({ size: o.size, inChannels: o.channels, outChannels: o.channels, ngf, norm: o.norm, blocks: o.blocks ?? undefined, upsample: o.upsample, seed: this.rng.seed(), name })
        : unetGenerator({ size: o.size, inChannels: o.channels, outChannels: o.channels, ngf, norm: o.norm, dropout: false, seed: this.rng.seed(), name });
    const dis = (name: string) => reference ? refDis(name) : patchGanDiscriminator({ size: o.size, inChannels: o.channels, ndf, nLayers: o.nLayersD ?? undefined, norm: o.norm, seed: this.rng.seed(), name });
    this.networks.G_A = gen('G_A');
    this.networks.G_B = gen('G_B');
    this.networks.D_A = dis('D_A');
    this.networks.D_B = dis('D_B');
    this.optimizers.G = this.makeAdam();
    this.optimizers.D = this.makeAdam();
    this.poolA = new ImagePool(o.poolSize);
    this.poolB = new ImagePool(o.poolSize);
  }

  protected override checkInput(batch: Batch): void {
    if (!batch.b) throw new Error('cyclegan needs both domains in a batch (a and b)');
  }

  protected trainStepImpl(): Record<string, number> {
    const { a: A, b: B } = this.requireInput() as Required<Pick<Batch, 'a' | 'b'>>;
    const { G_A, G_B, D_A, D_B } = this.networks as Record<string, tf.LayersModel>;
    const o = this.options;
    const t = { training: true };
    const gParts: tf.Scalar[] = [];
    const dParts: tf.Scalar[] = [];
    let fakeA: tf.Tensor4D | null = null;
    let fakeB: tf.Tensor4D | null = null;
    const losses: Partial<Record<'gA' | 'cA' | 'iA' | 'gB' | 'cB' | 'iB', tf.Scalar>> = {};
    tf.tidy(() => {
      // The generators' loss is a sum of independent graphs (each cycle with its GAN term, each
      // identity term on its own or, batched below, with its direction's cycle): one gradient per
      // graph, summed. tfjs keeps every saved activation and every intermediate gradient of a
      // gradients call until it ends, so one call over the whole loss held six generator
      // applications and their gradients at once (~1 GB above the weights at 64 px, growing with
      // the pixels: a 256 px step at paper widths could not fit the 4 GB wasm heap). Per graph
      // the peak is two applications (three batched). Same loss, same gradients up to the order
      // of float additions.
      const gVars = variablesOf(G_A!, G_B!);
      // Instance norm (and no norm) treats each sample on its own, so a generator's applications
      // that do not depend on each other run as one batch: G_A(A) with the identity G_A(B), G_B(B)
      // with G_B(A). Each sample's result is the same; there are fewer, larger kernel calls (one
      // filter transform, dispatch and filter-gradient finish per pair: a 128 px generator's fwd +
      // bwd on batch 2 took 653 ms against 2 x 356 ms on batch 1). Batch norm mixes the samples'
      // statistics (and updates its moving averages per application), so it keeps separate calls.
      const together = batchable(o);
      const batched = together && o.lambdaIdentity > 0;
      // One direction: G maps x across (the fake D judges), F maps it back (the cycle L1); with
      // `idt`, G also maps the other domain's y to itself in the same batch (the identity L1).
      const cycle = (G: tf.LayersModel, F: tf.LayersModel, D: tf.LayersModel, x: tf.Tensor4D, lambda: number, keepFake: (f: tf.Tensor4D) => void, g: 'gA' | 'gB', c: 'cA' | 'cB', idt?: Identity) => (): tf.Scalar => {
        let fake: tf.Tensor4D;
        let same: tf.Tensor4D | null = null;
        if (idt) {
          [fake, same] = tf.split(G.apply(tf.concat([x, idt.y]), t) as tf.Tensor4D, [x.shape[0], idt.y.shape[0]]) as [tf.Tensor4D, tf.Tensor4D];
        } else fake = G.apply(x, t) as tf.Tensor4D;
        keepFake(tf.keep(fake));
        const gl = ganLoss(D.apply(fake, t) as tf.Tensor, true, o.ganMode);
        const cl = tf.mul(l1(F.apply(fake, t) as tf.Tensor4D, x), lambda) as tf.Scalar;
        losses[g] = tf.keep(gl);
        losses[c] = tf.keep(cl);
        if (!idt) return tf.add(gl, cl) as tf.Scalar;
        return tf.addN([gl, cl, identity(same!, idt)]) as tf.Scalar;
      };
      type Identity = { y: tf.Tensor4D; weight: number; key: 'iA' | 'iB' };
      // the identity L1 of G's output on the other domain's y (kept: the step reports it)
      const identity = (same: tf.Tensor, idt: Identity): tf.Scalar => (losses[idt.key] = tf.keep(tf.mul(l1(same, idt.y), idt.weight) as tf.Scalar));
      const idtA: Identity = { y: B, weight: o.lambdaB * o.lambdaIdentity, key: 'iA' };
      const idtB: Identity = { y: A, weight: o.lambdaA * o.lambdaIdentity, key: 'iB' };
      const parts: (() => tf.Scalar)[] = [
        cycle(G_A!, G_B!, D_A!, A, o.lambdaA, (f) => (fakeB = f), 'gA', 'cA', batched ? idtA : undefined),
        cycle(G_B!, G_A!, D_B!, B, o.lambdaB, (f) => (fakeA = f), 'gB', 'cB', batched ? idtB : undefined),
      ];
      if (o.lambdaIdentity > 0 && !batched) {
        parts.push(() => identity(G_A!.apply(B, t) as tf.Tensor, idtA));
        parts.push(() => identity(G_B!.apply(A, t) as tf.Tensor, idtB));
      }
      const sum: tf.NamedTensorMap = {};
      for (const f of parts) {
        // (the value is a kept loss or a sum the outer tidy disposes)
        const { grads } = tf.variableGrads(f, gVars);
        // in place into the running sums where the backend allows (kernels/accumulate.ts)
        accumulateInto(sum, grads);
      }
      // the optimizer keys its moments by position: keep the variables' own order
      const gGrads: tf.NamedTensorMap = {};
      for (const v of gVars) if (sum[v.name]) gGrads[v.name] = sum[v.name]!;
      gParts.push(losses.gA!, losses.cA!, losses.iA ?? tf.keep(tf.scalar(0)), losses.gB!, losses.cB!, losses.iB ?? tf.keep(tf.scalar(0)));
      const poolB = this.poolB.query(fakeB!, this.rng);
      const poolA = this.poolA.query(fakeA!, this.rng);
      const dStep = tf.variableGrads(() => {
        // real and fake through D as one batch where the norm allows (as the generators above)
        const judge = (D: tf.LayersModel, real: tf.Tensor4D, fake: tf.Tensor): [tf.Tensor, tf.Tensor] =>
          !together ? [D.apply(real, t) as tf.Tensor, D.apply(fake, t) as tf.Tensor] : (tf.split(D.apply(tf.concat([real, fake as tf.Tensor4D]), t) as tf.Tensor, [real.shape[0], fake.shape[0]!]) as [tf.Tensor, tf.Tensor]);
        const dLoss = (D: tf.LayersModel, real: tf.Tensor4D, fake: tf.Tensor) => {
          const [r, f] = judge(D, real, fake);
          return tf.mul(tf.add(ganLoss(r, true, o.ganMode), ganLoss(f, false, o.ganMode)), 0.5) as tf.Scalar;
        };
        const dA = dLoss(D_A!, B, poolB);
        const dB = dLoss(D_B!, A, poolA);
        dParts.push(tf.keep(dA), tf.keep(dB));
        return tf.add(dA, dB) as tf.Scalar;
      }, variablesOf(D_A!, D_B!));
      this.optimizers.G!.applyGradients(gGrads);
      this.optimizers.D!.applyGradients(dStep.grads);
    });
    tf.dispose([fakeA!, fakeB!] as tf.Tensor[]);
    const [gA, cA, iA, gB, cB, iB] = gParts;
    const [dA, dB] = dParts;
    return this.readLosses(this.lossNames, [dA!, gA!, cA!, iA!, dB!, gB!, cB!, iB!]);
  }

  visuals(): Record<string, tf.Tensor4D> {
    const { a: A, b: B } = this.requireInput() as Required<Pick<Batch, 'a' | 'b'>>;
    return tf.tidy(() => {
      const { G_A, G_B } = this.networks;
      const fB = G_A!.apply(A, { training: false }) as tf.Tensor4D;
      const fA = G_B!.apply(B, { training: false }) as tf.Tensor4D;
      return {
        real_A: A.clone(),
        fake_B: fB,
        rec_A: G_B!.apply(fB, { training: false }) as tf.Tensor4D,
        real_B: B.clone(),
        fake_A: fA,
        rec_B: G_A!.apply(fA, { training: false }) as tf.Tensor4D,
      };
    });
  }

  protected override async getExtraArrays(): Promise<NamedArray[]> {
    const s = this.options.size;
    const shape = [s, s, this.options.channels];
    await this.poolA.settle();
    await this.poolB.settle();
    return [
      ...this.poolA.images.map((d, i) => ({ name: `extra/poolA/${i}`, shape, dtype: 'float32' as const, data: d })),
      ...this.poolB.images.map((d, i) => ({ name: `extra/poolB/${i}`, shape, dtype: 'float32' as const, data: d })),
    ];
  }

  override dispose(): void {
    this.poolA.dispose();
    this.poolB.dispose();
    super.dispose();
  }

  protected override setExtraArrays(arrays: NamedArray[]): void {
    const pick = (p: string) =>
      arrays
        .filter((a) => a.name.startsWith(`extra/${p}/`))
        .sort((x, y) => Number(x.name.split('/')[2]) - Number(y.name.split('/')[2]))
        .map((a) => Float32Array.from(a.data));
    this.poolA.setImages(pick('poolA'));
    this.poolB.setImages(pick('poolB'));
  }
}
