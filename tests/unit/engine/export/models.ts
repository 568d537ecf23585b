/**
 * Tiny tfjs generators for export tests, built from standard layers and the project's custom
 * layers (InstanceNormalization, ReflectionPadding2D).
 */
import { tf } from '../../../../src/main/engine/backend';
import type * as tfTypes from '@tensorflow/tfjs';
import { Rng } from '../../../../src/main/engine/analysis/rng';
import { InstanceNormalization, ReflectionPadding2D } from '../../../../src/main/engine/layers';

type ST = tfTypes.SymbolicTensor;

/** The project's custom layers with random affine weights (so parity tests see gamma/beta). */
let inSeed = 100;
function instanceNorm(): InstanceNormalization {
  const layer = new InstanceNormalization({ epsilon: 1e-5, affine: true });
  const seed = inSeed++;
  const orig = layer.build.bind(layer);
  layer.build = (shape: tfTypes.Shape | tfTypes.Shape[]) => {
    orig(shape);
    const rng = new Rng(seed);
    const c = (shape as number[])[3]!;
    const g = tf.tensor1d(Float32Array.from({ length: c }, () => 0.5 + rng.next()));
    const b = tf.tensor1d(Float32Array.from({ length: c }, () => rng.next() - 0.5));
    layer.setWeights([g, b]);
    g.dispose();
    b.dispose();
  };
  return layer;
}
const reflect = (padding: number) => new ReflectionPadding2D({ padding });

const L = () => tf.layers;

/** Give BatchNormalization layers non-trivial moving statistics and affine weights. */
export function randomizeBatchNorm(model: tfTypes.LayersModel, seed = 7): void {
  const rng = new Rng(seed);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const ws = layer.getWeights();
    const next = ws.map((w) => {
      const n = w.size;
      const short = layer.weights[ws.indexOf(w)]!.name;
      const vals = Float32Array.from({ length: n }, () => (short.includes('variance') ? 0.5 + rng.next() : short.includes('gamma') ? 0.5 + rng.next() : rng.normal() * 0.3));
      return tf.tensor(vals, w.shape);
    });
    layer.setWeights(next);
    next.forEach((t) => t.dispose());
  }
}

