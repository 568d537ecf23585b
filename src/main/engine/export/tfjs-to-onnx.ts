/**
 * tfjs LayersModel -> ONNX graph (opset 17), our own converter.
 *
 * Walks the functional graph (each layer's inbound nodes that belong to the model, in dependency
 * order, nested models inlined) and emits ONNX nodes with the weights as initializers.
 *
 * Layout: tfjs is NHWC; the ONNX graph is NCHW. Every rank-4 tensor is kept NCHW inside the ONNX
 * graph; other ranks keep tfjs order. Layers whose meaning depends on memory order (Reshape,
 * Flatten, Dense on 4-D) transpose back to NHWC first, so results equal tfjs exactly.
 *
 * Dropout is explicit: 'identity' (inference, the default) or 'keep' (ONNX Dropout with
 * training_mode=true: random at every run, as pix2pix uses it for noise).
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { StudioError } from '../../../shared/errors';
import { DT, floatTensor, int64Tensor, type OnnxAttrValue, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-proto';
import { pruneGraph } from './onnx-transform';
import { YCBCR_TO_RGB } from '../layers/chroma-to-rgb';

type LayersModel = tfTypes.LayersModel;
type Layer = tfTypes.layers.Layer;
type SymbolicTensor = tfTypes.SymbolicTensor;

export type DropoutMode = 'identity' | 'keep';
/** How a `label` input enters the graph: class indices (int64 [batch]) or soft weights (float [batch, classes]). */
export type LabelMode = 'index' | 'soft';
/** Transposed convolutions as ONNX ConvTranspose ('native') or as s*s phase Convs + DepthToSpace ('phase', faster in onnxruntime). */
export type TransposedConvMode = 'native' | 'phase';

/** A value in the ONNX graph with its tfjs-side shape (batch = null). Rank-4 values are stored NCHW. */
interface Val {
  name: string;
  shape: (number | null)[];
  /** 'int' values are int64 in ONNX (labels). */
  kind: 'float' | 'int' | 'soft-label';
  /** For soft labels: number of classes. */
  classes?: number;
}

export interface ConvertSpec {
  /** Models chained in order: the outputs of stage i are the inputs of stage i+1 (encoder -> decoder). */
  stages: LayersModel[];
  /** ONNX names of the first stage's inputs (default: input | z | z,label). */
  inputNames?: string[];
  /** ONNX names of the last stage's outputs (default: output, output_1, ...). */
  outputNames?: string[];
  dropout?: DropoutMode;
  labelMode?: LabelMode;
  transposedConv?: TransposedConvMode;
  graphName?: string;
}

export interface ConvertResult {
  graph: OnnxGraph;
  inputNames: string[];
  outputNames: string[];
  /** Layer classes met, with counts (for the export report). */
  layerClasses: Record<string, number>;
}

type Attrs = Record<string, OnnxAttrValue>;
const ints = (v: number[]): OnnxAttrValue => ({ type: 'ints', ints: v });
const int = (v: number): OnnxAttrValue => ({ type: 'int', i: v });
const flt = (v: number): OnnxAttrValue => ({ type: 'float', f: v });
const str = (v: string): OnnxAttrValue => ({ type: 'string', s: v });

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

function unsupported(layer: Layer, why: string): StudioError {
  return new StudioError('BAD_INPUT', `Cannot export layer "${layer.name}" (class ${layer.getClassName()}) to ONNX: ${why}.`, {
    hint: 'The ONNX writer supports the layers of Atelier\'s generators (Conv2D, Conv2DTranspose, BatchNormalization, InstanceNormalization, ReflectionPadding2D, ChromaToRgb, activations, Concatenate, Add, UpSampling2D, Dense, Embedding, Reshape, Flatten, Dropout). Use tfjs inference for this model, or report the layer.',
  });
}

/**
 * Host copies of weights read ahead (readWeightsAhead), by variable: a GPU backend (webgpu)
 * cannot read synchronously in Node, and the writer reads weights synchronously.
 */
const hostWeights = new WeakMap<object, Float32Array>();

/** Read the networks' weights to the host once, asynchronously, so the writer works on a GPU backend. */
export async function readWeightsAhead(nets: (tfTypes.LayersModel | undefined)[]): Promise<void> {
  for (const net of nets) {
    for (const w of net?.weights ?? []) {
      const t = w.read();
      if (!hostWeights.has(t)) hostWeights.set(t, (await t.data()) as Float32Array);
    }
  }
}

/** Read a layer weight by its short name (kernel, bias, gamma, ...) as float32. */
function weight(layer: Layer, ...names: string[]): { data: Float32Array; shape: number[] } | null {
  for (const w of layer.weights) {
    const short = w.name.split('/').pop()!.replace(/_\d+$/, '');
    if (names.includes(short)) {
      const t = w.read();
      return { data: hostWeights.get(t) ?? (t.dataSync() as Float32Array), shape: t.shape.slice() };
    }
  }
  return null;
}

