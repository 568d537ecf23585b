/**
 * A generator ready for inference, on one of two runtimes:
 *   onnx (default): onnxruntime-node sessions on the exported file (or on an in-memory export of
 *                   the tfjs model when the bundle has no ONNX file yet);
 *   tfjs:           model.predict on the tfjs LayersModels.
 * Everything crosses this class as NCHW float32 in [-1, 1] (images) and [n, latent] (z), so
 * callers do not care which runtime runs.
 */
import fsp from 'node:fs/promises';
import type * as tfTypes from '@tensorflow/tfjs';
import { StudioError } from '../../../shared/errors';
import { tf } from '../backend';
import { buildOnnx, disposeSource, exportPaths, ioOf, parityInputs, type ExportSource, type IoInfo, type ModelKind, type OnnxSidecar } from '../export/onnx-export';
import { decodeModel } from '../export/onnx-proto';
import { labelClasses, softLabelVariant, withFeatureOutput } from '../export/onnx-transform';
import { dynamicSpatialBytes, type SpatialGeometry } from '../export/onnx-geometry';
import { defaultInputNames } from '../export/tfjs-to-onnx';
import { createSession, floatTensor, int64Tensor, type OrtSession, type OrtTensor } from '../export/ort';
import { gatedSession, resolveEp, type EpReport } from '../export/providers';
import { exists } from '../core/fsutil';
import { deriveCapabilities } from '../models/registry';
import type { ModelCapabilities } from '../../../shared/capabilities';

export type Runtime = 'onnx' | 'tfjs';
export type Role = 'model' | 'encoder' | 'decoder';

export interface ModelInfo {
  name: string;
  /** The registry kind (a label; behaviour follows `capabilities`). */
  kind: ModelKind;
  capabilities: ModelCapabilities;
  imageSize: number;
  /** Output channels. */
  channels: number;
  /** Input image channels (translators; = channels unless they differ). */
  inChannels: number;
  latentSize?: number;
  classNames?: string[];
  numClasses?: number;
  inputs: IoInfo[];
  /** Where the weights come from: the ONNX file, or the tfjs bundle. */
  source: string;
  /**
   * Translators: the stride the input must be a multiple of, whether it runs at other sizes
   * (fixedReason null) and activation bytes per pixel (the tiling budget). Absent for generators.
   */
  geometry?: SpatialGeometry;
}

export interface GenerateInput {
  /** [n, latent] row-major. */
  z: Float32Array;
  n: number;
  /** Class index per sample (cgan). */
  labels?: number[];
  /** Class weights per sample [n, classes] (cgan blending). */
  labelWeights?: Float32Array;
}

/** A translator network (image -> image in one graph, a bottleneck to read features from). */
export function isTranslator(caps: ModelCapabilities): boolean {
  return !!caps.translate;
}

/**
 * Capabilities of an export or a tfjs source: stored (sidecar, metadata, source), else derived
 * from its kind, else read off its graph inputs (label: conditional generator; z: generator;
 * otherwise an image translator).
 */
export function capabilitiesOf(
  stored: ModelCapabilities | undefined,
  kind: string | undefined,
  g: { inputs: IoInfo[]; latentSize?: number; classNames?: string[]; numClasses?: number; encoder?: boolean },
): ModelCapabilities {
  if (stored) return stored;
  const classes = g.numClasses ?? g.classNames?.length;
  const known = kind ? deriveCapabilities(kind, { nz: g.latentSize, latent: g.latentSize, numClasses: classes }, classes ? { count: classes, ...(g.classNames ? { names: g.classNames } : {}) } : undefined) : null;
  if (known) return known;
  const none = { suite: 'generated', key: { name: 'fdFashionCnn', higherIsBetter: false } } as const;
  const latent = g.latentSize ?? 0;
  if (g.encoder) {
    return { data: 'images', encode: { latent, encoder: 'encoder', decoder: 'decoder' }, generate: { latent, network: 'decoder' }, metrics: { suite: 'reconstruction', key: { name: 'reconMse', higherIsBetter: false } } };
  }
  if (g.inputs.some((i) => i.name === 'z')) {
    const labelled = g.inputs.some((i) => i.name === 'label');
    return {
      data: labelled ? 'labelled' : 'images',
      generate: { latent, network: 'model', ...(labelled ? { classes: { count: classes ?? 0, ...(g.classNames ? { names: g.classNames } : {}) } } : {}) },
      metrics: labelled ? { suite: 'generated', key: { name: 'conditionalAccuracy', higherIsBetter: true } } : none,
    };
  }
  return { data: 'paired', translate: { AtoB: 'model' }, metrics: { suite: 'paired', key: { name: 'l1', higherIsBetter: false } } };
}

