/**
 * The weight mapping between a reference state dict and a reference-compatible tfjs network
 * (reference-networks.ts names each weighted layer by its PyTorch module path):
 *   Conv2d           weight [out, in, kh, kw]  <->  Conv2D kernel [kh, kw, in, out]  (+ bias)
 *   ConvTranspose2d  weight [in, out, kh, kw]  <->  Conv2DTranspose kernel [kh, kw, out, in]
 *   BatchNorm2d      weight, bias, running_mean, running_var (+ num_batches_tracked)
 *                    <->  gamma, beta, moving_mean, moving_variance
 *                    running_var maps unchanged both ways: both hold the variance inference
 *                    divides by (PyTorch's training update averages in the unbiased batch
 *                    variance; so does TorchBatchNorm, layers/torch-batch-norm.ts)
 * Loading is strict, as load_state_dict(strict=True): every key used, every weight set, shapes
 * equal; the error lists what is missing, unexpected or mis-shaped. Tolerated, as the reference's
 * own loader does: a `module.` prefix (DataParallel), and running statistics of instance norms
 * saved by PyTorch < 0.4.
 * Detection reads the architecture from keys and shapes alone.
 */
import { StudioError } from '../../../shared/errors';
import { tf } from '../backend';
import type { OutTensor, PthTensor, StateDict } from './pth';
import { numDowns, resnetBlocks, type RefGenerator, type RefNorm } from './reference-networks';

export interface DetectedGenerator {
  role: 'generator';
  netG: RefGenerator;
  norm: RefNorm;
  ngf: number;
  inChannels: number;
  outChannels: number;
  /** ResNet: seen in the keys (conv_block.6). U-Net: unknowable from keys (Dropout has none). */
  dropout: boolean | null;
}
export interface DetectedDiscriminator {
  role: 'discriminator';
  netD: 'basic';
  norm: RefNorm;
  ndf: number;
  inChannels: number;
  nLayers: number;
}
export type Detected = DetectedGenerator | DetectedDiscriminator;

/** Keys without a DataParallel `module.` prefix. */
export function stripModulePrefix(sd: StateDict): Map<string, PthTensor> {
  const keys = [...sd.tensors.keys()];
  if (keys.length && keys.every((k) => k.startsWith('module.'))) return new Map([...sd.tensors].map(([k, v]) => [k.slice(7), v]));
  return sd.tensors;
}

function shapeOf(t: Map<string, PthTensor>, key: string): number[] {
  const s = t.get(key)?.shape;
  if (!s) throw new StudioError('BAD_INPUT', `The state dict has no "${key}", so it is not a reference network it claims to be.`);
  return s;
}

/** Read netG/netD, norm, widths and channels from a reference state dict's keys and shapes. */
export function detectReference(sd: StateDict): Detected {
  const t = stripModulePrefix(sd);
  const has = (k: string) => t.has(k);
  if (has('model.model.0.weight')) {
    let downs = 1;
    let p = 'model.model.1';
    while (has(`${p}.model.1.weight`)) {
      downs++;
      p = `${p}.model.3`;
    }
    if (downs !== 7 && downs !== 8) throw new StudioError('BAD_INPUT', `A U-Net with ${downs} down-sampling levels: the reference's presets are unet_128 (7) and unet_256 (8).`);
    const first = shapeOf(t, 'model.model.0.weight');
    const last = shapeOf(t, 'model.model.3.weight');
    const hasRunning = has('model.model.1.model.2.running_mean');
    return { role: 'generator', netG: downs === 7 ? 'unet_128' : 'unet_256', norm: hasRunning ? 'batch' : 'instance', ngf: first[0]!, inChannels: first[1]!, outChannels: last[1]!, dropout: null };
  }
  if (has('model.10.conv_block.1.weight')) {
    let n = 0;
    while (has(`model.${10 + n}.conv_block.1.weight`)) n++;
    if (n !== 6 && n !== 9) throw new StudioError('BAD_INPUT', `A ResNet generator with ${n} blocks: the reference's presets are resnet_6blocks and resnet_9blocks.`);
    const first = shapeOf(t, 'model.1.weight');
    const last = shapeOf(t, `model.${17 + n}.weight`);
    return {
      role: 'generator',
      netG: n === 6 ? 'resnet_6blocks' : 'resnet_9blocks',
      norm: has('model.2.running_mean') ? 'batch' : 'instance',
      ngf: first[0]!,
      inChannels: first[1]!,
      outChannels: last[0]!,
      // With dropout the second conv moves from .5 to .6 (under batch norm .6 is otherwise the norm's 1-D weight).
      dropout: t.get('model.10.conv_block.6.weight')?.shape.length === 4,
    };
  }
  if (has('model.0.weight') && shapeOf(t, 'model.0.weight')[2] === 4) {
    // Convs at model.0, model.{3k-1} (k = 1..n) and the last at model.{3n+2}.
    const convs = [...t.keys()].map((k) => /^model\.(\d+)\.weight$/.exec(k)).filter((m) => m && t.get(m[0])!.shape.length === 4).map((m) => Number(m![1]));
    const last = Math.max(...convs);
    if ((last - 2) % 3 !== 0 || last < 5) throw new StudioError('BAD_INPUT', 'A discriminator whose layers do not follow the reference NLayerDiscriminator.');
    const n = (last - 2) / 3;
    const first = shapeOf(t, 'model.0.weight');
    return { role: 'discriminator', netD: 'basic', norm: has('model.3.running_mean') ? 'batch' : 'instance', ndf: first[0]!, inChannels: first[1]!, nLayers: n };
  }
  throw new StudioError('BAD_INPUT', 'The state dict matches none of the reference networks (resnet_6blocks, resnet_9blocks, unet_128, unet_256, basic).', {
    hint: `Its first keys: ${[...t.keys()].slice(0, 4).join(', ')}. Give --netG if it is one of them saved differently.`,
  });
}