/** Permute a row-major array of `shape` by `perm` (like np.transpose). */
export function permute(data: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const out = new Float32Array(data.length);
  const idx = new Array<number>(rank).fill(0);
  const stepStride = perm.map((p) => inStrides[p]!);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += idx[d]! * stepStride[d]!;
    out[o] = data[off]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** TF/tfjs 'same' padding for one spatial dim: [begin, end], the extra pixel at the end. */
export function samePads(inSize: number, k: number, s: number, d = 1): [number, number] {
  const effK = (k - 1) * d + 1;
  const total = Math.max((Math.ceil(inSize / s) - 1) * s + effK - inSize, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

function pair(v: unknown, def: number): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? def), Number(v[1] ?? v[0] ?? def)];
  if (typeof v === 'number') return [v, v];
  return [def, def];
}

/** Padding config of padding layers -> [[top, bottom], [left, right]]. */
function padding2d(v: unknown): [[number, number], [number, number]] {
  if (typeof v === 'number') return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2) {
    const [a, b] = v as unknown[];
    const h: [number, number] = Array.isArray(a) ? [Number(a[0]), Number(a[1])] : [Number(a), Number(a)];
    const w: [number, number] = Array.isArray(b) ? [Number(b[0]), Number(b[1])] : [Number(b), Number(b)];
    return [h, w];
  }
  if (v === undefined || v === null) return [[1, 1], [1, 1]];
  throw new Error(`bad padding ${JSON.stringify(v)}`);
}