/** U-Net-like: strided convs, BN, LeakyReLU, transposed convs, dropout, skip concat, tanh. */
export function tinyUnet(size = 16, ch = 3, ngf = 4, outCh = ch): tfTypes.LayersModel {
  const x = tf.input({ shape: [size, size, ch], name: 'image' });
  const e1 = L().leakyReLU({ alpha: 0.2 }).apply(L().conv2d({ filters: ngf, kernelSize: 4, strides: 2, padding: 'same' }).apply(x)) as ST;
  let e2 = L().conv2d({ filters: ngf * 2, kernelSize: 4, strides: 2, padding: 'same', useBias: false }).apply(e1) as ST;
  e2 = L().leakyReLU({ alpha: 0.2 }).apply(L().batchNormalization({ epsilon: 1e-5 }).apply(e2)) as ST;
  let d1 = L().conv2dTranspose({ filters: ngf, kernelSize: 4, strides: 2, padding: 'same' }).apply(e2) as ST;
  d1 = L().batchNormalization().apply(d1) as ST;
  d1 = L().dropout({ rate: 0.5 }).apply(d1) as ST;
  d1 = L().reLU().apply(d1) as ST;
  const cat = L().concatenate({ axis: -1 }).apply([d1, e1]) as ST;
  const y = L().conv2dTranspose({ filters: outCh, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh' }).apply(cat) as ST;
  const m = tf.model({ inputs: x, outputs: y, name: 'unet' });
  randomizeBatchNorm(m);
  return m;
}

/** ResNet-like: reflection pad, instance norm, residual add, transposed conv and resize-conv. */
export function tinyResnet(size = 16, ch = 3, ngf = 4): tfTypes.LayersModel {
  const x = tf.input({ shape: [size, size, ch] });
  let h = reflect(3).apply(x) as ST;
  h = L().conv2d({ filters: ngf, kernelSize: 7, padding: 'valid' }).apply(h) as ST;
  h = L().reLU().apply(instanceNorm().apply(h)) as ST;
  h = L().conv2d({ filters: ngf * 2, kernelSize: 3, strides: 2, padding: 'same' }).apply(h) as ST;
  h = L().reLU().apply(instanceNorm().apply(h)) as ST;
  // residual block
  let r = reflect(1).apply(h) as ST;
  r = L().conv2d({ filters: ngf * 2, kernelSize: 3, padding: 'valid' }).apply(r) as ST;
  r = L().reLU().apply(instanceNorm().apply(r)) as ST;
  r = reflect(1).apply(r) as ST;
  r = L().conv2d({ filters: ngf * 2, kernelSize: 3, padding: 'valid' }).apply(r) as ST;
  r = instanceNorm().apply(r) as ST;
  h = L().add().apply([h, r]) as ST;
  // down again then up with a transposed conv (k3 s2 same: asymmetric crop) and a resize-conv
  h = L().conv2d({ filters: ngf * 2, kernelSize: 3, strides: 2, padding: 'same' }).apply(h) as ST;
  h = L().conv2dTranspose({ filters: ngf, kernelSize: 3, strides: 2, padding: 'same' }).apply(h) as ST;
  h = L().reLU().apply(instanceNorm().apply(h)) as ST;
  h = L().upSampling2d({ size: [2, 2] }).apply(h) as ST;
  h = L().conv2d({ filters: ngf, kernelSize: 3, padding: 'same' }).apply(h) as ST;
  h = L().activation({ activation: 'relu' }).apply(h) as ST;
  h = reflect(3).apply(h) as ST;
  const y = L().conv2d({ filters: ch, kernelSize: 7, padding: 'valid', activation: 'tanh' }).apply(h) as ST;
  return tf.model({ inputs: x, outputs: y, name: 'resnet' });
}

/** DCGAN: z -> dense -> reshape NHWC -> BN/ReLU -> transposed convs -> tanh. */
export function tinyDcgan(latent = 8, ch = 3, ngf = 8): tfTypes.LayersModel {
  const z = tf.input({ shape: [latent] });
  let h = L().dense({ units: 4 * 4 * ngf, useBias: false }).apply(z) as ST;
  h = L().reshape({ targetShape: [4, 4, ngf] }).apply(h) as ST;
  h = L().reLU().apply(L().batchNormalization().apply(h)) as ST;
  h = L().conv2dTranspose({ filters: ngf / 2, kernelSize: 4, strides: 2, padding: 'same' }).apply(h) as ST;
  h = L().leakyReLU({ alpha: 0.2 }).apply(L().batchNormalization().apply(h)) as ST;
  const y = L().conv2dTranspose({ filters: ch, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh' }).apply(h) as ST;
  const m = tf.model({ inputs: z, outputs: y, name: 'dcgan' });
  randomizeBatchNorm(m, 11);
  return m;
}

/** Conditional DCGAN: label -> Embedding -> flatten, concatenated to z. */
export function tinyCgan(latent = 8, classes = 10, ch = 1, ngf = 8): tfTypes.LayersModel {
  const z = tf.input({ shape: [latent], name: 'z_in' });
  const label = tf.input({ shape: [1], name: 'label_in' });
  const emb = L().flatten().apply(L().embedding({ inputDim: classes, outputDim: 6 }).apply(label)) as ST;
  let h = L().concatenate().apply([z, emb]) as ST;
  h = L().dense({ units: 4 * 4 * ngf, activation: 'relu' }).apply(h) as ST;
  h = L().reshape({ targetShape: [4, 4, ngf] }).apply(h) as ST;
  h = L().upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(h) as ST;
  h = L().conv2d({ filters: ngf, kernelSize: 3, padding: 'same' }).apply(h) as ST;
  h = L().batchNormalization().apply(h) as ST;
  h = L().leakyReLU({ alpha: 0.2 }).apply(h) as ST;
  const y = L().conv2dTranspose({ filters: ch, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh' }).apply(h) as ST;
  const m = tf.model({ inputs: [z, label], outputs: y, name: 'cgan' });
  randomizeBatchNorm(m, 5);
  return m;
}

/** Autoencoder as two models: image -> z, z -> image (flatten of NHWC needs care). */
export function tinyAutoencoder(size = 16, ch = 1, latent = 4): { encoder: tfTypes.LayersModel; decoder: tfTypes.LayersModel } {
  const x = tf.input({ shape: [size, size, ch] });
  let h = L().conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(x) as ST;
  h = L().conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' }).apply(h) as ST;
  h = L().flatten().apply(L().leakyReLU({ alpha: 0.2 }).apply(h)) as ST;
  const zOut = L().dense({ units: latent }).apply(h) as ST;
  const encoder = tf.model({ inputs: x, outputs: zOut, name: 'encoder' });
  const z = tf.input({ shape: [latent] });
  let d = L().dense({ units: (size / 4) * (size / 4) * 8, activation: 'relu' }).apply(z) as ST;
  d = L().reshape({ targetShape: [size / 4, size / 4, 8] }).apply(d) as ST;
  d = L().conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(d) as ST;
  d = L().upSampling2d({ size: [2, 2] }).apply(d) as ST;
  const y = L().conv2d({ filters: ch, kernelSize: 3, padding: 'same', activation: 'sigmoid' }).apply(d) as ST;
  const decoder = tf.model({ inputs: z, outputs: y, name: 'decoder' });
  return { encoder, decoder };
}

export function disposeModels(...ms: (tfTypes.LayersModel | undefined)[]): void {
  for (const m of ms) m?.dispose();
}

/** Write a bundle folder in the train/bundle.ts format (bundle.json + networks/<name>/). */
export async function writeTestBundle(
  dir: string,
  o: { id: string; model: 'pix2pix' | 'cyclegan' | 'gan' | 'cgan' | 'autoencoder'; networks: Record<string, tfTypes.LayersModel>; size: number; channels: number; inChannels?: number; latent?: number; classes?: { count: number; names?: string[] } },
): Promise<void> {
  const { saveModelToDir } = await import('../../../../src/main/engine/networks/io');
  const networks: Record<string, unknown> = {};
  for (const [name, net] of Object.entries(o.networks)) {
    await saveModelToDir(net, `${dir}/networks/${name}`);
    networks[name] = { path: `networks/${name}`, role: name === 'G_B' ? 'generator_BtoA' : name === 'G_A' ? 'generator_AtoB' : name === 'G' ? 'generator' : name, inputs: [], output: { shape: net.outputs[0]!.shape } };
  }
  const meta = {
    format: 'atelier-bundle',
    version: 1,
    id: o.id,
    name: o.id,
    createdAt: new Date(0).toISOString(),
    model: o.model,
    networks,
    config: {},
    preprocessing: { size: o.size, channels: o.channels, inChannels: o.inChannels ?? o.channels, layout: 'NHWC', dtype: 'float32', valueRange: [-1, 1], direction: null, norm: null, inference: { batchNorm: 'moving-statistics', dropout: 'off', training: false } },
    ...(o.classes ? { classes: o.classes } : {}),
    ...(o.latent ? { latent: { size: o.latent } } : {}),
    training: { runId: 'r', datasetId: 'd', steps: 10, epochs: 1, durationSec: 1, stepsPerSec: 10, backend: 'wasm', finalLosses: {}, meanLosses: {} },
  };
  const fs = await import('node:fs');
  fs.writeFileSync(`${dir}/bundle.json`, JSON.stringify(meta));
}
