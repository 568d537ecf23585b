/**
 * The provenance record of an image Atelier writes: which weights (bundle id + sha256 of the
 * bytes the runtime loaded, checkpoint step), which runtime, what input and settings. The model
 * part is hashed once per loaded model (a 220 MB colouriser is hashed once, not per image).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { PROVENANCE_MAX_BYTES, provenanceBundleId, type Provenance } from '../../../shared/provenance';
import { appVersion } from '../core/doctor';
import { SESSION_PROVIDERS } from '../export/ort';
import { tf } from '../backend';
import { sampleZ } from './latent';
import { InferenceModel } from './model';
import type { TranslateOutcome } from './ops';
import { addProvenance } from './png-provenance';

type ModelFacts = Provenance['model'];

async function hashFile(file: string, h = createHash('sha256')): Promise<ReturnType<typeof createHash>> {
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h;
}

export async function sha256File(file: string): Promise<string> {
  return (await hashFile(file)).digest('hex');
}

/** A bundle folder's weights: every file under networks/, by relative name then bytes, in name order. */
async function hashBundleWeights(dir: string): Promise<string> {
  const h = createHash('sha256');
  const root = path.join(dir, 'networks');
  const files = (await fsp.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []))
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
  for (const f of files) {
    h.update(`${f.split(path.sep).join('/')}\0`);
    await hashFile(path.join(root, f), h);
  }
  return h.digest('hex');
}

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Ids are written through the schema's bundle-id rule, so a strange folder name cannot become a path. */
function cleanId(s: string): string {
  const id = s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128);
  return /^\.*$/.test(id) ? 'model' : id;
}

const facts = new WeakMap<InferenceModel, Promise<ModelFacts>>();

async function computeFacts(m: InferenceModel): Promise<ModelFacts> {
  const src = m.info.source;
  const st = await fsp.stat(src).catch(() => null);
  let id = cleanId(path.basename(src, '.onnx'));
  let step: unknown;
  let weightsSha256: string;
  if (st?.isFile()) {
    // An exported ONNX file: its sidecar names the bundle and the training run.
    weightsSha256 = await sha256File(src);
    const training = (await readJson(src.replace(/\.onnx$/i, '.json')))?.training as Record<string, unknown> | undefined;
    if (typeof training?.bundleId === 'string') id = cleanId(training.bundleId);
    step = training?.steps;
  } else if (st?.isDirectory()) {
    weightsSha256 = await hashBundleWeights(src);
    const meta = await readJson(path.join(src, 'bundle.json'));
    if (typeof meta?.id === 'string') id = cleanId(meta.id);
    step = (meta?.training as Record<string, unknown> | undefined)?.steps;
  } else {
    // In-memory weights with no file behind them (tests): hash the name so the field stays a hash.
    weightsSha256 = createHash('sha256').update(`unsaved:${m.info.name}`).digest('hex');
  }
  return {
    id,
    name: m.info.name.slice(0, 200),
    kind: m.info.kind,
    weightsSha256,
    ...(Number.isInteger(step) && (step as number) >= 0 ? { step: step as number } : {}),
    runtime: m.runtime,
    backend: backendOf(m.runtime),
  };
}

export function modelFacts(m: InferenceModel): Promise<ModelFacts> {
  let p = facts.get(m);
  if (!p) {
    p = computeFacts(m);
    facts.set(m, p);
    p.catch(() => facts.delete(m));
  }
  return p;
}

/** The settings part of a record: everything but the envelope, the model facts and the size. */
export type ProvenanceSettings = Omit<Provenance, 'format' | 'version' | 'app' | 'createdAt' | 'model' | 'width' | 'height'>;

/** Floats as float32 prints them back (9 significant digits): the same Float32Array, a third of the text. */
function f32(v: number[]): number[] {
  return v.map((x) => Number(Math.fround(x).toPrecision(9)));
}

/**
 * Fit the record in the chunk: vectors go first (the rendered latent, raw dimensions, class
 * weights, vector end points), since the seed and sliders still reproduce the image.
 */
function fit(p: Provenance): Provenance {
  const size = (x: Provenance) => new TextEncoder().encode(JSON.stringify(x)).length + 16;
  if (size(p) <= PROVENANCE_MAX_BYTES) return p;
  const { latent: _l, ...rest } = p;
  let q: Provenance = rest;
  if (size(q) <= PROVENANCE_MAX_BYTES) return q;
  if (q.sliders) {
    const { dims: _d, labelWeights: _w, ...sl } = q.sliders;
    q = { ...q, sliders: sl };
  }
  if (size(q) <= PROVENANCE_MAX_BYTES) return q;
  const { interpolation: _i, ...noPath } = q;
  return noPath;
}

