/**
 * ONNX ModelProto as plain objects, with an encoder (our writer) and a decoder (our reader, for
 * tests, parity reports and `bundle.get`). Field numbers follow onnx/onnx.proto (IR version 8).
 */
import { PbWriter, readFields, fieldString, fieldInt, fieldInts, fieldFloat, fieldFloats, type PbField } from './protobuf';

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

/** TensorProto.DataType values we use. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

export type Dim = number | string; // number = dim_value, string = dim_param

export interface OnnxTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Little-endian raw bytes (raw_data). */
  raw?: Uint8Array;
  /** Decoded float_data / int64_data when the file used them instead of raw_data. */
  floatData?: number[];
  int64Data?: number[];
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** undefined = unknown rank. */
  shape?: Dim[];
  docString?: string;
}

export type OnnxAttrValue =
  | { type: 'float'; f: number }
  | { type: 'int'; i: number }
  | { type: 'string'; s: string }
  | { type: 'tensor'; t: OnnxTensor }
  | { type: 'floats'; floats: number[] }
  | { type: 'ints'; ints: number[] }
  | { type: 'strings'; strings: string[] };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttrValue>;
  domain?: string;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: OnnxGraph;
  metadata: Record<string, string>;
}

// AttributeProto.AttributeType
const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

// ---------------------------------------------------------------------------------------------
// Encoding

function writeTensor(w: PbWriter, t: OnnxTensor): void {
  // TensorProto: dims=1, data_type=2, float_data=4, int64_data=7, name=8, raw_data=9
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  w.string(8, t.name);
  if (t.raw) w.bytes(9, t.raw);
  else if (t.floatData) w.packedFloats(4, t.floatData);
  else if (t.int64Data) w.packedInts(7, t.int64Data);
}

function writeValueInfo(w: PbWriter, v: OnnxValueInfo): void {
  // ValueInfoProto: name=1, type=2, doc_string=3
  // TypeProto: tensor_type=1; TypeProto.Tensor: elem_type=1, shape=2
  // TensorShapeProto: dim=1; Dimension: dim_value=1, dim_param=2
  w.string(1, v.name);
  w.message(2, (tp) =>
    tp.message(1, (tt) => {
      tt.int(1, v.elemType);
      if (v.shape) {
        const shape = v.shape;
        tt.message(2, (sp) => {
          for (const d of shape) sp.message(1, (dw) => (typeof d === 'number' ? dw.int(1, d) : dw.string(2, d)));
        });
      }
    }),
  );
  if (v.docString) w.string(3, v.docString);
}

function writeAttribute(w: PbWriter, name: string, a: OnnxAttrValue): void {
  // AttributeProto: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, strings=9, type=20
  w.string(1, name);
  switch (a.type) {
    case 'float':
      w.float(2, a.f).int(20, AT.FLOAT);
      break;
    case 'int':
      w.int(3, a.i).int(20, AT.INT);
      break;
    case 'string':
      w.string(4, a.s).int(20, AT.STRING);
      break;
    case 'tensor':
      w.message(5, (tw) => writeTensor(tw, a.t)).int(20, AT.TENSOR);
      break;
    case 'floats':
      w.packedFloats(7, a.floats).int(20, AT.FLOATS);
      break;
    case 'ints':
      w.packedInts(8, a.ints).int(20, AT.INTS);
      break;
    case 'strings':
      for (const s of a.strings) w.string(9, s);
      w.int(20, AT.STRINGS);
      break;
  }
}

function writeNode(w: PbWriter, n: OnnxNode): void {
  // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5, domain=7
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes)) w.message(5, (aw) => writeAttribute(aw, k, a));
  if (n.domain) w.string(7, n.domain);
}

function writeGraph(w: PbWriter, g: OnnxGraph): void {
  // GraphProto: node=1, name=2, initializer=5, doc_string=10, input=11, output=12
  for (const n of g.nodes) w.message(1, (nw) => writeNode(nw, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (tw) => writeTensor(tw, t));
  if (g.docString) w.string(10, g.docString);
  for (const v of g.inputs) w.message(11, (vw) => writeValueInfo(vw, v));
  for (const v of g.outputs) w.message(12, (vw) => writeValueInfo(vw, v));
}

export function encodeModel(m: OnnxModel): Uint8Array {
  // ModelProto: ir_version=1, producer_name=2, producer_version=3, domain=4, model_version=5,
  // doc_string=6, graph=7, opset_import=8, metadata_props=14
  const w = new PbWriter();
  w.int(1, m.irVersion);
  for (const o of m.opsets) w.message(8, (ow) => (o.domain ? ow.string(1, o.domain) : ow).int(2, o.version));
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.domain) w.string(4, m.domain);
  if (m.modelVersion !== undefined) w.int(5, m.modelVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, (gw) => writeGraph(gw, m.graph));
  for (const [k, v] of Object.entries(m.metadata)) w.message(14, (ew) => ew.string(1, k).string(2, v));
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decoding

function readTensor(buf: Uint8Array): OnnxTensor {
  const t: OnnxTensor = { name: '', dataType: 0, dims: [] };
  for (const f of readFields(buf)) {
    if (f.field === 1) t.dims.push(...fieldInts(f));
    else if (f.field === 2) t.dataType = fieldInt(f);
    else if (f.field === 8) t.name = fieldString(f);
    else if (f.field === 9) t.raw = f.bytes!.slice();
    else if (f.field === 4) (t.floatData ??= []).push(...fieldFloats(f));
    else if (f.field === 7) (t.int64Data ??= []).push(...fieldInts(f));
  }
  return t;
}

function readValueInfo(buf: Uint8Array): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: 0 };
  for (const f of readFields(buf)) {
    if (f.field === 1) v.name = fieldString(f);
    else if (f.field === 3) v.docString = fieldString(f);
    else if (f.field === 2) {
      for (const tf of readFields(f.bytes!)) {
        if (tf.field !== 1) continue; // tensor_type only
        for (const tt of readFields(tf.bytes!)) {
          if (tt.field === 1) v.elemType = fieldInt(tt);
          else if (tt.field === 2) {
            v.shape = [];
            for (const d of readFields(tt.bytes!)) {
              if (d.field !== 1) continue;
              let dim: Dim = '?';
              for (const df of readFields(d.bytes!)) {
                if (df.field === 1) dim = fieldInt(df);
                else if (df.field === 2) dim = fieldString(df);
              }
              v.shape.push(dim);
            }
          }
        }
      }
    }
  }
  return v;
}

