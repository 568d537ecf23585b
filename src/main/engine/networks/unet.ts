/**
 * pix2pix U-Net generator (Isola et al. 2017; pytorch-CycleGAN-and-pix2pix UnetGenerator).
 *
 *   input  [B, S, S, inChannels]  in [-1, 1]            S a power of two >= 4
 *   e1     [B, S/2, S/2, ngf]          conv4 s2                     (no norm)
 *   e_i    [B, S/2^i, S/2^i, ngf*min(2^(i-1), 8)]   LReLU 0.2, conv4 s2, norm (innermost: no norm)
 *   ...    innermost e_depth [B, S/2^depth, ..] (1x1 when depth = log2 S)
 *   d_j    ReLU, convT4 s2, norm, dropout 0.5 (three innermost decoder blocks), concat skip e_j
 *   output [B, S, S, outChannels]  ReLU, convT4 s2, tanh
 * With outputScale f = 2^k > 1 the decoder stops at S/f (after the concat with e_k):
 *   [B, S/f, S/f, ..]  ReLU, conv3 s1, tanh -> [B, S/f, S/f, outChannels], bilinear x f -> [B, S, S, outChannels]
 * (a smooth output with no transposed-conv checkerboard; the colouriser's chroma, colorizer.ts).
 * With upsample 'resize' each decoder convT4 s2 is a bilinear x2 then conv3 s1 (Odena et al. 2016,
 * "Deconvolution and Checkerboard Artifacts"): same shapes, no period-2 pattern.
 */
import { tf } from '../backend';
import { Seeds, conv, convT, isPow2, log2i, lrelu, norm, relu, tanh, useBiasFor, type NormKind, type ST } from './common';

export interface UnetOptions {
  size: number;
  inChannels: number;
  outChannels: number;
  /** Filters of the first layer (doubles per level up to 8x). */
  ngf: number;
  norm: NormKind;
  /** Dropout 0.5 in the three innermost decoder blocks (the pix2pix noise). */
  dropout: boolean;
  /** Down-sampling levels; default log2(size) (down to 1x1). */
  depth?: number;
  /** Predict the output at S / outputScale and upsample bilinearly (a power of two, default 1). */
  outputScale?: number;
  /** Decoder up-sampling: transposed conv (paper, default) or bilinear resize + conv. */
  upsample?: 'transpose' | 'resize';
  seed: number;
  name?: string;
}

export function unetGenerator(o: UnetOptions): tf.LayersModel {
  const input = tf.input({ shape: [o.size, o.size, o.inChannels], name: 'input' });
  return tf.model({ inputs: input, outputs: unetOutput(input, o), name: o.name ?? 'unet_generator' });
}

/** The U-Net applied to `input` (a symbolic [B, S, S, inChannels]); for builders that wrap it. */
export function unetOutput(input: ST, o: UnetOptions): ST {
  if (!isPow2(o.size) || o.size < 4) throw new Error(`U-Net needs a power-of-two size >= 4, got ${o.size}`);
  const depth = o.depth ?? log2i(o.size);
  if (depth < 2 || depth > log2i(o.size)) throw new Error(`U-Net depth must be in 2..${log2i(o.size)}, got ${depth}`);
  const scale = o.outputScale ?? 1;
  const stop = log2i(scale);
  if (!isPow2(scale) || stop > depth - 1) throw new Error(`U-Net outputScale must be a power of two in 1..${2 ** (depth - 1)}, got ${scale}`);
  const seeds = new Seeds(o.seed);
  const bias = useBiasFor(o.norm);
  const width = (i: number) => o.ngf * Math.min(2 ** i, 8);

  const up = (x: ST, filters: number, useBias: boolean): ST =>
    o.upsample === 'resize'
      ? conv(tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(x) as ST, filters, 3, 1, 'same', seeds, useBias)
      : convT(x, filters, 4, 2, seeds, useBias);
  const skips: ST[] = [];
  let h = conv(input, width(0), 4, 2, 'same', seeds, true);
  skips.push(h);
  for (let i = 1; i < depth; i++) {
    h = lrelu(h);
    const innermost = i === depth - 1;
    h = conv(h, width(i), 4, 2, 'same', seeds, innermost ? true : bias);
    if (!innermost) h = norm(h, o.norm, seeds);
    skips.push(h);
  }
  // Decoder: from the innermost up to the level of skips[j], concat, ... (down to skips[stop - 1]).
  for (let j = depth - 2; j >= Math.max(0, stop - 1); j--) {
    h = relu(h);
    h = up(h, width(j), bias);
    h = norm(h, o.norm, seeds);
    if (o.dropout && depth - 2 - j < 3) h = tf.layers.dropout({ rate: 0.5 }).apply(h) as ST;
    h = tf.layers.concatenate({ axis: -1 }).apply([h, skips[j]!]) as ST;
  }
  h = relu(h);
  if (stop === 0) return tanh(up(h, o.outChannels, true));
  h = tanh(conv(h, o.outChannels, 3, 1, 'same', seeds, true));
  return tf.layers.upSampling2d({ size: [scale, scale], interpolation: 'bilinear' }).apply(h) as ST;
}