export function describeDetected(d: Detected): string {
  return d.role === 'generator' ? `${d.netG}, ${d.norm} norm, ngf ${d.ngf}, ${d.inChannels}->${d.outChannels} channels` : `basic PatchGAN (${d.nLayers} layers), ${d.norm} norm, ndf ${d.ndf}, ${d.inChannels} channels`;
}

/** Permute a 4-D row-major tensor: out dims = [in dims[perm[0]], ...]. */
function permute4(t: { shape: number[]; data: ArrayLike<number> }, perm: [number, number, number, number]): { shape: number[]; data: Float32Array } {
  const s = t.shape;
  const shape = perm.map((p) => s[p]!);
  const inStride = [s[1]! * s[2]! * s[3]!, s[2]! * s[3]!, s[3]!, 1];
  const st = perm.map((p) => inStride[p]!);
  const out = new Float32Array(t.data.length);
  let o = 0;
  for (let i = 0; i < shape[0]!; i++)
    for (let j = 0; j < shape[1]!; j++)
      for (let k = 0; k < shape[2]!; k++) {
        const base = i * st[0]! + j * st[1]! + k * st[2]!;
        for (let l = 0; l < shape[3]!; l++) out[o++] = t.data[base + l * st[3]!]!;
      }
  return { shape, data: out };
}
/** torch conv weights [out, in, kh, kw] (ConvTranspose [in, out, kh, kw]) -> tfjs kernels [kh, kw, in, out] ([kh, kw, out, in]). */
const toTfjs = (t: { shape: number[]; data: ArrayLike<number> }) => permute4(t, [2, 3, 1, 0]);
/** And back: tfjs [kh, kw, in, out] -> torch [out, in, kh, kw]. */
const toTorch = (t: { shape: number[]; data: ArrayLike<number> }) => permute4(t, [3, 2, 0, 1]);

const BN_KEYS: Record<string, string> = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };

/** The state-dict key (suffix) of each tfjs weight of a reference layer. */
function torchSuffix(cls: string, weightName: string): string {
  const w = weightName.slice(weightName.lastIndexOf('/') + 1).replace(/_\d+$/, '');
  if (cls === 'Conv2D' || cls === 'Conv2DTranspose') return w === 'kernel' ? 'weight' : 'bias';
  return BN_KEYS[w] ?? w;
}

function isRefLayer(l: tf.layers.Layer): boolean {
  return /^model\./.test(l.name) && l.weights.length > 0;
}

/**
 * Set a reference network's weights from a state dict, strictly. Throws BAD_INPUT listing missing,
 * unexpected and mis-shaped keys (nothing is half-loaded: weights are set only when all match).
 */
