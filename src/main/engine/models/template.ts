/**
 * Template model: copy this file to add a model kind (after pytorch-CycleGAN-and-pix2pix's
 * models/template_model.py). It is a complete, working model: a two-layer convolutional
 * translator G trained with an L1 regression loss on paired A -> B images.
 *
 *   G: input [B, S, S, C] -conv3x3(ngf)-> LeakyReLU 0.2 -conv3x3(C)-> tanh -> [B, S, S, C]
 *      (built at the training size S, as the other generators; N(0, 0.02) init from the run's
 *      seed; the exported ONNX graph takes any height and width)
 *   loss: L1 = mean |G(A) - B|
 *
 * To add a model (docs/adding-a-model.md):
 *   1. copy this file to models/<kind>.ts; change the network, the losses and the step;
 *   2. say what its bundles can do in `capabilities` (translate directions -> networks,
 *      generate {latent, network, classes}, encode {latent, encoder, decoder}, the metrics
 *      suite and key metric), and what data it needs;
 *   3. add one line to MODELS in models/registry.ts (or call registerModel once).
 * Training, checkpoints, resume, sample grids, bundles, ONNX export, inference, evaluation, the
 * scoreboard and the pages then work for it with no other change: they read the declared names
 * and capabilities, never the kind.
 */
import { tf } from '../backend';
import { Seeds, conv, lrelu, tanh } from '../networks/common';
import { BaseModel, variablesOf, type CommonOptions, type ModelKind } from './base';
import type { OptionSpec } from './options';
import type { ModelDefinition } from './registry';

export interface TemplateOptions extends CommonOptions {
  ngf: number;
}

/** Its own options (COMMON_OPTIONS, size, lr, seed ..., are added by the registry). */
export const TEMPLATE_OPTIONS: readonly OptionSpec[] = [{ key: 'ngf', type: 'int', default: 8, min: 1, max: 256, description: 'Width of the hidden convolution.' }];

/** G of the shape above (pure: a function of its options). */
export function templateGenerator(o: { size: number; channels: number; ngf: number; seed: number }): tf.LayersModel {
  const seeds = new Seeds(o.seed);
  const input = tf.input({ shape: [o.size, o.size, o.channels], name: 'input' });
  const h = lrelu(conv(input, o.ngf, 3, 1, 'same', seeds));
  const out = tanh(conv(h, o.channels, 3, 1, 'same', seeds));
  return tf.model({ inputs: input, outputs: out, name: 'G' });
}

export class TemplateModel extends BaseModel<TemplateOptions> {
  /** What the trainer logs and charts, one number per step each. */
  readonly lossNames = ['L1'] as const;
  /** The rows of the sample grid. */
  readonly visualNames = ['real_A', 'fake_B', 'real_B'] as const;
  /** Everything a checkpoint saves. */
  readonly networkNames = ['G'] as const;
  /** What a bundle keeps for inference (named in `capabilities`). */
  readonly inferenceNetworks = ['G'] as const;

  constructor(
    options: TemplateOptions,
    readonly kind: ModelKind = 'template',
  ) {
    super(options);
    this.networks.G = templateGenerator({ size: options.size, channels: options.channels, ngf: options.ngf, seed: this.rng.seed() });
    this.optimizers.G = this.makeAdam();
  }

  protected override checkInput(batch: { b?: tf.Tensor4D }): void {
    if (!batch.b) throw new Error(`${this.kind} trains on paired A/B images (batch.b missing)`);
  }

  protected trainStepImpl(): Record<string, number> {
    const { a, b } = this.requireInput();
    const G = this.networks.G!;
    const kept: tf.Scalar[] = [];
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const l = tf.mean(tf.abs(tf.sub(G.apply(a, { training: true }) as tf.Tensor4D, b!))) as tf.Scalar;
        kept.push(tf.keep(l));
        return l;
      }, variablesOf(G));
      this.optimizers.G!.applyGradients(grads);
    });
    return this.readLosses(this.lossNames, kept);
  }

  visuals(): Record<string, tf.Tensor4D> {
    const { a, b } = this.requireInput();
    return tf.tidy(() => ({ real_A: a.clone(), fake_B: this.networks.G!.apply(a, { training: false }) as tf.Tensor4D, real_B: b!.clone() }));
  }
}

/**
 * The registry entry of the template under a kind name. models/registry.ts lists the shipped
 * kinds; a test registers this one as a toy kind (tests/unit/engine/models/toy-model.test.ts).
 */
export function templateDefinition(kind: ModelKind = 'template'): ModelDefinition {
  return {
    kind,
    title: 'Template translator',
    description: 'A two-layer convolutional A -> B translator with an L1 loss (the template for new models).',
    data: 'paired',
    own: TEMPLATE_OPTIONS,
    create: (o) => new TemplateModel(o as unknown as TemplateOptions, kind),
    capabilities: () => ({ translate: { AtoB: 'G' }, metrics: { suite: 'paired', key: { name: 'l1', higherIsBetter: false } } }),
  };
}
