/**
 * Export a generator to ONNX (opset 17, NCHW float32 in [-1, 1], dynamic batch), with metadata,
 * a sidecar JSON and a parity check: the file is loaded back in onnxruntime-node and compared
 * with tfjs on fixed seeded inputs; max |diff| must be < 1e-4 or the export is marked failed.
 *
 * Graph interface by capability (shared/capabilities.ts):
 *   translate (one file per direction):  input [batch, C, height, width] -> output [batch, C, height, width]
 *                                        (height/width dynamic: any multiple of the network's stride)
 *   generate:                            z [batch, latent] -> output
 *   generate with classes:               z [batch, latent], label int64 [batch] -> output
 *   encode (encoder + decoder):          input -> output (encoder+decoder in one graph), plus
 *                                        <name>.encoder.onnx (input -> z) and <name>.decoder.onnx (z -> output)
 */
import type { OnnxIoInfo, OnnxParityReport } from '../../../shared/channels/export';
import path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { StudioError } from '../../../shared/errors';
import type { ModelCapabilities } from '../../../shared/capabilities';
import { tf } from '../backend';
import { Rng } from '../analysis/rng';
import { writeFileAtomic, writeJsonAtomic } from '../core/fsutil';
import { decodeModel, encodeModel, ONNX_IR_VERSION, ONNX_OPSET, type OnnxModel } from './onnx-proto';
import fsp from 'node:fs/promises';
import { withDynamicSpatial } from './onnx-geometry';
import { convertTfjs, type DropoutMode, type LabelMode, type TransposedConvMode } from './tfjs-to-onnx';
import { createSession, floatTensor, int64Tensor, type OrtTensor } from './ort';

export const PARITY_THRESHOLD = 1e-4;
export const PRODUCER = 'atelier';
export const PRODUCER_VERSION = '0.1.0';

/** A model registry kind: a label carried into metadata; what the model does is its capabilities. */
export type ModelKind = string;

/** What the exporter needs from a model bundle. */
export interface ExportSource {
  kind: ModelKind;
  name: string;
  /** From the bundle; a source without them (tests, foreign models) is read off its networks. */
  capabilities?: ModelCapabilities;
  /** Translators and generators: the one network of the graph. */
  generator?: tfTypes.LayersModel;
  /** Encoder-decoder models. */
  encoder?: tfTypes.LayersModel;
  decoder?: tfTypes.LayersModel;
  imageSize: number;
  /** Output channels. */
  channels: number;
  /** Input image channels of a translator when they differ from the output's (e.g. grey -> colour). */
  inChannels?: number;
  latentSize?: number;
  classNames?: string[];
  /** Dropout at inference: 'identity' (default) or 'keep' (pix2pix-style noise). */
  dropout?: DropoutMode;
  /** Training summary (steps, epochs, dataset, final losses, metrics). */
  training?: Record<string, unknown>;
}

/** Dispose the tfjs networks a source holds. */
export function disposeSource(src: ExportSource): void {
  for (const n of [src.generator, src.encoder, src.decoder]) n?.dispose();
}

export type IoInfo = OnnxIoInfo;
export type ParityReport = OnnxParityReport;

export interface OnnxSidecar {
  format: 'atelier-onnx';
  version: 1;
  file: string;
  name: string;
  kind: ModelKind;
  capabilities?: ModelCapabilities;
  opset: number;
  layout: 'NCHW';
  imageSize: number;
  channels: number;
  inChannels?: number;
  pixelRange: [-1, 1];
  pixelFormat: string;
  inputs: IoInfo[];
  outputs: IoInfo[];
  latentSize?: number;
  classNames?: string[];
  dropout: DropoutMode;
  training?: Record<string, unknown>;
  encoderFile?: string;
  decoderFile?: string;
  exportedAt: string;
  parity?: ParityReport;
  layerClasses: Record<string, number>;
}

export interface BuiltOnnx {
  role: 'model' | 'encoder' | 'decoder';
  model: OnnxModel;
  bytes: Uint8Array;
  stages: tfTypes.LayersModel[];
  inputs: IoInfo[];
  outputs: IoInfo[];
  layerClasses: Record<string, number>;
}