export function loadReferenceWeights(model: tf.LayersModel, sd: StateDict): void {
  const t = stripModulePrefix(sd);
  const used = new Set<string>();
  const missing: string[] = [];
  const badShape: string[] = [];
  const assign: [tf.LayerVariable, Float32Array, number[]][] = [];
  for (const layer of model.layers) {
    if (!isRefLayer(layer)) continue;
    const cls = layer.getClassName();
    for (const w of layer.weights) {
      const key = `${layer.name}.${torchSuffix(cls, w.name)}`;
      const src = t.get(key);
      if (!src) {
        missing.push(key);
        continue;
      }
      used.add(key);
      const v = (cls === 'Conv2D' || cls === 'Conv2DTranspose') && src.shape.length === 4 ? toTfjs(src) : { shape: src.shape, data: src.data };
      if (v.shape.join() !== w.shape.join()) {
        badShape.push(`${key} [${src.shape.join(', ')}]`);
        continue;
      }
      assign.push([w, Float32Array.from(v.data), v.shape]);
    }
    if (cls === 'BatchNormalization' && t.has(`${layer.name}.num_batches_tracked`)) used.add(`${layer.name}.num_batches_tracked`);
    // Per-image batch norm (train-mode behaviour) takes gamma and beta only; the statistics are known and unused.
    if (cls === 'InstanceNormalization') for (const s of ['running_mean', 'running_var', 'num_batches_tracked']) if (t.has(`${layer.name}.${s}`)) used.add(`${layer.name}.${s}`);
  }
  // Instance norms saved by PyTorch < 0.4 carry running statistics the reference's loader drops too.
  const unexpected = [...t.keys()].filter((k) => !used.has(k) && !/\.(running_mean|running_var|num_batches_tracked)$/.test(k));
  const strays = [...t.keys()].filter((k) => !used.has(k) && /\.(running_mean|running_var|num_batches_tracked)$/.test(k));
  const bnLayers = new Set(model.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.name));
  unexpected.push(...strays.filter((k) => bnLayers.has(k.slice(0, k.lastIndexOf('.')))));
  if (missing.length || unexpected.length || badShape.length) {
    const parts = [
      missing.length ? `missing ${missing.length} (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''})` : '',
      unexpected.length ? `unexpected ${unexpected.length} (${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', ...' : ''})` : '',
      badShape.length ? `wrong shape ${badShape.length} (${badShape.slice(0, 3).join(', ')}${badShape.length > 3 ? ', ...' : ''})` : '',
    ].filter(Boolean);
    throw new StudioError('BAD_INPUT', `The state dict does not fit ${model.name}: ${parts.join('; ')}.`, { hint: 'Check --netG, --norm and --ngf (or leave them on auto).' });
  }
  for (const [w, data, shape] of assign) {
    const v = tf.tensor(data, shape);
    w.write(v);
    v.dispose();
  }
}

/** A reference network's weights as a PyTorch state dict (keys in module order, as state_dict() lists them). */
export function referenceStateDict(model: tf.LayersModel): [string, OutTensor][] {
  const out: [string, OutTensor][] = [];
  for (const layer of model.layers) {
    if (!isRefLayer(layer)) continue;
    const cls = layer.getClassName();
    const entries: Record<string, OutTensor> = {};
    layer.weights.forEach((w) => {
      // read() is the variable's own tensor: read its data, never dispose it.
      const data = w.read().dataSync() as Float32Array;
      const suffix = torchSuffix(cls, w.name);
      const v = (cls === 'Conv2D' || cls === 'Conv2DTranspose') && w.shape.length === 4 ? toTorch({ shape: w.shape as number[], data }) : { shape: w.shape as number[], data };
      entries[suffix] = { dtype: 'float32', shape: v.shape, data: v.data };
    });
    for (const s of ['weight', 'bias', 'running_mean', 'running_var']) if (entries[s]) out.push([`${layer.name}.${s}`, entries[s]]);
    if (cls === 'BatchNormalization') out.push([`${layer.name}.num_batches_tracked`, { dtype: 'int64', shape: [], data: [0] }]);
  }
  return out.sort((a, b) => compareModulePath(a[0], b[0]));
}

/** state_dict() order: module paths compared segment by segment, numbers as numbers; a module's own params before its children. */
function compareModulePath(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  const order = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const xl = i === pa.length - 1;
    const yl = i === pb.length - 1;
    if (xl && yl) return order.indexOf(x) - order.indexOf(y);
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

export { numDowns, resnetBlocks };
