/**
 * Reference-compatible networks (variant "reference-v1"): the generators and discriminator of
 * junyanz/pytorch-CycleGAN-and-pix2pix (models/networks.py) rebuilt in tfjs so that a state dict
 * maps weight for weight and the outputs equal PyTorch's. Each layer with weights is NAMED BY ITS
 * PYTORCH MODULE PATH (`model.10.conv_block.1`, `model.model.1.model.2`), which is the whole
 * weight mapping, in both directions. Atelier's own builders (networks/) are unchanged; these
 * differ from them exactly where the reference does:
 *   - stride-2 3x3 convs pad 1 on both sides (zero-pad 1 + valid; tfjs 'same' pads 0/1),
 *   - 3x3 stride-2 transposed convs (padding 1, output_padding 1) keep the full output's rows
 *     1..2S (valid transposed conv, then crop the first row and column; tfjs 'same' keeps 0..2S-1),
 *   - the U-Net concatenates [skip, decoded] (skip first), dropout sits after the up-norm of the
 *     num_downs-5 blocks just outside the innermost, and the outermost down conv has a bias only
 *     under instance norm,
 *   - convs before a norm carry a bias only under instance norm (never under batch norm).
 * Norm 'instance' = InstanceNorm2d(affine=False), eps 1e-5; 'batch' = BatchNorm2d (eps 1e-5,
 * momentum 0.1, running variance updated with the unbiased batch variance as PyTorch does). With `perImageBatchNorm`, batch-norm layers normalise with the image's own
 * statistics (gamma and beta kept): the reference's test.py without --eval at its batch size 1.
 *
 * ResNet ('resnet_6blocks' | 'resnet_9blocks'), NHWC shapes, torch indices in the names:
 *   input [B,S,S,inc] -> model.0 reflect 3, model.1 conv7 ngf, model.2 norm, ReLU      [B,S,S,ngf]
 *   model.4 conv3 s2 p1 2ngf, model.5 norm, ReLU                                       [B,S/2,S/2,2ngf]
 *   model.7 conv3 s2 p1 4ngf, model.8 norm, ReLU                                       [B,S/4,S/4,4ngf]
 *   model.{10..9+n}: x + conv_block(reflect 1, .1 conv3, .2 norm, ReLU, [Dropout 0.5],
 *                     reflect 1, .5|.6 conv3, .6|.7 norm)                               [B,S/4,S/4,4ngf]
 *   model.{10+n} convT3 s2 2ngf, model.{11+n} norm, ReLU                               [B,S/2,S/2,2ngf]
 *   model.{13+n} convT3 s2 ngf,  model.{14+n} norm, ReLU                               [B,S,S,ngf]
 *   reflect 3, model.{17+n} conv7 outc (biased), tanh                                  [B,S,S,outc]
 * U-Net ('unet_128': 7 downs, 'unet_256': 8), a block at path P has its layers at P.model.<i>:
 *   outermost (P = model):  0 conv4 s2 inc->ngf, 1 sub-block, ReLU, 3 convT4 s2 2ngf->outc (biased), tanh
 *   middle:                 LReLU 0.2, 1 conv4 s2, 2 norm, 3 sub-block, ReLU, 5 convT4 s2, 6 norm, [Dropout]
 *   innermost:              LReLU 0.2, 1 conv4 s2, ReLU, 3 convT4 s2, 4 norm
 *   each non-outermost block returns concat([x, block(x)]); widths ngf*min(2^level, 8);
 *   S must be a multiple of 2^num_downs (the innermost map is 1x1 at S = 2^num_downs).
 * PatchGAN ('basic', NLayerDiscriminator, n_layers 3): model.0 conv4 s2 p1 ndf (biased), LReLU;
 *   model.{3k-1} conv4 s2 p1, model.{3k} norm, LReLU (k = 1..n-1); model.{3n-1} conv4 s1 p1,
 *   model.{3n} norm, LReLU; model.{3n+2} conv4 s1 p1 -> 1 (biased)   [B,S,S,C] -> [B,S/8-2,S/8-2,1]
 */
import { tf } from '../backend';
import { InstanceNormalization, ReflectionPadding2D, TorchBatchNorm } from '../layers';
import type { OptionSpec } from '../models/options';

export const REFERENCE_VARIANT = 'reference-v1';

export type RefGenerator = 'resnet_6blocks' | 'resnet_9blocks' | 'unet_128' | 'unet_256';
export type RefNorm = 'instance' | 'batch';
type ST = tf.SymbolicTensor;

export interface RefGeneratorOptions {
  netG: RefGenerator;
  norm: RefNorm;
  ngf: number;
  inChannels: number;
  outChannels: number;
  /** Input size the model is built at (the ONNX export is size-free). */
  size: number;
  /** The reference's use_dropout (pix2pix default on; CycleGAN --no_dropout). */
  dropout: boolean;
  /** Batch norm with each image's own statistics (the reference's train-mode test at batch size 1). */
  perImageBatchNorm?: boolean;
  name?: string;
}

