/**
 * CycleGAN ResNet generator (Johnson et al. 2016; Zhu et al. 2017, ResnetGenerator).
 *
 *   input  [B, S, S, inChannels]                 S divisible by 4, S/4 >= 2
 *   c7s1   [B, S, S, ngf]        reflect-pad 3, conv7 valid, norm, ReLU
 *   d128   [B, S/2, S/2, 2ngf]   conv3 s2, norm, ReLU
 *   d256   [B, S/4, S/4, 4ngf]   conv3 s2, norm, ReLU
 *   R x N  [B, S/4, S/4, 4ngf]   x + (reflect 1, conv3, norm, ReLU, reflect 1, conv3, norm)
 *   u128   [B, S/2, S/2, 2ngf]   convT3 s2 (or nearest-upsample + reflect 1 + conv3), norm, ReLU
 *   u64    [B, S, S, ngf]
 *   c7s1   [B, S, S, outChannels] reflect-pad 3, conv7 valid, tanh
 * N = 6 blocks up to 128 px, 9 at 256 px (the paper's choice).
 */
import { tf } from '../backend';
import { Seeds, conv, convT, norm, reflect, relu, tanh, useBiasFor, type NormKind, type ST } from './common';

export interface ResnetOptions {
  size: number;
  inChannels: number;
  outChannels: number;
  ngf: number;
  norm: NormKind;
  /** Residual blocks; default 6 (<= 128 px) or 9. */
  blocks?: number;
  /** 'transpose' (the paper) or 'resize' (nearest upsample + conv: no checkerboard). */
  upsample: 'transpose' | 'resize';
  seed: number;
  name?: string;
}

export function defaultResnetBlocks(size: number): number {
  return size <= 128 ? 6 : 9;
}

export function resnetGenerator(o: ResnetOptions): tf.LayersModel {
  if (o.size % 4 !== 0 || o.size < 8) throw new Error(`ResNet generator needs a size divisible by 4 and >= 8, got ${o.size}`);
  const seeds = new Seeds(o.seed);
  const bias = useBiasFor(o.norm);
  const blocks = o.blocks ?? defaultResnetBlocks(o.size);
  const input = tf.input({ shape: [o.size, o.size, o.inChannels], name: 'input' });
  let h = reflect(input, 3);
  h = relu(norm(conv(h, o.ngf, 7, 1, 'valid', seeds, bias), o.norm, seeds));
  h = relu(norm(conv(h, o.ngf * 2, 3, 2, 'same', seeds, bias), o.norm, seeds));
  h = relu(norm(conv(h, o.ngf * 4, 3, 2, 'same', seeds, bias), o.norm, seeds));
  for (let i = 0; i < blocks; i++) {
    let r = reflect(h, 1);
    r = relu(norm(conv(r, o.ngf * 4, 3, 1, 'valid', seeds, bias), o.norm, seeds));
    r = reflect(r, 1);
    r = norm(conv(r, o.ngf * 4, 3, 1, 'valid', seeds, bias), o.norm, seeds);
    h = tf.layers.add().apply([h, r]) as ST;
  }
  for (const f of [o.ngf * 2, o.ngf]) {
    if (o.upsample === 'transpose') h = convT(h, f, 3, 2, seeds, bias);
    else {
      h = tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest' }).apply(h) as ST;
      h = conv(reflect(h, 1), f, 3, 1, 'valid', seeds, bias);
    }
    h = relu(norm(h, o.norm, seeds));
  }
  h = reflect(h, 3);
  h = conv(h, o.outChannels, 7, 1, 'valid', seeds, true);
  return tf.model({ inputs: input, outputs: tanh(h), name: o.name ?? 'resnet_generator' });
}
