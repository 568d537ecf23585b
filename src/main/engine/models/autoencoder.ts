/**
 * Convolutional autoencoder: x* = decoder(encoder(x)), loss = mean(1/2 (x* - x)^2).
 * Encoder and decoder are separate networks (latent exploration uses them alone).
 */
import { tf } from '../backend';
import { autoencoderNetworks, scaledWidth, type NormKind } from '../networks';
import { BaseModel, variablesOf, type CommonOptions } from './base';
import type { OptionSpec } from './options';

export interface AutoencoderModelOptions extends CommonOptions {
  latent: number;
  ngf: number | null;
  norm: NormKind;
}

export const AUTOENCODER_OPTIONS: readonly OptionSpec[] = [
  { key: 'latent', type: 'int', default: 32, min: 1, max: 4096, description: 'Bottleneck (latent vector) size.' },
  { key: 'ngf', type: 'int', default: null, min: 1, description: 'Width of the first conv; default scaled from the image size.' },
  { key: 'norm', type: 'enum', default: 'none', choices: ['none', 'batch', 'instance'], description: 'Normalisation layers (none: training and inference behave the same).' },
];

export class AutoencoderModel extends BaseModel<AutoencoderModelOptions> {
  readonly kind = 'autoencoder' as const;
  readonly lossNames = ['recon'] as const;
  readonly visualNames = ['real', 'recon'] as const;
  readonly networkNames = ['encoder', 'decoder'] as const;
  readonly inferenceNetworks = ['encoder', 'decoder'] as const;

  constructor(options: AutoencoderModelOptions) {
    super(options);
    const o = options;
    const { encoder, decoder } = autoencoderNetworks({ size: o.size, channels: o.channels, latent: o.latent, ngf: o.ngf ?? scaledWidth(o.size), norm: o.norm, seed: this.rng.seed() });
    this.networks.encoder = encoder;
    this.networks.decoder = decoder;
    this.optimizers.AE = this.makeAdam();
  }


  protected trainStepImpl(): Record<string, number> {
    const x = this.requireInput().a;
    const { encoder, decoder } = this.networks;
    const kept: tf.Scalar[] = [];
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const rec = decoder!.apply(encoder!.apply(x, { training: true }), { training: true }) as tf.Tensor;
        const l = tf.mul(tf.mean(tf.square(tf.sub(rec, x))), 0.5) as tf.Scalar;
        kept.push(tf.keep(l));
        return l;
      }, variablesOf(encoder!, decoder!));
      this.optimizers.AE!.applyGradients(grads);
    });
    return this.readLosses(this.lossNames, kept);
  }

  visuals(): Record<string, tf.Tensor4D> {
    const x = this.requireInput().a;
    return tf.tidy(() => ({
      real: x.clone(),
      recon: this.networks.decoder!.apply(this.networks.encoder!.apply(x, { training: false }), { training: false }) as tf.Tensor4D,
    }));
  }
}