function pixelFormat(channels: number): string {
  return channels === 1 ? 'Gray8' : channels === 4 ? 'Rgba8' : 'Rgb8';
}

/** Graph inputs or outputs as name / dtype / shape (int64 or float32; unknown rank as []). */
export function ioOf(g: OnnxModel['graph']['inputs']): IoInfo[] {
  return g.map((v) => ({ name: v.name, dtype: v.elemType === 7 ? 'int64' : 'float32', shape: v.shape ?? [] }));
}

export function metadataFor(src: ExportSource, role: BuiltOnnx['role'], dropout: DropoutMode): Record<string, string> {
  const md: Record<string, string> = {
    'atelier.kind': String(src.kind),
    'atelier.role': role,
    'atelier.name': src.name,
    'atelier.imageSize': String(src.imageSize),
    'atelier.channels': String(src.channels),
    'atelier.layout': 'NCHW',
    'atelier.dropout': dropout,
    'Image.NominalPixelRange': 'Normalized_1_1',
    // The image the model takes (translators, autoencoders) or makes (generators).
    'Image.BitmapPixelFormat': pixelFormat(role !== 'decoder' && src.inChannels && !src.latentSize ? src.inChannels : src.channels),
    'Image.ColorSpaceGamma': 'SRGB',
  };
  if (src.inChannels !== undefined) md['atelier.inChannels'] = String(src.inChannels);
  if (src.latentSize !== undefined) md['atelier.latentSize'] = String(src.latentSize);
  if (src.classNames) md['atelier.classNames'] = JSON.stringify(src.classNames);
  if (src.training) md['atelier.training'] = JSON.stringify(src.training);
  if (src.capabilities) md['atelier.capabilities'] = JSON.stringify(src.capabilities);
  return md;
}

function wrap(graph: OnnxModel['graph'], metadata: Record<string, string>, doc: string): OnnxModel {
  return {
    irVersion: ONNX_IR_VERSION,
    opsets: [{ domain: '', version: ONNX_OPSET }],
    producerName: PRODUCER,
    producerVersion: PRODUCER_VERSION,
    modelVersion: 1,
    docString: doc,
    graph,
    metadata,
  };
}