export class InferenceModel {
  private sessions = new Map<string, Promise<OrtSession>>();
  private bytes = new Map<Role, Uint8Array>();
  /** A translator's unchanged ONNX file: its session loads from the path (onnxruntime reads it itself; no JS copy kept). */
  private modelFile?: string;
  featureNode?: string;

  private constructor(
    readonly info: ModelInfo,
    readonly runtime: Runtime,
    private readonly src: ExportSource | null,
    /** Dispose the tfjs models with this object (they were loaded for it). */
    private readonly ownsSource = false,
  ) {}

  /** From an exported .onnx file (+ its sidecar JSON, or the file's metadata). */
  static async fromOnnxFile(file: string): Promise<InferenceModel> {
    if (!(await exists(file))) throw new StudioError('NOT_FOUND', `No ONNX file at ${file}.`);
    // The file's own buffer, not a copy: a 256 px colouriser is ~220 MB of weights.
    const buf = await fsp.readFile(file);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const p = exportPaths(file);
    let side: Partial<OnnxSidecar> = {};
    if (await exists(p.sidecar)) side = JSON.parse(await fsp.readFile(p.sidecar, 'utf8')) as OnnxSidecar;
    const decoded = decodeModel(bytes);
    const md = decoded.metadata;
    const inputs = ioOf(decoded.graph.inputs);
    const classNames = side.classNames ?? (md['atelier.classNames'] ? (JSON.parse(md['atelier.classNames']) as string[]) : undefined);
    const storedCaps = side.capabilities ?? (md['atelier.capabilities'] ? (JSON.parse(md['atelier.capabilities']) as ModelCapabilities) : undefined);
    const info: ModelInfo = {
      name: side.name ?? md['atelier.name'] ?? file,
      kind: side.kind ?? md['atelier.kind'] ?? 'onnx',
      // set below, once the encoder/decoder files and the class count are known
      capabilities: undefined as unknown as ModelCapabilities,
      imageSize: side.imageSize ?? Number(md['atelier.imageSize'] ?? decoded.graph.outputs[0]?.shape?.[3] ?? 0),
      channels: side.channels ?? Number(md['atelier.channels'] ?? decoded.graph.outputs[0]?.shape?.[1] ?? 3),
      inChannels: side.inChannels ?? Number(md['atelier.inChannels'] ?? side.channels ?? md['atelier.channels'] ?? 3),
      latentSize: side.latentSize ?? (md['atelier.latentSize'] ? Number(md['atelier.latentSize']) : latentOf(inputs)),
      ...(classNames ? { classNames } : {}),
      inputs,
      source: file,
    };
    const m = new InferenceModel(info, 'onnx', null);
    m.bytes.set('model', bytes);
    const hasEncoder = (await exists(p.encoder)) && (await exists(p.decoder));
    info.numClasses = numClassesOf(bytes, info);
    info.capabilities = capabilitiesOf(storedCaps, side.kind ?? md['atelier.kind'], { inputs, ...pick(info), encoder: hasEncoder });
    if (isTranslator(info.capabilities)) {
      // Files exported before dynamic height/width: the same graph with its dims declared
      // dynamic (derived in memory, the file is not touched) when nothing in it fixes the size.
      const d = dynamicSpatialBytes(bytes);
      info.geometry = d.geometry;
      if (d.bytes === bytes) {
        // Nothing derived: onnxruntime loads the file (for a 220 MB colouriser this saves the
        // bytes held here and a copy into the native side).
        m.bytes.delete('model');
        m.modelFile = file;
      } else m.bytes.set('model', d.bytes);
    } else if (info.capabilities.encode) info.geometry = dynamicSpatialBytes(bytes).geometry;
    if (await exists(p.encoder)) m.bytes.set('encoder', new Uint8Array(await fsp.readFile(p.encoder)));
    if (await exists(p.decoder)) m.bytes.set('decoder', new Uint8Array(await fsp.readFile(p.decoder)));
    if (!info.latentSize && m.bytes.has('decoder')) info.latentSize = latentOf(ioOf(decodeModel(m.bytes.get('decoder')!).graph.inputs));
    // The latent size may only now be known (from the decoder file): derive again unless stored.
    info.capabilities = capabilitiesOf(storedCaps, side.kind ?? md['atelier.kind'], { inputs, ...pick(info), encoder: hasEncoder });
    return m;
  }