export interface RefDiscriminatorOptions {
  norm: RefNorm;
  ndf: number;
  inChannels: number;
  size: number;
  nLayers?: number;
  name?: string;
}

export function numDowns(netG: RefGenerator): number {
  return netG === 'unet_128' ? 7 : netG === 'unet_256' ? 8 : 0;
}
export function resnetBlocks(netG: RefGenerator): number {
  return netG === 'resnet_9blocks' ? 9 : netG === 'resnet_6blocks' ? 6 : 0;
}

const relu = (x: ST): ST => tf.layers.reLU().apply(x) as ST;
const lrelu = (x: ST): ST => tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as ST;
const reflect = (x: ST, p: number): ST => new ReflectionPadding2D({ padding: p }).apply(x) as ST;
const zeroPad = (x: ST, p: number): ST => tf.layers.zeroPadding2d({ padding: p }).apply(x) as ST;
const conv = (x: ST, name: string, filters: number, k: number, s: number, padding: 'valid' | 'same', useBias: boolean): ST =>
  tf.layers.conv2d({ name, filters, kernelSize: k, strides: s, padding, useBias, kernelInitializer: 'glorotNormal', biasInitializer: 'zeros' }).apply(x) as ST;
const convT = (x: ST, name: string, filters: number, k: number, s: number, padding: 'valid' | 'same', useBias: boolean): ST =>
  tf.layers.conv2dTranspose({ name, filters, kernelSize: k, strides: s, padding, useBias, kernelInitializer: 'glorotNormal', biasInitializer: 'zeros' }).apply(x) as ST;