/** What ran the model: the execution providers of its onnxruntime sessions, or the tfjs backend. */
export function backendOf(runtime: 'onnx' | 'tfjs', m?: InferenceModel): string {
  return runtime === 'onnx' ? `onnxruntime-node ${m?.epReport?.used ?? SESSION_PROVIDERS.join('+')}` : `tfjs ${tf.getBackend()}`;
}

/**
 * THE stamping function: every PNG the studio writes or returns goes through here. `source` is
 * the loaded model (its facts are hashed once) or, for in-training sample grids, facts the
 * caller states. `ref` is the bundle id the request named: the id a drop on a page selects again.
 */
export async function stamp(
  source: InferenceModel | Provenance['model'],
  img: { png: Uint8Array; width: number; height: number },
  op: Provenance['op'],
  settings: ProvenanceSettings | Omit<ProvenanceSettings, 'op'> = {},
  ref?: string,
): Promise<Uint8Array> {
  // The backend is read at stamp time: a GPU provider is chosen (or refused) at the first session.
  let model = source instanceof InferenceModel ? { ...(await modelFacts(source)), backend: backendOf(source.runtime, source) } : source;
  if (ref && provenanceBundleId.safeParse(ref).success && !/[/\\]/.test(ref) && !ref.toLowerCase().endsWith('.onnx')) model = { ...model, id: ref };
  const s = settings as ProvenanceSettings;
  const prov: Provenance = {
    format: 'atelier-provenance',
    version: 1,
    app: { name: 'atelier', version: appVersion() },
    ...s,
    op,
    model,
    width: img.width,
    height: img.height,
    ...(s.latent ? { latent: f32(s.latent) } : {}),
    createdAt: new Date().toISOString(),
  };
  return addProvenance(img.png, fit(prov));
}

/** A translated image's PNG with its provenance (input named by its base name only; bytes input is "image"). */
export async function stampTranslate(
  m: InferenceModel,
  src: string | Uint8Array,
  r: TranslateOutcome,
  extra: { ref?: string; direction?: 'AtoB' | 'BtoA'; fit?: Provenance['fit']; keepSize?: boolean; inputName?: string } = {},
): Promise<Uint8Array> {
  const inputSha = typeof src === 'string' ? await sha256File(src) : createHash('sha256').update(src).digest('hex');
  const name = (extra.inputName ?? (typeof src === 'string' ? path.basename(src) : 'image')).replace(/[/\\\0]/g, '_').slice(0, 255) || 'image';
  const withDirection = m.info.capabilities.translate && Object.keys(m.info.capabilities.translate).length > 1 && extra.direction;
  return stamp(
    withDirection ? { ...(await modelFacts(m)), backend: backendOf(m.runtime, m), direction: extra.direction! } : m,
    r,
    'translate',
    {
      input: { name: name === '.' || name === '..' ? 'image' : name, sha256: inputSha, width: r.inputWidth, height: r.inputHeight },
      scale: r.scale,
      tiles: r.tiles,
      ...(r.tileSize !== undefined ? { tileSize: r.tileSize } : {}),
      ...(r.overlap !== undefined ? { overlap: r.overlap } : {}),
      ...(r.scale === 'model' && extra.fit ? { fit: extra.fit } : {}),
      ...(r.scale === 'model' && extra.keepSize !== undefined ? { keepSize: extra.keepSize } : {}),
    },
    extra.ref,
  );
}

/** A generated image's PNG with its seed, latent vector (z = sampleZ(seed)) and class. */
export async function stampGenerate(m: InferenceModel, img: { png: Uint8Array; width: number; height: number; seed: number }, label?: number, ref?: string): Promise<Uint8Array> {
  const L = m.info.latentSize;
  const className = label !== undefined ? m.info.classNames?.[label] : undefined;
  return stamp(
    m,
    img,
    'generate',
    {
      seed: img.seed,
      ...(L ? { latent: Array.from(sampleZ(img.seed, 1, L)) } : {}),
      ...(label !== undefined ? { label } : {}),
      ...(className !== undefined ? { className: className.slice(0, 200) } : {}),
    },
    ref,
  );
}

/** A training sample grid (samples/step-N.png, timeline frames): drawn by in-memory weights, so no weights hash. */
export function stampSamples(img: { png: Uint8Array; width: number; height: number }, run: { runId: string; kind: string; step: number; name?: string }): Promise<Uint8Array> {
  const id = cleanId(run.runId);
  return stamp(
    { id, name: (run.name ?? run.runId).slice(0, 200), kind: run.kind, step: run.step, runtime: 'tfjs', backend: backendOf('tfjs') },
    img,
    'samples',
    { run: { id } },
  );
}
