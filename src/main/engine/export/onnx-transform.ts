/**
 * Rewrites of our own exported ONNX files (decode -> edit -> encode), so inference needs only the
 * file, never the tfjs model:
 *  - softLabelVariant: a conditional generator whose `label` input is class WEIGHTS
 *    [batch, classes] (float) instead of indices: the Embedding's Gather(table, index) becomes
 *    MatMul(weights, table), i.e. a blend of the embedding vectors. For one-hot weights it is the
 *    same computation as the original (class blending in latent tools).
 *  - withFeatureOutput: a graph whose only output `features` is an intermediate activation
 *    (GANSpace-style PCA directions on an early layer); later layers are dropped.
 */
import { StudioError } from '../../../shared/errors';
import { decodeModel, DT, encodeModel, int64Tensor, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-proto';

/** Drop nodes and initializers that do not lead to a graph output. */
export function pruneGraph(g: OnnxGraph): OnnxGraph {
  const needed = new Set(g.outputs.map((o) => o.name));
  const keep: OnnxNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => needed.has(o))) {
      keep.push(n);
      for (const x of n.inputs) if (x) needed.add(x);
    }
  }
  keep.reverse();
  return { ...g, nodes: keep, initializers: g.initializers.filter((t) => needed.has(t.name)) };
}

function producers(m: OnnxModel): Map<string, OnnxNode> {
  const p = new Map<string, OnnxNode>();
  for (const n of m.graph.nodes) for (const o of n.outputs) p.set(o, n);
  return p;
}

/** The Embedding (Gather) the `label` input feeds, checked to be its only use: what softLabelVariant rewrites. */
function labelEmbedding(m: OnnxModel): { labelIn: OnnxValueInfo; gather: OnnxNode; viaUnsqueeze: OnnxNode | undefined; table: OnnxTensor; classes: number } {
  const g = m.graph;
  const labelIn = g.inputs.find((i) => i.name === 'label');
  if (!labelIn) throw new StudioError('BAD_INPUT', 'This model has no `label` input: class blending needs a conditional generator.');
  const prod = producers(m);
  // The Gather whose indices come from `label` (directly, or through our Unsqueeze).
  let gather: OnnxNode | undefined;
  let viaUnsqueeze: OnnxNode | undefined;
  for (const n of g.nodes) {
    if (n.opType !== 'Gather') continue;
    const idx = n.inputs[1]!;
    if (idx === 'label') gather = n;
    else {
      const p = prod.get(idx);
      if (p && p.opType === 'Unsqueeze' && p.inputs[0] === 'label') {
        gather = n;
        viaUnsqueeze = p;
      }
    }
    if (gather) break;
  }
  if (!gather) throw new StudioError('BAD_INPUT', 'The label input does not feed an Embedding (Gather): class blending is not possible for this model.');
  const table = g.initializers.find((t) => t.name === gather!.inputs[0]);
  if (!table || table.dims.length !== 2) throw new StudioError('BAD_INPUT', 'The label embedding table was not found in the ONNX file.');
  const classes = table.dims[0]!;
  const uses = g.nodes.filter((n) => n !== viaUnsqueeze && n !== gather && n.inputs.includes('label'));
  if (uses.length) throw new StudioError('BAD_INPUT', 'The label input is used outside the Embedding: class blending is not possible for this model.');
  return { labelIn, gather, viaUnsqueeze, table, classes };
}

/** Number of classes of a conditional generator (rows of its label embedding table); throws as softLabelVariant would. */
export function labelClasses(bytes: Uint8Array): number {
  return labelEmbedding(decodeModel(bytes)).classes;
}

export function softLabelVariant(bytes: Uint8Array): { bytes: Uint8Array; classes: number } {
  const m = decodeModel(bytes);
  const g = m.graph;
  const { labelIn, gather, viaUnsqueeze, table, classes } = labelEmbedding(m);
  labelIn.elemType = DT.FLOAT;
  labelIn.shape = ['batch', classes];
  const out = gather.outputs[0]!;
  const replacement: OnnxNode[] = [];
  if (viaUnsqueeze) {
    // indices [B, 1] -> Gather output [B, 1, E]: MatMul gives [B, E], then unsqueeze axis 1.
    const axesName = 'label_soft/axes';
    g.initializers.push(int64Tensor(axesName, [1], [1]));
    replacement.push({ opType: 'MatMul', name: 'label_soft/MatMul', inputs: ['label', table.name], outputs: ['label_soft/blend'], attributes: {} });
    replacement.push({ opType: 'Unsqueeze', name: 'label_soft/Unsqueeze', inputs: ['label_soft/blend', axesName], outputs: [out], attributes: {} });
  } else {
    replacement.push({ opType: 'MatMul', name: 'label_soft/MatMul', inputs: ['label', table.name], outputs: [out], attributes: {} });
  }
  const nodes: OnnxNode[] = [];
  for (const n of g.nodes) {
    if (n === viaUnsqueeze) continue;
    if (n === gather) nodes.push(...replacement);
    else nodes.push(n);
  }
  g.nodes = nodes;
  const used = new Set(nodes.flatMap((n) => n.inputs));
  g.initializers = g.initializers.filter((t) => used.has(t.name));
  m.metadata['atelier.labelMode'] = 'soft';
  return { bytes: encodeModel(m), classes };
}

/**
 * Add an intermediate value as a second output `features`. `pick` chooses the node; the default
 * is the first activation (Relu / LeakyRelu) after the first Reshape (DCGAN: the 4x4 block), or
 * the first activation at all.
 */
export function withFeatureOutput(bytes: Uint8Array, pick?: (n: OnnxNode, i: number, all: OnnxNode[]) => boolean): { bytes: Uint8Array; node: string } | null {
  const m = decodeModel(bytes);
  const nodes = m.graph.nodes;
  const isAct = (n: OnnxNode) => n.opType === 'Relu' || n.opType === 'LeakyRelu';
  let chosen: OnnxNode | undefined;
  if (pick) chosen = nodes.find((n, i) => pick(n, i, nodes));
  else {
    const r = nodes.findIndex((n) => n.opType === 'Reshape');
    chosen = (r >= 0 ? nodes.slice(r).find(isAct) : undefined) ?? nodes.find(isAct);
  }
  if (!chosen) return null;
  const name = 'features';
  // Flattened per sample: [batch, features] (a known rank keeps the graph valid for onnx.checker).
  nodes.push({ opType: 'Flatten', name: 'features/Flatten', inputs: [chosen.outputs[0]!], outputs: [name], attributes: { axis: { type: 'int', i: 1 } } });
  // Only the features: drop the rest of the network (nodes and weights not needed for them).
  m.graph.outputs = [{ name, elemType: DT.FLOAT, shape: ['batch', 'features'] }];
  m.graph = pruneGraph(m.graph);
  const used = new Set(m.graph.nodes.flatMap((n) => n.inputs));
  m.graph.inputs = m.graph.inputs.filter((v) => used.has(v.name));
  return { bytes: encodeModel(m), node: chosen.name };
}
