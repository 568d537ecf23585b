/**
 * Convolutional autoencoder with a chosen bottleneck size; the decoder mirrors the encoder.
 *
 * Encoder:  image [B, S, S, C] -> conv4 s2 (ngf, 2ngf, .. up to 8ngf), norm, LReLU 0.2
 *           down to [B, 4, 4, Ck] -> flatten -> dense -> latent [B, latent]
 * Decoder:  latent [B, latent] -> dense -> [B, 4, 4, Ck] -> (convT4 s2, norm, ReLU) mirrored
 *           -> convT4 s2 -> C, tanh -> [B, S, S, C] in [-1, 1]
 * Encoder and decoder are separate tf.LayersModels (latent exploration uses each alone).
 */
import { tf } from '../backend';
import { Seeds, conv, convT, initN, isPow2, log2i, lrelu, norm, relu, tanh, useBiasFor, type NormKind, type ST } from './common';

export interface AutoencoderOptions {
  size: number;
  channels: number;
  latent: number;
  ngf: number;
  norm: NormKind;
  seed: number;
}

export function autoencoderNetworks(o: AutoencoderOptions): { encoder: tf.LayersModel; decoder: tf.LayersModel } {
  if (!isPow2(o.size) || o.size < 8) throw new Error(`Autoencoder needs a power-of-two size >= 8, got ${o.size}`);
  const n = log2i(o.size / 4);
  const seeds = new Seeds(o.seed);
  const bias = useBiasFor(o.norm);
  const widths = Array.from({ length: n }, (_, i) => o.ngf * Math.min(2 ** i, 8));
  const top = widths[n - 1]!;

  const image = tf.input({ shape: [o.size, o.size, o.channels], name: 'image' });
  let h: ST = image;
  widths.forEach((w, i) => {
    h = conv(h, w, 4, 2, 'same', seeds, i === 0 ? true : bias);
    if (i > 0) h = norm(h, o.norm, seeds);
    h = lrelu(h);
  });
  h = tf.layers.flatten().apply(h) as ST;
  const latent = tf.layers.dense({ units: o.latent, kernelInitializer: initN(seeds), name: undefined }).apply(h) as ST;
  const encoder = tf.model({ inputs: image, outputs: latent, name: 'encoder' });

  const z = tf.input({ shape: [o.latent], name: 'latent' });
  let d = tf.layers.dense({ units: 4 * 4 * top, kernelInitializer: initN(seeds) }).apply(z) as ST;
  d = tf.layers.reshape({ targetShape: [4, 4, top] }).apply(d) as ST;
  d = relu(d);
  for (let i = n - 2; i >= 0; i--) d = relu(norm(convT(d, widths[i]!, 4, 2, seeds, bias), o.norm, seeds));
  d = tanh(convT(d, o.channels, 4, 2, seeds, true));
  const decoder = tf.model({ inputs: z, outputs: d, name: 'decoder' });
  return { encoder, decoder };
}