  /**
   * From tfjs models in memory; 'onnx' converts them in memory (no file written). `own`: the
   * tfjs models are disposed with this object (the onnx runtime disposes them at once: the
   * converted bytes are all it needs).
   */
  static fromSource(src: ExportSource, runtime: Runtime = 'onnx', source = src.name, own = false): InferenceModel {
    const main = src.generator ?? src.encoder!;
    const info: ModelInfo = {
      name: src.name,
      kind: src.kind,
      capabilities: undefined as unknown as ModelCapabilities,
      imageSize: src.imageSize,
      channels: src.channels,
      inChannels: src.inChannels ?? src.channels,
      ...(src.latentSize !== undefined ? { latentSize: src.latentSize } : {}),
      ...(src.classNames ? { classNames: src.classNames } : {}),
      inputs: [],
      source,
    };
    const m = new InferenceModel(info, runtime, src, own);
    // Preliminary (graph inputs as the exporter names them); final below once sizes are known.
    const guessInputs = defaultInputNames(main).map((name) => ({ name, dtype: name === 'label' ? ('int64' as const) : ('float32' as const), shape: [] as (number | string)[] }));
    info.capabilities = capabilitiesOf(src.capabilities, src.kind, { inputs: guessInputs, ...pick(info), encoder: !!(src.encoder && src.decoder) });
    try {
      const built = buildOnnx(src);
      for (const b of built) m.bytes.set(b.role, b.bytes);
      info.inputs = built.find((b) => b.role === 'model')!.inputs;
      if (isTranslator(info.capabilities) || info.capabilities.encode) info.geometry = dynamicSpatialBytes(m.bytes.get('model')!).geometry;
    } catch (e) {
      // The tfjs runtime does not need the ONNX graph (only class blending does).
      if (runtime !== 'tfjs') {
        if (own) disposeSource(src);
        throw e;
      }
      if (isTranslator(info.capabilities)) info.geometry = tfjsGeometry(main, src.imageSize);
      info.inputs = defaultInputNames(main).map((name, i) => ({
        name,
        dtype: name === 'label' ? 'int64' : 'float32',
        shape: main.inputs[i]!.shape.map((d, j) => (j === 0 ? 'batch' : (d ?? '?'))),
      }));
    }
    if (!info.latentSize) {
      if (src.decoder) info.latentSize = (src.decoder.inputs[0]!.shape[1] as number) ?? undefined;
      else if (src.generator && main.inputs[0]!.shape.length === 2) info.latentSize = main.inputs[0]!.shape[1] as number;
    }
    info.numClasses = numClassesOf(m.bytes.get('model'), info);
    info.capabilities = capabilitiesOf(src.capabilities, src.kind, { inputs: info.inputs, ...pick(info), encoder: !!(src.encoder && src.decoder) });
    if (own && runtime === 'onnx') disposeSource(src);
    return m;
  }