function readAttribute(buf: Uint8Array): [string, OnnxAttrValue | undefined] {
  let name = '';
  let type = 0;
  const fs: PbField[] = readFields(buf);
  const get = (n: number) => fs.filter((f) => f.field === n);
  for (const f of fs) {
    if (f.field === 1) name = fieldString(f);
    else if (f.field === 20) type = fieldInt(f);
  }
  switch (type) {
    case AT.FLOAT:
      return [name, { type: 'float', f: get(2).length ? fieldFloat(get(2)[0]!) : 0 }];
    case AT.INT:
      return [name, { type: 'int', i: get(3).length ? fieldInt(get(3)[0]!) : 0 }];
    case AT.STRING:
      return [name, { type: 'string', s: get(4).length ? fieldString(get(4)[0]!) : '' }];
    case AT.TENSOR:
      return [name, { type: 'tensor', t: readTensor(get(5)[0]!.bytes!) }];
    case AT.FLOATS:
      return [name, { type: 'floats', floats: get(7).flatMap(fieldFloats) }];
    case AT.INTS:
      return [name, { type: 'ints', ints: get(8).flatMap(fieldInts) }];
    case AT.STRINGS:
      return [name, { type: 'strings', strings: get(9).map(fieldString) }];
    default:
      return [name, undefined];
  }
}

function readNode(buf: Uint8Array): OnnxNode {
  const n: OnnxNode = { opType: '', name: '', inputs: [], outputs: [], attributes: {} };
  for (const f of readFields(buf)) {
    if (f.field === 1) n.inputs.push(fieldString(f));
    else if (f.field === 2) n.outputs.push(fieldString(f));
    else if (f.field === 3) n.name = fieldString(f);
    else if (f.field === 4) n.opType = fieldString(f);
    else if (f.field === 7) n.domain = fieldString(f);
    else if (f.field === 5) {
      const [k, a] = readAttribute(f.bytes!);
      if (a) n.attributes[k] = a;
    }
  }
  return n;
}

function readGraph(buf: Uint8Array): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] };
  for (const f of readFields(buf)) {
    if (f.field === 1) g.nodes.push(readNode(f.bytes!));
    else if (f.field === 2) g.name = fieldString(f);
    else if (f.field === 5) g.initializers.push(readTensor(f.bytes!));
    else if (f.field === 10) g.docString = fieldString(f);
    else if (f.field === 11) g.inputs.push(readValueInfo(f.bytes!));
    else if (f.field === 12) g.outputs.push(readValueInfo(f.bytes!));
  }
  return g;
}

/** Decode a ModelProto (our reader: names, opsets, shapes with dim_param, metadata, weights). */
export function decodeModel(buf: Uint8Array): OnnxModel {
  const m: OnnxModel = {
    irVersion: 0,
    opsets: [],
    producerName: '',
    producerVersion: '',
    graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [] },
    metadata: {},
  };
  for (const f of readFields(buf)) {
    if (f.field === 1) m.irVersion = fieldInt(f);
    else if (f.field === 2) m.producerName = fieldString(f);
    else if (f.field === 3) m.producerVersion = fieldString(f);
    else if (f.field === 4) m.domain = fieldString(f);
    else if (f.field === 5) m.modelVersion = fieldInt(f);
    else if (f.field === 6) m.docString = fieldString(f);
    else if (f.field === 7) m.graph = readGraph(f.bytes!);
    else if (f.field === 8) {
      let domain = '';
      let version = 0;
      for (const o of readFields(f.bytes!)) {
        if (o.field === 1) domain = fieldString(o);
        else if (o.field === 2) version = fieldInt(o);
      }
      m.opsets.push({ domain, version });
    } else if (f.field === 14) {
      let k = '';
      let v = '';
      for (const e of readFields(f.bytes!)) {
        if (e.field === 1) k = fieldString(e);
        else if (e.field === 2) v = fieldString(e);
      }
      m.metadata[k] = v;
    }
  }
  return m;
}

/** Float values of a decoded tensor (raw_data or float_data). */
export function tensorFloats(t: OnnxTensor): Float32Array {
  if (t.raw) return new Float32Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength));
  return Float32Array.from(t.floatData ?? []);
}

export function floatTensor(name: string, dims: number[], data: ArrayLike<number>): OnnxTensor {
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  return { name, dataType: DT.FLOAT, dims, raw: new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)) };
}

export function int64Tensor(name: string, dims: number[], data: ArrayLike<number>): OnnxTensor {
  const b = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) b[i] = BigInt(data[i]!);
  return { name, dataType: DT.INT64, dims, raw: new Uint8Array(b.buffer) };
}
