/**
 * DCGAN generator / discriminator for small images (Radford et al. 2016), unconditional or
 * class-conditional.
 *
 * Generator:
 *   z      [B, nz]  (+ label [B, 1] int32 -> embedding [B, embedDim = min(nz, classes)], concatenated to z)
 *   dense  [B, 4*4*ngf*2^(n-1)]  -> reshape [B, 4, 4, ngf*2^(n-1)], BN, ReLU     n = log2(S/4)
 *   convT4 s2, BN, ReLU  (channels halve)      [B, 8, 8, ..] ... [B, S/2, S/2, ngf]
 *   convT4 s2 -> channels, tanh                [B, S, S, channels] in [-1, 1]
 *
 * Discriminator (outputs LOGITS; with the vanilla loss sigmoid(logit) is the probability "real"):
 *   image  [B, S, S, channels]  (+ label [B, 1] int32)
 *   conv4 s2 ndf, LReLU 0.2 (no BN)            [B, S/2, S/2, ndf]
 *   conv4 s2, BN, LReLU (channels double)      ... [B, 4, 4, ndf*2^(n-1)]
 *     (dNorm 'none': no BN; the model keeps every kernel's spectral norm <= 1 instead, SNGAN-style)
 *   minibatchStd 'batch' | 'class' (ProGAN): + 1 map of the samples' spread (layers/minibatch-std.ts;
 *     'class': among the samples of the same label), conv3 (channels kept), [norm], LReLU
 *                                              [B, 4, 4, ndf*2^(n-1)]
 *   flatten h                                  [B, F]
 *   logit = dense(h) [+ <embed(label), h>]     [B, 1]   (projection discriminator, Miyato 2018)
 *   auxClassifier: second output dense(h)      [B, numClasses] class logits (AC-GAN, Odena 2017)
 * Init: conv/dense N(0, 0.02); label embeddings N(0, 1) in G (as torch nn.Embedding) and
 * N(0, 1/F) in D's projection, so the label matters from the start.
 */
import { tf } from '../backend';
import { MinibatchStd } from '../layers';
import { Seeds, conv, convT, initN, isPow2, log2i, lrelu, norm, relu, tanh, type ST } from './common';

export interface DcganOptions {
  size: number;
  channels: number;
  nz: number;
  ngf: number;
  ndf: number;
  /** > 0: class-conditional with this many classes. */
  numClasses: number;
  /** Label embedding size in G (default nz). */
  embedDim?: number;
  /** Discriminator normalisation: 'batch' (DCGAN) or 'none' (with a spectral-norm constraint). */
  dNorm?: 'batch' | 'none';
  /** Discriminator minibatch standard-deviation feature at 4x4 (default 'off'). */
  minibatchStd?: 'off' | 'batch' | 'class';
  /** Conditional D only: a second output, class logits [B, numClasses] from h (AC-GAN). */
  auxClassifier?: boolean;
  seed: number;
}

function checkSize(size: number): number {
  if (!isPow2(size) || size < 8) throw new Error(`DCGAN needs a power-of-two size >= 8, got ${size}`);
  return log2i(size / 4);
}

/** Inputs: [z] or [z, label]. */
export function dcganGenerator(o: DcganOptions): tf.LayersModel {
  const n = checkSize(o.size);
  const seeds = new Seeds(o.seed);
  const z = tf.input({ shape: [o.nz], name: 'z' });
  const inputs: ST[] = [z];
  let h: ST = z;
  if (o.numClasses > 0) {
    const label = tf.input({ shape: [1], dtype: 'int32', name: 'label' });
    inputs.push(label);
    // N(0, 1) as torch's nn.Embedding: the label code is as strong as z from the first step.
    let e = tf.layers.embedding({ inputDim: o.numClasses, outputDim: o.embedDim ?? Math.min(o.nz, o.numClasses), embeddingsInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: seeds.next() }) }).apply(label) as ST;
    e = tf.layers.flatten().apply(e) as ST;
    h = tf.layers.concatenate({ axis: -1 }).apply([z, e]) as ST;
  }
  let ch = o.ngf * 2 ** (n - 1);
  h = tf.layers.dense({ units: 4 * 4 * ch, useBias: false, kernelInitializer: initN(seeds) }).apply(h) as ST;
  h = tf.layers.reshape({ targetShape: [4, 4, ch] }).apply(h) as ST;
  h = relu(norm(h, 'batch', seeds));
  for (let i = 1; i < n; i++) {
    ch = ch / 2;
    h = relu(norm(convT(h, ch, 4, 2, seeds, false), 'batch', seeds));
  }
  h = tanh(convT(h, o.channels, 4, 2, seeds, true));
  return tf.model({ inputs, outputs: h, name: o.numClasses > 0 ? 'cgan_generator' : 'gan_generator' });
}

/** Inputs: [image] or [image, label]. Output: logits [B, 1]. */
export function dcganDiscriminator(o: DcganOptions): tf.LayersModel {
  const n = checkSize(o.size);
  const seeds = new Seeds(o.seed + 1);
  const image = tf.input({ shape: [o.size, o.size, o.channels], name: 'image' });
  const inputs: ST[] = [image];
  const label = o.numClasses > 0 ? tf.input({ shape: [1], dtype: 'int32', name: 'label' }) : null;
  let h = lrelu(conv(image, o.ndf, 4, 2, 'same', seeds, true));
  let ch = o.ndf;
  const k = o.dNorm ?? 'batch';
  for (let i = 1; i < n; i++) {
    ch *= 2;
    h = lrelu(norm(conv(h, ch, 4, 2, 'same', seeds, k === 'none'), k, seeds));
  }
  const mbstd = o.minibatchStd ?? 'off';
  if (mbstd !== 'off') {
    const byClass = mbstd === 'class' && label ? o.numClasses : 0;
    h = new MinibatchStd({ numClasses: byClass }).apply(byClass ? [h, label!] : h) as ST;
    h = lrelu(norm(conv(h, ch, 3, 1, 'same', seeds, k === 'none'), k, seeds));
  }
  const feat = tf.layers.flatten().apply(h) as ST;
  const featDim = 4 * 4 * ch;
  let logit = tf.layers.dense({ units: 1, kernelInitializer: initN(seeds) }).apply(feat) as ST;
  if (label) {
    inputs.push(label);
    // N(0, 1/F): the projection <embed(y), h> starts on the scale of the unconditional logit.
    let e = tf.layers.embedding({ inputDim: o.numClasses, outputDim: featDim, embeddingsInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 1 / Math.sqrt(featDim), seed: seeds.next() }) }).apply(label) as ST;
    e = tf.layers.flatten().apply(e) as ST;
    const proj = tf.layers.dot({ axes: 1 }).apply([e, feat]) as ST;
    logit = tf.layers.add().apply([logit, proj]) as ST;
  }
  if (label && o.auxClassifier) {
    const cls = tf.layers.dense({ units: o.numClasses, kernelInitializer: initN(seeds), name: 'aux_classifier' }).apply(feat) as ST;
    return tf.model({ inputs, outputs: [logit, cls], name: 'cgan_discriminator' });
  }
  return tf.model({ inputs, outputs: logit, name: o.numClasses > 0 ? 'cgan_discriminator' : 'gan_discriminator' });
}