  get hasLabels(): boolean {
    return this.info.inputs.some((i) => i.name === 'label');
  }

  /** The execution provider of the main session and its parity figure (providers.ts), once it exists. */
  epReport: EpReport | null = null;

  /**
   * The main graph's first session runs the parity gate for a GPU provider (the model's own fixed
   * test input, as the export parity check makes it); later sessions of this model follow its verdict.
   */
  private async openSession(key: string, bytes: Uint8Array | string): Promise<OrtSession> {
    const ep = this.epReport ? this.epReport.used : await resolveEp();
    if (ep === 'cpu') return createSession(bytes);
    // Other graphs of this model (encoder, soft labels) use a GPU provider only once the main graph passed the gate.
    if (key !== 'model') return this.epReport ? createSession(bytes, { ep }) : createSession(bytes);
    const size = this.info.imageSize;
    const fixed = parityInputs(this.info.inputs, 1, 1234, this.info.numClasses ?? 10, [size, size]);
    const feeds: Record<string, OrtTensor> = {};
    for (const [name, f] of fixed) feeds[name] = f.dtype === 'int64' ? int64Tensor(f.data, f.dims) : floatTensor(f.data as Float32Array, f.dims);
    const { session, report } = await gatedSession(bytes, ep, feeds);
    this.epReport = report;
    return session;
  }

