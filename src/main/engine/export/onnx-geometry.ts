/**
 * What an image-to-image ONNX graph allows at sizes other than its training size, read from the
 * graph alone (so it works for any exported file, old or new):
 *   - spatialGeometry: the total stride (inputs must be a multiple of it), whether every op is
 *     size-agnostic (else the reason, naming the op), and an upper bound of activation bytes per
 *     input pixel (for the tiling memory budget);
 *   - withDynamicSpatial: the same graph with input and output height/width declared as
 *     dim_params `height`/`width` (DESIGN.md §3), so onnxruntime accepts any multiple of the stride.
 *
 * Why a graph exported at 32x32 is valid at 64x96: for an input that is a multiple of the stride
 * s of every Conv, TF 'same' padding is k - s whatever the size, our phase-decomposed transposed
 * convolutions pad by constants, and Resize uses scales, not sizes. Ops that bake a size in
 * (Reshape, Flatten, Slice, Gemm, global pooling) make a graph fixed-size.
 */
import { decodeModel, encodeModel, type OnnxModel, type OnnxNode } from './onnx-proto';

/** Ops whose result does not depend on the spatial size they run at (given stride-aligned inputs). */
const SIZE_AGNOSTIC = new Set([
  'Conv', 'ConvTranspose', 'BatchNormalization', 'InstanceNormalization', 'Pad', 'Relu', 'LeakyRelu', 'Tanh', 'Sigmoid',
  'Elu', 'Selu', 'Softplus', 'Softsign', 'HardSigmoid', 'Clip', 'Mul', 'Add', 'Sum', 'Sub', 'Mean', 'Max', 'Min',
  'Concat', 'DepthToSpace', 'SpaceToDepth', 'Identity', 'Resize', 'Dropout', 'MaxPool', 'AveragePool', 'Transpose',
]);

export interface SpatialGeometry {
  /** Input height and width must be multiples of this (product of the strided ops). */
  stride: number;
  /** The size the graph declares (its training size), when fixed. */
  declared: { height: number | string; width: number | string } | null;
  /** null: runs at any stride multiple; else why it cannot (for people). */
  fixedReason: string | null;
  /** Upper bound of float32 activation bytes per input pixel (every intermediate kept alive). */
  bytesPerPixel: number;
}

function ints(n: OnnxNode, name: string): number[] | undefined {
  const a = n.attributes[name];
  return a && a.type === 'ints' ? a.ints : undefined;
}

function imageIo(m: OnnxModel): { input: OnnxModel['graph']['inputs'][number]; output: OnnxModel['graph']['outputs'][number] } | null {
  const input = m.graph.inputs.find((i) => i.name === 'input');
  const output = m.graph.outputs.find((o) => o.name === 'output') ?? m.graph.outputs[0];
  if (!input || input.shape?.length !== 4 || !output || output.shape?.length !== 4) return null;
  return { input, output };
}

export function spatialGeometry(m: OnnxModel): SpatialGeometry {
  const io = imageIo(m);
  const declared = io ? { height: io.input.shape![2]!, width: io.input.shape![3]! } : null;
  let stride = 1;
  let bad: string | null = null;
  for (const n of m.graph.nodes) {
    if (!SIZE_AGNOSTIC.has(n.opType) && !bad) bad = n.opType;
    if (n.opType === 'Conv' || n.opType === 'MaxPool' || n.opType === 'AveragePool') {
      const s = ints(n, 'strides');
      if (s) stride *= Math.max(...s);
    }
  }
  let fixedReason: string | null = null;
  if (!io) fixedReason = 'it is not an image-to-image graph (no 4-D `input` and `output`)';
  else if (bad) fixedReason = `its graph contains ${bad}, which fixes the spatial size`;
  else if (io.input.shape![2] !== io.output.shape![2] || io.input.shape![3] !== io.output.shape![3]) fixedReason = 'its output size differs from its input size';
  return { stride, declared, fixedReason, bytesPerPixel: activationBytesPerPixel(m) };
}

/**
 * Sum over every node output of channels x (resolution relative to the input)^2 x 4 bytes, by
 * propagating channel counts and scales through the op set above. An upper bound of the live
 * activation memory (runtimes free or reuse buffers; tfjs inside one tidy keeps them all).
 */
export function activationBytesPerPixel(m: OnnxModel): number {
  const g = m.graph;
  const init = new Map(g.initializers.map((t) => [t.name, t.dims]));
  const info = new Map<string, { c: number; s: number }>();
  for (const i of g.inputs) if (i.shape?.length === 4 && typeof i.shape[1] === 'number') info.set(i.name, { c: i.shape[1], s: 1 });
  let total = 0;
  for (const n of g.nodes) {
    const x = info.get(n.inputs[0] ?? '');
    if (!x) continue;
    let out: { c: number; s: number } = x;
    const st = Math.max(...(ints(n, 'strides') ?? [1]));
    switch (n.opType) {
      case 'Conv':
        out = { c: init.get(n.inputs[1] ?? '')?.[0] ?? x.c, s: x.s / st };
        break;
      case 'ConvTranspose':
        out = { c: init.get(n.inputs[1] ?? '')?.[1] ?? x.c, s: x.s * st };
        break;
      case 'MaxPool':
      case 'AveragePool':
        out = { c: x.c, s: x.s / st };
        break;
      case 'Concat':
        out = { c: n.inputs.reduce((a, name) => a + (info.get(name)?.c ?? 0), 0), s: x.s };
        break;
      case 'DepthToSpace': {
        const b = n.attributes.blocksize?.type === 'int' ? n.attributes.blocksize.i : 1;
        out = { c: x.c / (b * b), s: x.s * b };
        break;
      }
      case 'Resize': {
        const scales = init.get(n.inputs[2] ?? '') ? scaleOf(m, n.inputs[2]!) : 1;
        out = { c: x.c, s: x.s * scales };
        break;
      }
      default:
        break;
    }
    for (const o of n.outputs) info.set(o, out);
    total += out.c * out.s * out.s * 4;
  }
  return Math.ceil(total);
}

function scaleOf(m: OnnxModel, name: string): number {
  const t = m.graph.initializers.find((x) => x.name === name);
  if (!t) return 1;
  const v = t.floatData ?? (t.raw ? Array.from(new Float32Array(t.raw.slice().buffer)) : []);
  return Number(v[2] ?? 1) || 1;
}

/**
 * The graph with `height`/`width` dim_params on its image input and output. Returns null when
 * the graph cannot run at other sizes (see spatialGeometry().fixedReason) or is dynamic already.
 */
export function withDynamicSpatial(m: OnnxModel): OnnxModel | null {
  const geo = spatialGeometry(m);
  const io = imageIo(m);
  if (geo.fixedReason || !io) return null;
  if (typeof io.input.shape![2] === 'string' && typeof io.input.shape![3] === 'string') return null;
  io.input.shape = [io.input.shape![0]!, io.input.shape![1]!, 'height', 'width'];
  io.output.shape = [io.output.shape![0]!, io.output.shape![1]!, 'height', 'width'];
  return m;
}

/** Bytes form of withDynamicSpatial (same bytes back when nothing changes). */
export function dynamicSpatialBytes(bytes: Uint8Array): { bytes: Uint8Array; geometry: SpatialGeometry } {
  const m = decodeModel(bytes);
  const geometry = spatialGeometry(m);
  const dyn = withDynamicSpatial(m);
  return { bytes: dyn ? encodeModel(dyn) : bytes, geometry };
}