/** Build the ONNX model(s) of a source in memory. */
export function buildOnnx(src: ExportSource, opts: { dropout?: DropoutMode; labelMode?: LabelMode; transposedConv?: TransposedConvMode } = {}): BuiltOnnx[] {
  const dropout = opts.dropout ?? src.dropout ?? 'identity';
  const labelMode = opts.labelMode ?? 'index';
  const out: BuiltOnnx[] = [];
  const one = (role: BuiltOnnx['role'], stages: tfTypes.LayersModel[], inputNames: string[] | undefined, outputNames: string[]) => {
    const r = convertTfjs({ stages, inputNames, outputNames, dropout, labelMode, transposedConv: opts.transposedConv, graphName: `${src.name}-${role}` });
    const model = wrap(r.graph, metadataFor(src, role, dropout), `Atelier ${src.kind} ${role} "${src.name}": NCHW float32 in [-1, 1].`);
    // Image-to-image graphs that nothing ties to one size declare dynamic height and width.
    withDynamicSpatial(model);
    out.push({ role, model, bytes: encodeModel(model), stages, inputs: ioOf(r.graph.inputs), outputs: ioOf(r.graph.outputs), layerClasses: r.layerClasses });
  };
  if (src.capabilities?.encode || (src.encoder && src.decoder && !src.generator)) {
    if (!src.encoder || !src.decoder) throw new StudioError('BAD_INPUT', `Encoder-decoder model "${src.name}" needs both an encoder and a decoder to export.`);
    one('model', [src.encoder, src.decoder], ['input'], ['output']);
    one('encoder', [src.encoder], ['input'], ['z']);
    one('decoder', [src.decoder], ['z'], ['output']);
  } else {
    if (!src.generator) throw new StudioError('BAD_INPUT', `Model "${src.name}" has no generator to export.`);
    one('model', [src.generator], undefined, ['output']);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parity

/** Fixed, seeded inputs for a graph interface (NCHW images in [-1, 1], normal z, labels). */
export function parityInputs(
  inputs: IoInfo[],
  batch: number,
  seed: number,
  classes = 10,
  /** Height and width for dynamic image dims (default 1). */
  spatial?: [number, number],
): Map<string, { data: Float32Array | number[]; dims: number[]; dtype: IoInfo['dtype'] }> {
  const rng = new Rng(seed);
  const out = new Map<string, { data: Float32Array | number[]; dims: number[]; dtype: IoInfo['dtype'] }>();
  for (const io of inputs) {
    const dims = io.shape.map((d, i) => (i === 0 ? batch : typeof d === 'number' ? d : io.shape.length === 4 && i >= 2 && spatial ? spatial[i - 2]! : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    if (io.dtype === 'int64') {
      out.set(io.name, { data: Array.from({ length: n }, (_, i) => i % classes), dims, dtype: 'int64' });
    } else {
      const d = new Float32Array(n);
      const isImage = dims.length === 4;
      for (let i = 0; i < n; i++) d[i] = isImage ? rng.next() * 2 - 1 : rng.normal();
      out.set(io.name, { data: d, dims, dtype: 'float32' });
    }
  }
  return out;
}

const nchwToNhwc = (t: tfTypes.Tensor) => (t.rank === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t);

/** tfjs forward pass (training=false) for the ONNX-shaped inputs; outputs back in ONNX layout. */
export function tfjsForward(stages: tfTypes.LayersModel[], inputs: IoInfo[], feeds: ReturnType<typeof parityInputs>): Float32Array[] {
  return tf.tidy(() => {
    let xs: tfTypes.Tensor[] = stages[0]!.inputs.map((sym, i) => {
      const io = inputs[i]!;
      const f = feeds.get(io.name)!;
      if (io.dtype === 'int64') return tf.tensor(Array.from(f.data as number[]), sym.shape.length === 2 ? [f.dims[0]!, 1] : [f.dims[0]!], sym.dtype === 'int32' ? 'int32' : 'float32');
      return nchwToNhwc(tf.tensor(f.data as Float32Array, f.dims, 'float32'));
    });
    for (const m of stages) {
      // apply() where the size is not the declared one (predict checks it); inference mode.
      const declared = m.inputs[0]!.shape;
      const same = xs.length > 1 || xs[0]!.shape.every((d, i) => i === 0 || declared[i] == null || declared[i] === d);
      const y = same ? m.predict(xs.length === 1 ? xs[0]! : xs) : m.apply(xs[0]!, { training: false });
      xs = Array.isArray(y) ? (y as tfTypes.Tensor[]) : [y as tfTypes.Tensor];
    }
    return xs.map((y) => (y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y).dataSync() as Float32Array).map((a) => Float32Array.from(a));
  });
}

/** The second size parity runs at for dynamic height/width: non-square, 2x and 3x the declared size. */
export function paritySecondSize(built: BuiltOnnx): [number, number] | null {
  const s = built.inputs.find((i) => i.name === 'input')?.shape;
  if (!s || s.length !== 4 || typeof s[2] !== 'string') return null;
  const base = built.stages[0]!.inputs[0]!.shape;
  const h = base[1] ?? 32;
  const w = base[2] ?? h;
  return [2 * h, 3 * w];
}

export async function parityOf(built: BuiltOnnx, batch = 2, seed = 1234, classes = 10, spatial?: [number, number]): Promise<{ maxAbsDiff: number; meanAbsDiff: number }> {
  const base = built.stages[0]!.inputs[0]!.shape;
  const declared: [number, number] | undefined = base.length === 4 && typeof base[1] === 'number' && typeof base[2] === 'number' ? [base[1], base[2]] : undefined;
  const feeds = parityInputs(built.inputs, batch, seed, classes, spatial ?? declared);
  const session = await createSession(built.bytes);
  try {
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, f] of feeds) ortFeeds[name] = f.dtype === 'int64' ? int64Tensor(f.data, f.dims) : floatTensor(f.data as Float32Array, f.dims);
    const res = await session.run(ortFeeds);
    const ref = tfjsForward(built.stages, built.inputs, feeds);
    let max = 0;
    let sum = 0;
    let n = 0;
    built.outputs.forEach((o, i) => {
      const got = res[o.name]!.data as Float32Array;
      const want = ref[i]!;
      if (got.length !== want.length) {
        throw new StudioError('INTERNAL', `ONNX output "${o.name}" has ${got.length} values, tfjs ${want.length}: the export is wrong.`);
      }
      for (let j = 0; j < got.length; j++) {
        const d = Math.abs(got[j]! - want[j]!);
        if (!(d <= max)) max = Number.isNaN(d) ? Infinity : Math.max(max, d);
        sum += Number.isFinite(d) ? d : 0;
        n++;
      }
    });
    return { maxAbsDiff: max, meanAbsDiff: n ? sum / n : 0 };
  } finally {
    await session.release();
  }
}

export async function checkParity(builds: BuiltOnnx[], src: ExportSource, fileOf: (b: BuiltOnnx) => string, opts: { batch?: number; seed?: number } = {}): Promise<ParityReport> {
  const batch = opts.batch ?? 2;
  const seed = opts.seed ?? 1234;
  const classes = src.classNames?.length || 10;
  const dropout = src.dropout ?? 'identity';
  const files: ParityReport['files'] = [];
  let max = 0;
  let mean = 0;
  // With keep-dropout the ONNX graph is random at every run: compare the same graphs with
  // dropout as identity (everything else identical, built once) and say so.
  const identity = dropout === 'keep' ? buildOnnx(src, { dropout: 'identity' }) : null;
  const sizes: [number, number][] = [];
  for (const b of builds) {
    const cmp = identity ? identity.find((x) => x.role === b.role)! : b;
    const r = await parityOf(cmp, batch, seed, classes);
    let worst = r.maxAbsDiff;
    mean = Math.max(mean, r.meanAbsDiff);
    // Dynamic height/width: also at a second, non-square size (one image; tfjs runs it too).
    const second = paritySecondSize(cmp);
    if (second) {
      const r2 = await parityOf(cmp, 1, seed + 1, classes, second);
      worst = Math.max(worst, r2.maxAbsDiff);
      mean = Math.max(mean, r2.meanAbsDiff);
      const first = cmp.stages[0]!.inputs[0]!.shape;
      if (!sizes.length) sizes.push([first[1] as number, first[2] as number], second);
    }
    // The file's name only: sidecars ship inside bundles and must not carry this machine's paths.
    files.push({ file: path.basename(fileOf(b)), maxAbsDiff: worst, pass: worst < PARITY_THRESHOLD });
    max = Math.max(max, worst);
  }
  return {
    maxAbsDiff: max,
    meanAbsDiff: mean,
    threshold: PARITY_THRESHOLD,
    pass: max < PARITY_THRESHOLD,
    batch,
    seed,
    files,
    ...(sizes.length ? { sizes } : {}),
    ...(dropout === 'keep' ? { note: 'Dropout is kept at inference (random); parity was measured with dropout as identity.' } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Files

export interface ExportResult {
  file: string;
  sidecar: string;
  files: string[];
  bytes: number;
  parity: ParityReport;
  pass: boolean;
  inputs: IoInfo[];
  outputs: IoInfo[];
  message: string;
}

/** Derived file names: model.onnx -> model.json, model.encoder.onnx, model.decoder.onnx. */
export function exportPaths(file: string): { base: string; sidecar: string; encoder: string; decoder: string } {
  const base = file.toLowerCase().endsWith('.onnx') ? file.slice(0, -5) : file;
  return { base, sidecar: `${base}.json`, encoder: `${base}.encoder.onnx`, decoder: `${base}.decoder.onnx` };
}

/** Is this existing file one an export wrote (our sidecar format, or an ONNX model we produced)? */
async function writtenByExport(file: string, kind: 'sidecar' | 'onnx'): Promise<boolean> {
  try {
    const bytes = await fsp.readFile(file);
    if (kind === 'sidecar') return (JSON.parse(bytes.toString('utf8')) as { format?: unknown }).format === 'atelier-onnx';
    return decodeModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).producerName === PRODUCER;
  } catch {
    return false; // unreadable, not JSON, not ONNX: not ours
  }
}

/**
 * An export replaces only files an export created: pointed at `package.onnx`, it must not
 * overwrite a foreign `package.json` (nor a foreign .onnx). Throws CONFLICT naming the file.
 */
export async function assertExportTargetsReplaceable(file: string): Promise<void> {
  const p = exportPaths(file);
  const targets: [string, 'sidecar' | 'onnx'][] = [[file, 'onnx'], [p.encoder, 'onnx'], [p.decoder, 'onnx'], [p.sidecar, 'sidecar']];
  for (const [t, kind] of targets) {
    let exists = true;
    try {
      await fsp.lstat(t);
    } catch {
      exists = false;
    }
    if (exists && !(await writtenByExport(t, kind))) {
      throw new StudioError('CONFLICT', `${t} already exists and was not written by an Atelier export; the export will not replace it.`, {
        hint: 'Choose another file name for the export, or move that file away first.',
      });
    }
  }
}

/**
 * Write <file> (+ encoder/decoder for autoencoders) and the sidecar JSON, atomically, after the
 * parity check. A failed parity still writes the files (for diagnosis) but the result and the
 * sidecar say `pass: false`, and `message` tells the user.
 */
export async function exportOnnx(src: ExportSource, file: string, opts: { onStep?: (step: number, total: number, message: string) => void; parityBatch?: number } = {}): Promise<ExportResult> {
  const step = opts.onStep ?? (() => undefined);
  const total = 4;
  await assertExportTargetsReplaceable(file);
  step(0, total, 'converting layers');
  const builds = buildOnnx(src);
  const p = exportPaths(file);
  const fileOf = (b: BuiltOnnx) => (b.role === 'model' ? file : b.role === 'encoder' ? p.encoder : p.decoder);
  step(1, total, 'checking parity with onnxruntime');
  const parity = await checkParity(builds, src, fileOf, { batch: opts.parityBatch });
  step(2, total, 'writing files');
  for (const b of builds) await writeFileAtomic(fileOf(b), b.bytes);
  const main = builds.find((b) => b.role === 'model')!;
  const sidecar: OnnxSidecar = {
    format: 'atelier-onnx',
    version: 1,
    file: path.basename(file),
    name: src.name,
    kind: src.kind,
    ...(src.capabilities ? { capabilities: src.capabilities } : {}),
    opset: ONNX_OPSET,
    layout: 'NCHW',
    imageSize: src.imageSize,
    channels: src.channels,
    ...(src.inChannels !== undefined ? { inChannels: src.inChannels } : {}),
    pixelRange: [-1, 1],
    pixelFormat: pixelFormat(src.channels),
    inputs: main.inputs,
    outputs: main.outputs,
    ...(src.latentSize !== undefined ? { latentSize: src.latentSize } : {}),
    ...(src.classNames ? { classNames: src.classNames } : {}),
    dropout: src.dropout ?? 'identity',
    ...(src.training ? { training: src.training } : {}),
    ...(builds.length > 1 ? { encoderFile: path.basename(p.encoder), decoderFile: path.basename(p.decoder) } : {}),
    exportedAt: new Date().toISOString(),
    parity,
    layerClasses: main.layerClasses,
  };
  await writeJsonAtomic(p.sidecar, sidecar);
  step(total, total, parity.pass ? 'done' : 'parity failed');
  const fig = parity.maxAbsDiff.toExponential(2);
  return {
    file,
    sidecar: p.sidecar,
    files: builds.map(fileOf),
    bytes: builds.reduce((a, b) => a + b.bytes.length, 0),
    parity,
    pass: parity.pass,
    inputs: main.inputs,
    outputs: main.outputs,
    message: parity.pass
      ? `Exported ${path.basename(file)}: onnxruntime matches tfjs (max |diff| ${fig} < ${PARITY_THRESHOLD}).`
      : `Export FAILED the parity check: onnxruntime differs from tfjs by up to ${fig} (limit ${PARITY_THRESHOLD}). Do not use this file; report the model.`,
  };
}