  private session(key: string, make: () => Uint8Array | string): Promise<OrtSession> {
    let s = this.sessions.get(key);
    if (!s) {
      s = this.openSession(key, make());
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  private roleBytes(role: Role): Uint8Array {
    const b = this.bytes.get(role);
    if (!b) throw new StudioError('BAD_INPUT', `Model "${this.info.name}" has no ${role} network (kind ${this.info.kind}).`);
    return b;
  }

  /** Warm the sessions (first run pays for graph optimisation). */
  async warm(): Promise<void> {
    if (this.runtime !== 'onnx') return;
    await this.session('model', () => this.modelFile ?? this.roleBytes('model'));
  }

  private async runOrt(key: string, make: () => Uint8Array | string, feeds: Record<string, OrtTensor>, output = 'output'): Promise<{ data: Float32Array; dims: readonly number[]; all: Record<string, OrtTensor> }> {
    const s = await this.session(key, make);
    // Feed only what this graph takes (a features-only graph may not use every input).
    const used: Record<string, OrtTensor> = {};
    for (const n of s.inputNames) if (feeds[n]) used[n] = feeds[n];
    const res = await s.run(used);
    const t = res[output]!;
    return { data: t.data as Float32Array, dims: t.dims, all: res };
  }

  /**
   * The tfjs networks on the current backend. The result is read asynchronously: a GPU backend
   * (webgpu) cannot read synchronously in Node.
   */
  private async tfjsRun(stages: tfTypes.LayersModel[], feeds: { data: Float32Array | number[]; dims: number[]; int?: boolean }[]): Promise<Float32Array> {
    const out = tf.tidy(() => {
      let xs: tfTypes.Tensor[] = feeds.map((f, i) => {
        const sym = stages[0]!.inputs[i]!;
        if (f.int) return tf.tensor(Array.from(f.data), sym.shape.length === 2 ? [f.dims[0]!, 1] : [f.dims[0]!], sym.dtype === 'int32' ? 'int32' : 'float32');
        const t = tf.tensor(f.data as Float32Array, f.dims, 'float32');
        return t.rank === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t;
      });
      for (const m of stages) {
        // predict() insists on the declared input shape; apply() runs a fully convolutional
        // network at any size (inference mode: dropout off, batch norm on moving statistics).
        const declared = m.inputs[0]!.shape;
        const same = xs.length > 1 || xs[0]!.shape.every((d, i) => i === 0 || declared[i] == null || declared[i] === d);
        const y = same ? m.predict(xs.length === 1 ? xs[0]! : xs, { batchSize: 64 }) : m.apply(xs[0]!, { training: false });
        xs = Array.isArray(y) ? (y as tfTypes.Tensor[]) : [y as tfTypes.Tensor];
      }
      const y = xs[0]!;
      return y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y;
    });
    try {
      return Float32Array.from((await out.data()) as Float32Array);
    } finally {
      out.dispose();
    }
  }

  private imageDims(n: number, channels = this.info.channels, h = this.info.imageSize, w = h): number[] {
    return [n, channels, h, w];
  }

  /**
   * Translators: images [n, C, H, W] -> [n, C', H, W] (H, W default the training size; other
   * sizes must be multiples of geometry.stride). Autoencoders: reconstruction at their size.
   */
  async translate(x: Float32Array, n: number, h = this.info.imageSize, w = h): Promise<Float32Array> {
    const dims = this.imageDims(n, this.info.inChannels, h, w);
    if (this.runtime === 'tfjs') {
      const stages = this.src!.generator ? [this.src!.generator] : [this.src!.encoder!, this.src!.decoder!];
      return this.tfjsRun(stages, [{ data: x, dims }]);
    }
    return (await this.runOrt('model', () => this.modelFile ?? this.roleBytes('model'), { input: floatTensor(x, dims) })).data;
  }

  /** gan / cgan: z (+ labels or label weights) -> images. */
  async generate(g: GenerateInput): Promise<Float32Array> {
    const latent = this.info.latentSize ?? g.z.length / g.n;
    if (g.labelWeights) {
      if (!this.hasLabels) throw new StudioError('BAD_INPUT', `Model "${this.info.name}" is not conditional: it takes no class.`);
      // Class blending always runs the soft-label ONNX variant (tfjs has no such graph).
      const classes = this.info.numClasses!;
      return (
        await this.runOrt('soft', () => softLabelVariant(this.roleBytes('model')).bytes, {
          z: floatTensor(g.z, [g.n, latent]),
          label: floatTensor(g.labelWeights, [g.n, classes]),
        })
      ).data;
    }
    if (this.info.capabilities.encode) return this.decode(g.z, g.n);
    const labels = this.hasLabels ? (g.labels ?? new Array(g.n).fill(0)) : undefined;
    if (labels && this.info.numClasses) {
      for (const l of labels) {
        if (!Number.isInteger(l) || l < 0 || l >= this.info.numClasses) {
          throw new StudioError('BAD_INPUT', `Class ${l} does not exist: the model has classes 0..${this.info.numClasses - 1}${this.info.classNames ? ` (${this.info.classNames.join(', ')})` : ''}.`);
        }
      }
    }
    if (this.runtime === 'tfjs') {
      return this.tfjsRun([this.src!.generator!], labels ? [{ data: g.z, dims: [g.n, latent] }, { data: labels, dims: [g.n], int: true }] : [{ data: g.z, dims: [g.n, latent] }]);
    }
    const feeds: Record<string, OrtTensor> = { z: floatTensor(g.z, [g.n, latent]) };
    if (labels) feeds.label = int64Tensor(labels, [g.n]);
    return (await this.runOrt('model', () => this.roleBytes('model'), feeds)).data;
  }

  /** Autoencoder: images -> z [n, latent]. */
  async encode(x: Float32Array, n: number): Promise<Float32Array> {
    if (this.runtime === 'tfjs' && this.src?.encoder) return this.tfjsRun([this.src.encoder], [{ data: x, dims: this.imageDims(n) }]);
    return (await this.runOrt('encoder', () => this.roleBytes('encoder'), { input: floatTensor(x, this.imageDims(n)) }, 'z')).data;
  }

  /** Autoencoder: z -> images. */
  async decode(z: Float32Array, n: number): Promise<Float32Array> {
    const latent = this.info.latentSize ?? z.length / n;
    if (this.runtime === 'tfjs' && this.src?.decoder) return this.tfjsRun([this.src.decoder], [{ data: z, dims: [n, latent] }]);
    return (await this.runOrt('decoder', () => this.roleBytes('decoder'), { z: floatTensor(z, [n, latent]) })).data;
  }

  /**
   * An intermediate activation (flattened per sample) for GANSpace-style directions, plus the
   * output. Runs the ONNX graph with an extra `features` output.
   */
  async features(g: GenerateInput): Promise<{ features: Float32Array; perSample: number } | null> {
    const role: Role = this.info.capabilities.encode ? 'decoder' : 'model';
    let made: { bytes: Uint8Array; node: string } | null = null;
    const key = `features:${role}`;
    if (!this.sessions.has(key)) {
      made = withFeatureOutput(this.roleBytes(role));
      if (!made) return null;
      this.featureNode = made.node;
    }
    const latent = this.info.latentSize ?? g.z.length / g.n;
    const feeds: Record<string, OrtTensor> = { z: floatTensor(g.z, [g.n, latent]) };
    if (role === 'model' && this.hasLabels) feeds.label = int64Tensor(g.labels ?? new Array(g.n).fill(0), [g.n]);
    const r = await this.runOrt(key, () => made!.bytes, feeds, 'features');
    return { features: Float32Array.from(r.data), perSample: r.data.length / g.n };
  }

  async dispose(): Promise<void> {
    if (this.ownsSource && this.runtime === 'tfjs' && this.src) disposeSource(this.src);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) {
      try {
        await (await s).release();
      } catch {
        // a failed session has nothing to release
      }
    }
  }
}

function pick(info: ModelInfo): { latentSize?: number; classNames?: string[]; numClasses?: number } {
  return {
    ...(info.latentSize !== undefined ? { latentSize: info.latentSize } : {}),
    ...(info.classNames ? { classNames: info.classNames } : {}),
    ...(info.numClasses !== undefined ? { numClasses: info.numClasses } : {}),
  };
}

function latentOf(inputs: IoInfo[]): number | undefined {
  const z = inputs.find((i) => i.name === 'z');
  const d = z?.shape[1];
  return typeof d === 'number' ? d : undefined;
}

function numClassesOf(modelBytes: Uint8Array | undefined, info: ModelInfo): number | undefined {
  if (!info.inputs.some((i) => i.name === 'label')) return undefined;
  // The embedding table decides (class names are for display).
  try {
    return labelClasses(modelBytes!);
  } catch {
    return info.classNames?.length || undefined;
  }
}

/** The geometry of a tfjs generator when no ONNX graph could be built (the tfjs runtime only). */
export function tfjsGeometry(model: tfTypes.LayersModel, size: number): SpatialGeometry {
  let stride = 1;
  let bad: string | null = null;
  let elems = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as { strides?: number | number[]; poolSize?: number | number[] };
    if (cls === 'Conv2D' || cls === 'MaxPooling2D' || cls === 'AveragePooling2D') {
      const s = cfg.strides ?? cfg.poolSize ?? 1;
      stride *= Math.max(...(Array.isArray(s) ? s : [s]));
    }
    if (/Reshape|Flatten|Dense|Global|Embedding/.test(cls) && !bad) bad = cls;
    const out = layer.output;
    const shape: (number | null)[] = (Array.isArray(out) ? out[0]?.shape : out?.shape) ?? [];
    elems += shape.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
  }
  return {
    stride,
    declared: { height: size, width: size },
    fixedReason: bad ? `its network contains ${bad}, which fixes the spatial size` : null,
    bytesPerPixel: Math.ceil((elems * 4) / (size * size)),
  };
}