function normLayer(x: ST, name: string, kind: RefNorm, perImage = false): ST {
  if (kind === 'instance') return new InstanceNormalization({ affine: false, epsilon: 1e-5 }).apply(x) as ST;
  if (perImage) return new InstanceNormalization({ affine: true, epsilon: 1e-5, name }).apply(x) as ST;
  // Running statistics updated as PyTorch's (unbiased variance): layers/torch-batch-norm.ts.
  return new TorchBatchNorm({ name, axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(x) as ST;
}

function resnet(o: RefGeneratorOptions, input: ST): ST {
  const n = resnetBlocks(o.netG);
  const bias = o.norm === 'instance';
  const nrm = (x: ST, name: string) => normLayer(x, name, o.norm, o.perImageBatchNorm);
  let h = relu(nrm(conv(reflect(input, 3), 'model.1', o.ngf, 7, 1, 'valid', bias), 'model.2'));
  h = relu(nrm(conv(zeroPad(h, 1), 'model.4', o.ngf * 2, 3, 2, 'valid', bias), 'model.5'));
  h = relu(nrm(conv(zeroPad(h, 1), 'model.7', o.ngf * 4, 3, 2, 'valid', bias), 'model.8'));
  for (let b = 0; b < n; b++) {
    const p = `model.${10 + b}.conv_block`;
    let r = relu(nrm(conv(reflect(h, 1), `${p}.1`, o.ngf * 4, 3, 1, 'valid', bias), `${p}.2`));
    if (o.dropout) r = tf.layers.dropout({ rate: 0.5 }).apply(r) as ST;
    const j = o.dropout ? 5 : 4;
    r = nrm(conv(reflect(r, 1), `${p}.${j + 1}`, o.ngf * 4, 3, 1, 'valid', bias), `${p}.${j + 2}`);
    h = tf.layers.add().apply([h, r]) as ST;
  }
  const up = 10 + n;
  for (let i = 0; i < 2; i++) {
    h = convT(h, `model.${up + 3 * i}`, o.ngf * 2 ** (1 - i), 3, 2, 'valid', bias);
    h = tf.layers.cropping2D({ cropping: [[1, 0], [1, 0]] }).apply(h) as ST;
    h = relu(nrm(h, `model.${up + 3 * i + 1}`));
  }
  h = conv(reflect(h, 3), `model.${up + 7}`, o.outChannels, 7, 1, 'valid', true);
  return tf.layers.activation({ activation: 'tanh' }).apply(h) as ST;
}

function unet(o: RefGeneratorOptions, input: ST): ST {
  const downs = numDowns(o.netG);
  const bias = o.norm === 'instance';
  const nrm = (x: ST, name: string) => normLayer(x, name, o.norm, o.perImageBatchNorm);
  const inner = (level: number) => o.ngf * Math.min(2 ** level, 8);
  const outer = (level: number) => (level === 0 ? o.outChannels : inner(level - 1));
  // One UnetSkipConnectionBlock at `level` (0 = outermost) whose modules live at `${path}.model`.
  const block = (x: ST, level: number, path: string): ST => {
    const m = `${path}.model`;
    if (level === 0) {
      let h = conv(x, `${m}.0`, inner(0), 4, 2, 'same', bias);
      h = block(h, 1, `${m}.1`);
      h = convT(relu(h), `${m}.3`, outer(0), 4, 2, 'same', true);
      return tf.layers.activation({ activation: 'tanh' }).apply(h) as ST;
    }
    let h = conv(lrelu(x), `${m}.1`, inner(level), 4, 2, 'same', bias);
    if (level === downs - 1) {
      h = nrm(convT(relu(h), `${m}.3`, outer(level), 4, 2, 'same', bias), `${m}.4`);
    } else {
      h = block(nrm(h, `${m}.2`), level + 1, `${m}.3`);
      h = nrm(convT(relu(h), `${m}.5`, outer(level), 4, 2, 'same', bias), `${m}.6`);
      if (o.dropout && level >= 4) h = tf.layers.dropout({ rate: 0.5 }).apply(h) as ST;
    }
    return tf.layers.concatenate({ axis: -1 }).apply([x, h]) as ST;
  };
  return block(input, 0, 'model');
}

/** A reference generator: [B, S, S, inChannels] in [-1, 1] -> [B, S, S, outChannels]. */
export function referenceGenerator(o: RefGeneratorOptions): tf.LayersModel {
  const downs = numDowns(o.netG);
  if (downs) {
    if (o.size % 2 ** downs !== 0) throw new Error(`${o.netG} needs a size that is a multiple of ${2 ** downs}, got ${o.size}`);
  } else if (resnetBlocks(o.netG)) {
    if (o.size % 4 !== 0 || o.size < 8) throw new Error(`${o.netG} needs a size divisible by 4 and >= 8, got ${o.size}`);
  } else throw new Error(`unknown reference generator "${o.netG}"`);
  const input = tf.input({ shape: [o.size, o.size, o.inChannels], name: 'input' });
  const out = downs ? unet(o, input) : resnet(o, input);
  return tf.model({ inputs: input, outputs: out, name: o.name ?? `ref_${o.netG}` });
}

/** The reference's 'basic' PatchGAN (NLayerDiscriminator): logits [B, S/2^n - 2, S/2^n - 2, 1]. */
export function referenceDiscriminator(o: RefDiscriminatorOptions): tf.LayersModel {
  const n = o.nLayers ?? 3;
  const bias = o.norm === 'instance';
  const input = tf.input({ shape: [o.size, o.size, o.inChannels], name: 'input' });
  let h = lrelu(conv(zeroPad(input, 1), 'model.0', o.ndf, 4, 2, 'valid', true));
  let k = 1;
  for (; k < n; k++) h = lrelu(normLayer(conv(zeroPad(h, 1), `model.${3 * k - 1}`, o.ndf * Math.min(2 ** k, 8), 4, 2, 'valid', bias), `model.${3 * k}`, o.norm));
  h = lrelu(normLayer(conv(zeroPad(h, 1), `model.${3 * n - 1}`, o.ndf * Math.min(2 ** n, 8), 4, 1, 'valid', bias), `model.${3 * n}`, o.norm));
  h = conv(zeroPad(h, 1), `model.${3 * n + 2}`, 1, 4, 1, 'valid', true);
  return tf.model({ inputs: input, outputs: h, name: o.name ?? 'ref_basic_D' });
}

/**
 * The models' option naming the reference preset outright (pix2pix and cyclegan share it): 'auto'
 * derives it from netG and the size; a run continued from imported checkpoints names the
 * preset they hold (a resnet_9blocks trained at 256 px keeps its 9 blocks at 64 px).
 */
export const REFERENCE_NETG_OPTION: OptionSpec = {
  key: 'referenceNetG',
  type: 'enum',
  default: 'auto',
  choices: ['auto', 'unet_128', 'unet_256', 'resnet_6blocks', 'resnet_9blocks'],
  description: "With variant reference: the reference's generator preset (auto: from netG and the size; set it to continue imported checkpoints).",
};

/** The reference preset for Atelier's netG choice at an image size (for training with the reference variant), unless named. */
export function referencePreset(netG: 'unet' | 'resnet', size: number, named: RefGenerator | 'auto' = 'auto'): RefGenerator {
  if (named !== 'auto') return named;
  if (netG === 'resnet') return size >= 256 ? 'resnet_9blocks' : 'resnet_6blocks';
  if (size % 256 === 0) return 'unet_256';
  if (size % 128 === 0) return 'unet_128';
  throw new Error(`The reference's U-Nets (unet_128, unet_256) need an image size that is a multiple of 128, got ${size}; use netG=resnet or the atelier variant`);
}

/** The reference's init_weights('normal', 0.02): conv kernels N(0, 0.02), batch-norm scale N(1, 0.02), zero biases; seeded. */
export function initReferenceWeights(model: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const short = w.name.slice(w.name.lastIndexOf('/') + 1).replace(/_\d+$/, '');
      const shape = w.shape as number[];
      const v = tf.tidy(() => {
        if (short === 'kernel') return tf.randomNormal(shape, 0, 0.02, 'float32', ++s);
        if (short === 'gamma') return tf.randomNormal(shape, 1, 0.02, 'float32', ++s);
        if (short === 'moving_variance') return tf.ones(shape);
        return tf.zeros(shape);
      });
      w.write(v);
      v.dispose();
    }
  }
}