class GraphBuilder {
  nodes: OnnxNode[] = [];
  inits: OnnxTensor[] = [];
  inputs: OnnxValueInfo[] = [];
  private used = new Set<string>();
  private constCache = new Map<string, string>();
  layerClasses: Record<string, number> = {};

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`duplicate graph name ${name}`);
    this.used.add(name);
  }

  floatInit(base: string, dims: number[], data: ArrayLike<number>): string {
    const name = this.unique(base);
    this.inits.push(floatTensor(name, dims, data));
    return name;
  }

  /** Shared int64 constants (pads, shapes, axes), deduplicated by value. */
  int64Const(base: string, values: number[]): string {
    const key = `i64:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.unique(base);
    this.inits.push(int64Tensor(name, [values.length], values));
    this.constCache.set(key, name);
    return name;
  }

  floatConst(base: string, values: number[], scalar = false): string {
    const key = `f32:${scalar ? 's' : 'v'}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.floatInit(base, scalar ? [] : [values.length], values);
    this.constCache.set(key, name);
    return name;
  }

  boolConst(base: string, v: boolean): string {
    const key = `bool:${v}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.unique(base);
    this.inits.push({ name, dataType: DT.BOOL, dims: [], raw: new Uint8Array([v ? 1 : 0]) });
    this.constCache.set(key, name);
    return name;
  }

  node(op: string, inputs: string[], attrs: Attrs, hint: string, nOut = 1): string[] {
    const name = this.unique(`${hint}/${op}`);
    const outputs = Array.from({ length: nOut }, (_, i) => (i === 0 ? this.unique(`${hint}/${op}_out`) : this.unique(`${hint}/${op}_out${i}`)));
    this.nodes.push({ opType: op, name, inputs, outputs, attributes: attrs });
    return outputs;
  }

  one(op: string, inputs: string[], attrs: Attrs, hint: string): string {
    return this.node(op, inputs, attrs, hint)[0]!;
  }
}

function isLayersModel(layer: Layer): layer is Layer & LayersModel {
  return typeof (layer as unknown as { predict?: unknown }).predict === 'function' && Array.isArray((layer as unknown as LayersModel).inputs);
}

interface TfNode {
  inputTensors: SymbolicTensor[];
  outputTensors: SymbolicTensor[];
}

export class TfjsToOnnx {
  readonly g = new GraphBuilder();
  private dropout: DropoutMode;
  private labelMode: LabelMode;
  private transposedConv: TransposedConvMode;

  constructor(opts: { dropout?: DropoutMode; labelMode?: LabelMode; transposedConv?: TransposedConvMode } = {}) {
    this.dropout = opts.dropout ?? 'identity';
    this.labelMode = opts.labelMode ?? 'index';
    this.transposedConv = opts.transposedConv ?? 'phase';
  }

  /** Declare a graph input for a tfjs input tensor. */
  graphInput(name: string, t: SymbolicTensor, asLabel: boolean, numClasses?: number): Val {
    this.g.reserve(name);
    const shape = t.shape.slice();
    if (asLabel) {
      if (this.labelMode === 'soft') {
        if (!numClasses) throw new StudioError('BAD_INPUT', 'A soft label input needs the number of classes (the Embedding input dimension).');
        this.g.inputs.push({ name, elemType: DT.FLOAT, shape: ['batch', numClasses] });
        return { name, shape, kind: 'soft-label', classes: numClasses };
      }
      // Class indices: int64 [batch]; unsqueezed inside when tfjs takes [batch, 1].
      if (shape.length === 1) {
        this.g.inputs.push({ name, elemType: DT.INT64, shape: ['batch'] });
        return { name, shape, kind: 'int' };
      }
      if (shape.length === 2 && shape[1] === 1) {
        this.g.inputs.push({ name, elemType: DT.INT64, shape: ['batch'] });
        const u = this.g.one('Unsqueeze', [name, this.g.int64Const('axes_1', [1])], {}, name);
        return { name: u, shape, kind: 'int' };
      }
      throw new StudioError('BAD_INPUT', `The label input has shape [${shape.join(', ')}]; expected [batch] or [batch, 1].`);
    }
    const dims: (number | string)[] = shape.map((d, i) => (i === 0 ? 'batch' : d ?? `d${i}`));
    const onnxDims = shape.length === 4 ? NHWC_TO_NCHW.map((p) => dims[p]!) : dims;
    this.g.inputs.push({ name, elemType: DT.FLOAT, shape: onnxDims });
    return { name, shape, kind: 'float' };
  }

  /** Convert one model given values for its inputs; returns values for its outputs. */
  convertModel(model: LayersModel, inputs: Val[]): Val[] {
    const known = new Map<number, Val>();
    model.inputs.forEach((t, i) => known.set(t.id, inputs[i]!));
    const container = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
    const work: { layer: Layer; node: TfNode }[] = [];
    for (const layer of model.layers) {
      layer.inboundNodes.forEach((node, i) => {
        if (container && container.size && !container.has(`${layer.name}_ib-${i}`)) return;
        work.push({ layer, node: node as unknown as TfNode });
      });
    }
    const done = new Set<number>();
    let progress = true;
    while (progress) {
      progress = false;
      work.forEach((w, wi) => {
        if (done.has(wi)) return;
        if (w.layer.getClassName() === 'InputLayer') {
          done.add(wi);
          return;
        }
        const ins = w.node.inputTensors.map((t) => known.get(t.id));
        if (ins.some((v) => !v)) return;
        const outs = this.convertLayer(w.layer, ins as Val[], w.node);
        w.node.outputTensors.forEach((t, i) => known.set(t.id, outs[i]!));
        done.add(wi);
        progress = true;
      });
    }
    return model.outputs.map((t) => {
      const v = known.get(t.id);
      if (!v) throw new StudioError('INTERNAL', `Export could not reach model output "${t.name}" from its inputs.`);
      return v;
    });
  }

  private act(name: string, x: Val, hint: string): Val {
    const g = this.g;
    const o = (n: string): Val => ({ ...x, name: n });
    switch (name) {
      case undefined:
      case null:
      case 'linear':
        return x;
      case 'relu':
        return o(g.one('Relu', [x.name], {}, hint));
      case 'relu6':
        return o(g.one('Clip', [x.name, g.floatConst('zero', [0], true), g.floatConst('six', [6], true)], {}, hint));
      case 'tanh':
        return o(g.one('Tanh', [x.name], {}, hint));
      case 'sigmoid':
        return o(g.one('Sigmoid', [x.name], {}, hint));
      case 'elu':
        return o(g.one('Elu', [x.name], { alpha: flt(1) }, hint));
      case 'selu':
        return o(g.one('Selu', [x.name], {}, hint));
      case 'softplus':
        return o(g.one('Softplus', [x.name], {}, hint));
      case 'softsign':
        return o(g.one('Softsign', [x.name], {}, hint));
      case 'hardSigmoid':
        return o(g.one('HardSigmoid', [x.name], { alpha: flt(0.2), beta: flt(0.5) }, hint));
      case 'swish':
        return o(g.one('Mul', [x.name, g.one('Sigmoid', [x.name], {}, hint)], {}, hint));
      case 'softmax':
        return o(g.one('Softmax', [x.name], { axis: int(x.shape.length === 4 ? 1 : -1) }, hint));
      default:
        throw new StudioError('BAD_INPUT', `Cannot export activation "${name}" (in ${hint}) to ONNX.`, { hint: 'Supported: linear, relu, relu6, tanh, sigmoid, elu, selu, softplus, softsign, hardSigmoid, swish, softmax.' });
    }
  }

  /** tfjs axis of a rank-r value -> ONNX axis (rank-4 values are NCHW). */
  private axis(a: number, rank: number): number {
    const n = a < 0 ? a + rank : a;
    return rank === 4 ? [0, 2, 3, 1][n]! : n;
  }

  private toTfOrder(x: Val, hint: string): string {
    return x.shape.length === 4 ? this.g.one('Transpose', [x.name], { perm: ints(NCHW_TO_NHWC) }, hint) : x.name;
  }

  private fromTfOrder(name: string, shape: (number | null)[], hint: string): Val {
    const n = shape.length === 4 ? this.g.one('Transpose', [name], { perm: ints(NHWC_TO_NCHW) }, hint) : name;
    return { name: n, shape, kind: 'float' };
  }

  private spatial(layer: Layer, x: Val): [number, number] {
    const [, h, w] = x.shape;
    if (x.shape.length !== 4 || typeof h !== 'number' || typeof w !== 'number') {
      throw unsupported(layer, `it needs a 4-D input with a fixed height and width (got [${x.shape.join(', ')}])`);
    }
    return [h, w];
  }

  /**
   * A stride-s transposed convolution as s*s ordinary convolutions on the input (one per output
   * phase), interleaved with DepthToSpace: same arithmetic, but onnxruntime's Conv kernels are
   * much faster than its ConvTranspose. Output pixel Y = s*q + r (after the crop `pad`) receives
   * W[r + pad + s*m] * x[q - m] for every m with 0 <= r + pad + s*m < k, i.e. a correlation with
   * the sub-kernel, padded by [mhi, Q - n - mlo]. Returns null when the shape does not suit it
   * (unequal strides, an empty phase, negative pads); the caller then emits ConvTranspose.
   */
  private phaseConvTranspose(
    k: { data: Float32Array; shape: number[] },
    bias: Float32Array | null,
    xName: string,
    inHW: [number, number],
    outHW: [number, number],
    strides: [number, number],
    padBegin: [number, number],
    hint: string,
  ): string | null {
    const g = this.g;
    const [kh, kw, cout, cin] = k.shape as [number, number, number, number];
    const s = strides[0];
    if (strides[1] !== s || s < 2) return null;
    const ks = [kh, kw];
    type Phase = { mlo: number; mhi: number; pb: number; pe: number };
    const Q = [Math.ceil(outHW[0] / s), Math.ceil(outHW[1] / s)];
    const phases: Phase[][] = [0, 1].map((d) =>
      Array.from({ length: s }, (_, r) => {
        const base = r + padBegin[d]!;
        const mlo = Math.ceil(-base / s);
        const mhi = Math.floor((ks[d]! - 1 - base) / s);
        return { mlo, mhi, pb: mhi, pe: Q[d]! - inHW[d]! - mlo };
      }),
    );
    if (phases.some((ps) => ps.some((p) => p.mhi < p.mlo || p.pb < 0 || p.pe < 0))) return null;
    const outs: string[] = [];
    for (let ry = 0; ry < s; ry++) {
      for (let rx = 0; rx < s; rx++) {
        const py = phases[0]![ry]!;
        const px = phases[1]![rx]!;
        const th = py.mhi - py.mlo + 1;
        const tw = px.mhi - px.mlo + 1;
        // ONNX Conv weight [out, in, th, tw] from the tfjs kernel [kh, kw, out, in].
        const W = new Float32Array(cout * cin * th * tw);
        for (let ty = 0; ty < th; ty++) {
          const ky = ry + padBegin[0] + s * (py.mhi - ty);
          for (let tx = 0; tx < tw; tx++) {
            const kx = rx + padBegin[1] + s * (px.mhi - tx);
            const src = (ky * kw + kx) * cout * cin;
            for (let o = 0; o < cout; o++) {
              for (let i = 0; i < cin; i++) W[((o * cin + i) * th + ty) * tw + tx] = k.data[src + o * cin + i]!;
            }
          }
        }
        const inputs = [xName, g.floatInit(`${hint}/W_p${ry}${rx}`, [cout, cin, th, tw], W)];
        if (bias) inputs.push(g.floatConst(`${hint}/B`, Array.from(bias)));
        outs.push(
          g.one('Conv', inputs, { kernel_shape: ints([th, tw]), strides: ints([1, 1]), pads: ints([py.pb, px.pb, py.pe, px.pe]), group: int(1) }, `${hint}/phase${ry}${rx}`),
        );
      }
    }
    // Channel (ry*s + rx)*cout + o -> pixel (s*q + ry, s*q' + rx): DepthToSpace in DCR order.
    const cat = g.one('Concat', outs, { axis: int(1) }, hint);
    let y = g.one('DepthToSpace', [cat], { blocksize: int(s), mode: str('DCR') }, hint);
    if (s * Q[0]! !== outHW[0] || s * Q[1]! !== outHW[1]) {
      y = g.one('Slice', [y, g.int64Const(`${hint}/starts`, [0, 0]), g.int64Const(`${hint}/ends`, [outHW[0], outHW[1]]), g.int64Const('axes_23', [2, 3])], {}, hint);
    }
    return y;
  }

  private convertLayer(layer: Layer, ins: Val[], node: TfNode): Val[] {
    const g = this.g;
    const cls = layer.getClassName();
    g.layerClasses[cls] = (g.layerClasses[cls] ?? 0) + 1;
    const hint = layer.name;
    const cfg = layer.getConfig() as Record<string, unknown>;
    const outShape = node.outputTensors[0]!.shape.slice();
    const x = ins[0]!;
    const float = (name: string, shape = outShape): Val => ({ name, shape, kind: 'float' });
    if (x.kind === 'soft-label' && cls !== 'Embedding') throw unsupported(layer, 'a soft label input must feed an Embedding layer directly');
    if (cfg.dataFormat === 'channelsFirst') throw unsupported(layer, 'dataFormat channelsFirst is not supported (Atelier models are channelsLast)');

    if (isLayersModel(layer)) {
      return this.convertModel(layer, ins);
    }

    switch (cls) {
      case 'Conv2D': {
        const [h, w] = this.spatial(layer, x);
        const k = weight(layer, 'kernel');
        if (!k) throw unsupported(layer, 'no kernel weight');
        const [kh, kw, , cout] = k.shape as [number, number, number, number];
        const [sh, sw] = pair(cfg.strides, 1);
        const [dh, dw] = pair(cfg.dilationRate, 1);
        let pads = [0, 0, 0, 0];
        if (cfg.padding === 'same') {
          const [t, b] = samePads(h, kh, sh, dh);
          const [l, r] = samePads(w, kw, sw, dw);
          pads = [t, l, b, r];
        } else if (cfg.padding !== 'valid') throw unsupported(layer, `padding "${String(cfg.padding)}"`);
        const W = permute(k.data, k.shape, [3, 2, 0, 1]);
        const inputs = [x.name, g.floatInit(`${hint}/W`, W.shape, W.data)];
        const b = cfg.useBias ? weight(layer, 'bias') : null;
        if (b) inputs.push(g.floatInit(`${hint}/B`, [cout], b.data));
        const y = g.one('Conv', inputs, { kernel_shape: ints([kh, kw]), strides: ints([sh, sw]), dilations: ints([dh, dw]), pads: ints(pads), group: int(1) }, hint);
        return [this.act(cfg.activation as string, float(y), hint)];
      }
      case 'Conv2DTranspose': {
        const [h, w] = this.spatial(layer, x);
        const k = weight(layer, 'kernel');
        if (!k) throw unsupported(layer, 'no kernel weight');
        const [kh, kw, cout] = k.shape as [number, number, number, number];
        const [sh, sw] = pair(cfg.strides, 1);
        const [dh, dw] = pair(cfg.dilationRate, 1);
        if (dh !== 1 || dw !== 1) throw unsupported(layer, 'dilated transposed convolution');
        const oh = outShape[1] as number;
        const ow = outShape[2] as number;
        // Full (unpadded) output is (in-1)*s + k; tfjs crops it to `out` like TF: floor(total/2) first.
        const crop = (inSize: number, kk: number, s: number, out: number) => {
          const total = (inSize - 1) * s + kk - out;
          if (total >= 0) return { begin: Math.floor(total / 2), end: total - Math.floor(total / 2), extra: 0 };
          return { begin: 0, end: 0, extra: -total };
        };
        const ch = crop(h, kh, sh, oh);
        const cw = crop(w, kw, sw, ow);
        const b = cfg.useBias ? weight(layer, 'bias') : null;
        if (this.transposedConv === 'phase' && !ch.extra && !cw.extra) {
          const y = this.phaseConvTranspose(k, b?.data ?? null, x.name, [h, w], [oh, ow], [sh, sw], [ch.begin, cw.begin], hint);
          if (y) return [this.act(cfg.activation as string, float(y), hint)];
        }
        // tfjs kernel [kh, kw, out, in] -> ONNX [in, out, kh, kw]
        const W = permute(k.data, k.shape, [3, 2, 0, 1]);
        const inputs = [x.name, g.floatInit(`${hint}/W`, W.shape, W.data)];
        if (b) inputs.push(g.floatInit(`${hint}/B`, [cout], b.data));
        const attrs: Attrs = { kernel_shape: ints([kh, kw]), strides: ints([sh, sw]), pads: ints([ch.begin, cw.begin, ch.end, cw.end]), group: int(1) };
        if (ch.extra || cw.extra) attrs.output_padding = ints([ch.extra, cw.extra]);
        const y = g.one('ConvTranspose', inputs, attrs, hint);
        return [this.act(cfg.activation as string, float(y), hint)];
      }
      case 'Dense': {
        const k = weight(layer, 'kernel');
        if (!k) throw unsupported(layer, 'no kernel weight');
        const [, units] = k.shape as [number, number];
        const W = g.floatInit(`${hint}/W`, k.shape, k.data);
        const b = cfg.useBias ? weight(layer, 'bias') : null;
        let y: Val;
        if (x.shape.length === 2) {
          const inputs = [x.name, W];
          if (b) inputs.push(g.floatInit(`${hint}/B`, [units], b.data));
          y = float(g.one('Gemm', inputs, {}, hint));
        } else {
          let m = g.one('MatMul', [this.toTfOrder(x, hint), W], {}, hint);
          if (b) m = g.one('Add', [m, g.floatInit(`${hint}/B`, [units], b.data)], {}, hint);
          y = this.fromTfOrder(m, outShape, hint);
        }
        return [this.act(cfg.activation as string, y, hint)];
      }
      case 'BatchNormalization': {
        const rank = x.shape.length;
        const ax = Number(cfg.axis ?? -1);
        const normAx = ax < 0 ? ax + rank : ax;
        const c = x.shape[normAx] as number;
        const gamma = cfg.scale !== false ? weight(layer, 'gamma') : null;
        const beta = cfg.center !== false ? weight(layer, 'beta') : null;
        const mean = weight(layer, 'moving_mean', 'movingMean');
        const variance = weight(layer, 'moving_variance', 'movingVariance');
        if (!mean || !variance) throw unsupported(layer, 'moving mean/variance weights not found');
        const eps = Number(cfg.epsilon ?? 1e-3);
        const gm = gamma?.data ?? new Float32Array(c).fill(1);
        const bt = beta?.data ?? new Float32Array(c);
        if (normAx === rank - 1 && (rank === 4 || rank === 2)) {
          const y = g.one(
            'BatchNormalization',
            [x.name, g.floatInit(`${hint}/scale`, [c], gm), g.floatInit(`${hint}/B`, [c], bt), g.floatInit(`${hint}/mean`, [c], mean.data), g.floatInit(`${hint}/var`, [c], variance.data)],
            { epsilon: flt(eps) },
            hint,
          );
          return [float(y)];
        }
        if (normAx === rank - 1) {
          // Other ranks (channels last, not NCHW-able): fold into a per-channel affine.
          const sc = new Float32Array(c);
          const sh = new Float32Array(c);
          for (let i = 0; i < c; i++) {
            sc[i] = gm[i]! / Math.sqrt(variance.data[i]! + eps);
            sh[i] = bt[i]! - mean.data[i]! * sc[i]!;
          }
          const m = g.one('Mul', [x.name, g.floatInit(`${hint}/scale`, [c], sc)], {}, hint);
          return [float(g.one('Add', [m, g.floatInit(`${hint}/shift`, [c], sh)], {}, hint))];
        }
        throw unsupported(layer, `normalisation over axis ${ax} of a rank-${rank} tensor (only the channel axis)`);
      }
      case 'InstanceNormalization': {
        if (x.shape.length !== 4) throw unsupported(layer, 'instance normalisation of a non-image tensor');
        const c = x.shape[3] as number;
        const gamma = weight(layer, 'gamma', 'scale');
        const beta = weight(layer, 'beta', 'offset', 'center', 'bias');
        const eps = Number(cfg.epsilon ?? 1e-5);
        const y = g.one(
          'InstanceNormalization',
          [x.name, g.floatInit(`${hint}/scale`, [c], gamma?.data ?? new Float32Array(c).fill(1)), g.floatInit(`${hint}/B`, [c], beta?.data ?? new Float32Array(c))],
          { epsilon: flt(eps) },
          hint,
        );
        return [float(y)];
      }
      case 'ReflectionPadding2D':
      case 'ZeroPadding2D': {
        this.spatial(layer, x);
        let p: [[number, number], [number, number]];
        try {
          p = padding2d(cfg.padding);
        } catch (e) {
          throw unsupported(layer, (e as Error).message);
        }
        const pads = g.int64Const(`${hint}/pads`, [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]]);
        const mode = cls === 'ReflectionPadding2D' ? 'reflect' : 'constant';
        return [float(g.one('Pad', [x.name, pads], { mode: str(mode) }, hint))];
      }
      case 'Cropping2D': {
        // Slice rows/columns off each side; ends count from the end, so height and width stay dynamic.
        this.spatial(layer, x);
        let c: [[number, number], [number, number]];
        try {
          c = padding2d(cfg.cropping);
        } catch (e) {
          throw unsupported(layer, (e as Error).message);
        }
        const end = (n: number) => (n > 0 ? -n : Number.MAX_SAFE_INTEGER);
        const starts = g.int64Const(`${hint}/starts`, [c[0][0], c[1][0]]);
        const ends = g.int64Const(`${hint}/ends`, [end(c[0][1]), end(c[1][1])]);
        return [float(g.one('Slice', [x.name, starts, ends, g.int64Const('axes_23', [2, 3])], {}, hint))];
      }
      case 'ChromaToRgb': {
        // [y, chroma] -> clip(M [y, Cb', Cr'], -1, 1): Concat, a fixed 1x1 Conv, Clip (layers/chroma-to-rgb.ts).
        if (ins.length !== 2) throw unsupported(layer, 'it takes two inputs, [y, chroma]');
        this.spatial(layer, x);
        const cat = g.one('Concat', [ins[0]!.name, ins[1]!.name], { axis: int(1) }, hint);
        const W = g.floatInit(`${hint}/W`, [3, 3, 1, 1], YCBCR_TO_RGB.flat());
        const y = g.one('Conv', [cat, W], { kernel_shape: ints([1, 1]), strides: ints([1, 1]), pads: ints([0, 0, 0, 0]), group: int(1) }, hint);
        return [float(g.one('Clip', [y, g.floatConst('minus_one', [-1], true), g.floatConst('one', [1], true)], {}, hint))];
      }
      case 'LeakyReLU':
        return [float(g.one('LeakyRelu', [x.name], { alpha: flt(Number(cfg.alpha ?? 0.3)) }, hint))];
      case 'ReLU': {
        if (cfg.maxValue != null) return [float(g.one('Clip', [x.name, g.floatConst('zero', [0], true), g.floatConst(`${hint}/max`, [Number(cfg.maxValue)], true)], {}, hint))];
        return [float(g.one('Relu', [x.name], {}, hint))];
      }
      case 'ELU':
        return [float(g.one('Elu', [x.name], { alpha: flt(Number(cfg.alpha ?? 1)) }, hint))];
      case 'Softmax':
        return [float(g.one('Softmax', [x.name], { axis: int(this.axis(Number(cfg.axis ?? -1), x.shape.length)) }, hint))];
      case 'Activation':
        return [this.act(cfg.activation as string, x, hint)];
      case 'Concatenate': {
        const ax = this.axis(Number(cfg.axis ?? -1), x.shape.length);
        return [float(g.one('Concat', ins.map((v) => v.name), { axis: int(ax) }, hint))];
      }
      case 'Add':
        return [float(g.one('Sum', ins.map((v) => v.name), {}, hint))];
      case 'Average':
        return [float(g.one('Mean', ins.map((v) => v.name), {}, hint))];
      case 'Maximum':
        return [float(g.one('Max', ins.map((v) => v.name), {}, hint))];
      case 'Minimum':
        return [float(g.one('Min', ins.map((v) => v.name), {}, hint))];
      case 'Multiply': {
        let acc = ins[0]!.name;
        for (const v of ins.slice(1)) acc = g.one('Mul', [acc, v.name], {}, hint);
        return [float(acc)];
      }
      case 'Subtract':
        return [float(g.one('Sub', [ins[0]!.name, ins[1]!.name], {}, hint))];
      case 'UpSampling2D': {
        this.spatial(layer, x);
        const [sh, sw] = pair(cfg.size, 2);
        const scales = g.floatConst(`${hint}/scales`, [1, 1, sh, sw]);
        const attrs: Attrs =
          cfg.interpolation === 'bilinear'
            ? { mode: str('linear'), coordinate_transformation_mode: str('asymmetric') }
            : { mode: str('nearest'), coordinate_transformation_mode: str('asymmetric'), nearest_mode: str('floor') };
        return [float(g.one('Resize', [x.name, '', scales], attrs, hint))];
      }
      case 'Reshape':
      case 'Flatten': {
        if (outShape.slice(1).some((d) => d == null)) throw unsupported(layer, 'output shape not fully known');
        if (x.shape.length === outShape.length && x.shape.every((d, i) => d === outShape[i])) return [float(x.name)];
        const src = this.toTfOrder(x, hint);
        const r = g.one('Reshape', [src, g.int64Const(`${hint}/shape`, [-1, ...(outShape.slice(1) as number[])])], {}, hint);
        return [this.fromTfOrder(r, outShape, hint)];
      }
      case 'Embedding': {
        const table = weight(layer, 'embeddings');
        if (!table) throw unsupported(layer, 'no embeddings weight');
        const [classes] = table.shape as [number, number];
        const T = g.floatInit(`${hint}/table`, table.shape, table.data);
        if (x.kind === 'soft-label') {
          if (x.classes !== classes) throw unsupported(layer, `soft label has ${x.classes} classes, the embedding ${classes}`);
          // Blend of embedding rows: weights [B, classes] @ table [classes, dim] = [B, dim].
          let y = g.one('MatMul', [x.name, T], {}, hint);
          if (outShape.length === 3) y = g.one('Unsqueeze', [y, g.int64Const('axes_1', [1])], {}, hint);
          else if (outShape.length !== 2) throw unsupported(layer, 'soft labels need an Embedding of one index per sample');
          return [float(y)];
        }
        const idx = x.kind === 'int' ? x.name : g.one('Cast', [this.toTfOrder(x, hint)], { to: int(DT.INT64) }, hint);
        const y = g.one('Gather', [T, idx], { axis: int(0) }, hint);
        return [this.fromTfOrder(y, outShape, hint)];
      }
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'SpatialDropout2D': {
        if (this.dropout === 'keep' && cls === 'Dropout') {
          const rate = Number(cfg.rate ?? 0);
          const y = g.one('Dropout', [x.name, g.floatConst(`${hint}/ratio`, [rate], true), g.boolConst('training_mode', true)], {}, hint);
          return [float(y)];
        }
        return [x];
      }
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
      case 'ActivityRegularization':
        return [x];
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const [h, w] = this.spatial(layer, x);
        const [kh, kw] = pair(cfg.poolSize, 2);
        const [sh, sw] = pair(cfg.strides ?? cfg.poolSize, 2);
        let pads = [0, 0, 0, 0];
        if (cfg.padding === 'same') {
          const [t, b] = samePads(h, kh, sh);
          const [l, r] = samePads(w, kw, sw);
          pads = [t, l, b, r];
        }
        const attrs: Attrs = { kernel_shape: ints([kh, kw]), strides: ints([sh, sw]), pads: ints(pads) };
        if (cls === 'AveragePooling2D') attrs.count_include_pad = int(0);
        return [float(g.one(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.name], attrs, hint))];
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        this.spatial(layer, x);
        const op = cls === 'GlobalAveragePooling2D' ? 'ReduceMean' : 'ReduceMax';
        return [float(g.one(op, [x.name], { axes: ints([2, 3]), keepdims: int(0) }, hint))];
      }
      default:
        throw unsupported(layer, 'this layer class has no ONNX mapping');
    }
  }
}

/** Build an ONNX graph from tfjs models (one, or a chain like encoder -> decoder). */
export function convertTfjs(spec: ConvertSpec): ConvertResult {
  if (!spec.stages.length) throw new StudioError('BAD_INPUT', 'Nothing to export: no model given.');
  const conv = new TfjsToOnnx({ dropout: spec.dropout, labelMode: spec.labelMode, transposedConv: spec.transposedConv });
  const first = spec.stages[0]!;
  const inputNames = spec.inputNames ?? defaultInputNames(first);
  if (inputNames.length !== first.inputs.length) {
    throw new StudioError('BAD_INPUT', `The model has ${first.inputs.length} inputs but ${inputNames.length} names were given (${inputNames.join(', ')}).`);
  }
  let vals = first.inputs.map((t, i) => {
    const name = inputNames[i]!;
    const isLabel = name === 'label';
    return conv.graphInput(name, t, isLabel, isLabel ? embeddingClassesFor(first, t) : undefined);
  });
  for (const m of spec.stages) {
    if (m.inputs.length !== vals.length) throw new StudioError('BAD_INPUT', `Cannot chain models: ${vals.length} outputs feed ${m.inputs.length} inputs.`);
    vals = conv.convertModel(m, vals);
  }
  const outputNames = spec.outputNames ?? vals.map((_, i) => (i === 0 ? 'output' : `output_${i}`));
  const outputs: OnnxValueInfo[] = vals.map((v, i) => {
    const name = outputNames[i]!;
    conv.g.reserve(name);
    conv.g.nodes.push({ opType: 'Identity', name: `${name}/Identity`, inputs: [v.name], outputs: [name], attributes: {} });
    const dims: (number | string)[] = v.shape.map((d, j) => (j === 0 ? 'batch' : d ?? `d${j}`));
    return { name, elemType: DT.FLOAT, shape: v.shape.length === 4 ? NHWC_TO_NCHW.map((p) => dims[p]!) : dims };
  });
  const graph = pruneGraph({ name: spec.graphName ?? 'atelier', nodes: conv.g.nodes, initializers: conv.g.inits, inputs: conv.g.inputs, outputs });
  return { graph, inputNames, outputNames, layerClasses: conv.g.layerClasses };
}

/** The Embedding an input feeds (directly or through InputLayer): such inputs are labels. */
function embeddingFed(model: LayersModel, t: SymbolicTensor): Layer | undefined {
  return model.layers.find((layer) => layer.getClassName() === 'Embedding' && (layer.inboundNodes as unknown as TfNode[]).some((n) => n.inputTensors.some((x) => x.id === t.id)));
}

function feedsEmbedding(model: LayersModel, t: SymbolicTensor): boolean {
  return embeddingFed(model, t) !== undefined;
}

function embeddingClassesFor(model: LayersModel, t: SymbolicTensor): number | undefined {
  const layer = embeddingFed(model, t);
  return layer ? Number((layer.getConfig() as { inputDim?: number }).inputDim) : undefined;
}

/** input (one image), z (one vector), z + label (conditional). */
export function defaultInputNames(model: LayersModel): string[] {
  const ins = model.inputs;
  if (ins.length === 1) return [ins[0]!.shape.length === 4 ? 'input' : 'z'];
  return ins.map((t, i) => (feedsEmbedding(model, t) ? 'label' : t.shape.length === 4 ? (i === 0 ? 'input' : `input_${i}`) : 'z'));
}
