/**
 * Image discriminators for translation models. Both output LOGITS (no sigmoid): the GAN losses
 * take logits (BCE-with-logits for 'vanilla', MSE on logits for 'lsgan'); sigmoid(logit) is the
 * probability "real".
 *
 * PatchGAN (pix2pix NLayerDiscriminator), every conv 4x4 with zero padding 1 (for the stride-2
 * convs 'same' padding is exactly that, pad 1 each side, so no separate padding layer):
 *   input  [B, S, S, C]      (pix2pix: C = input channels + output channels, concatenated)
 *   conv s2 ndf, LReLU 0.2                           [B, S/2, S/2, ndf]
 *   n = 1..nLayers-1: conv s2 ndf*min(2^n,8), norm, LReLU   [B, S/2^(n+1), ..]
 *   conv s1 ndf*min(2^nLayers,8), norm, LReLU        [B, S/2^nLayers - 1, ..]
 *   conv s1 1                                        [B, S/2^nLayers - 2, S/2^nLayers - 2, 1]
 * nLayers 3 at 256 px: 30x30 patches, each seeing a 70x70 receptive field.
 *
 * Pixel discriminator (PixelGAN, 1x1 convs): [B,S,S,C] -> ndf -> 2ndf (norm) -> [B, S, S, 1].
 */
import { tf } from '../backend';
import { Seeds, conv, lrelu, norm, useBiasFor, zeroPad, type NormKind } from './common';

export interface PatchGanOptions {
  size: number;
  inChannels: number;
  ndf: number;
  /** Strided layers; default min(3, floor(log2(size / 3))) so the output stays >= 1x1. */
  nLayers?: number;
  norm: NormKind;
  seed: number;
  name?: string;
}

export function defaultPatchLayers(size: number): number {
  return Math.max(1, Math.min(3, Math.floor(Math.log2(size / 3))));
}

/** Receptive field (pixels) of one output of a PatchGAN with nLayers strided layers. */
export function patchReceptiveField(nLayers: number): number {
  const strides = [...Array(nLayers).fill(2), 1, 1] as number[];
  let r = 1;
  for (let i = strides.length - 1; i >= 0; i--) r = (r - 1) * strides[i]! + 4;
  return r;
}

export function patchGanDiscriminator(o: PatchGanOptions): tf.LayersModel {
  const n = o.nLayers ?? defaultPatchLayers(o.size);
  const out = o.size / 2 ** n - 2;
  if (!(out >= 1)) throw new Error(`PatchGAN with ${n} layers needs a larger image than ${o.size} px`);
  const seeds = new Seeds(o.seed);
  const bias = useBiasFor(o.norm);
  const input = tf.input({ shape: [o.size, o.size, o.inChannels], name: 'input' });
  let h = lrelu(conv(input, o.ndf, 4, 2, 'same', seeds, true));
  for (let i = 1; i < n; i++) h = lrelu(norm(conv(h, o.ndf * Math.min(2 ** i, 8), 4, 2, 'same', seeds, bias), o.norm, seeds));
  h = lrelu(norm(conv(zeroPad(h, 1), o.ndf * Math.min(2 ** n, 8), 4, 1, 'valid', seeds, bias), o.norm, seeds));
  h = conv(zeroPad(h, 1), 1, 4, 1, 'valid', seeds, true);
  return tf.model({ inputs: input, outputs: h, name: o.name ?? 'patchgan_discriminator' });
}

export interface PixelDOptions {
  size: number;
  inChannels: number;
  ndf: number;
  norm: NormKind;
  seed: number;
  name?: string;
}

export function pixelDiscriminator(o: PixelDOptions): tf.LayersModel {
  const seeds = new Seeds(o.seed);
  const input = tf.input({ shape: [o.size, o.size, o.inChannels], name: 'input' });
  let h = lrelu(conv(input, o.ndf, 1, 1, 'valid', seeds, true));
  h = lrelu(norm(conv(h, o.ndf * 2, 1, 1, 'valid', seeds, useBiasFor(o.norm)), o.norm, seeds));
  h = conv(h, 1, 1, 1, 'valid', seeds, true);
  return tf.model({ inputs: input, outputs: h, name: o.name ?? 'pixel_discriminator' });
}
