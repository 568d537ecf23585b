/**
 * The provenance record of an image Atelier writes: which weights (bundle id + sha256 of the
 * bytes the runtime loaded, checkpoint step), which runtime, what input and settings. The model
 * part is hashed once per loaded model (a 220 MB colouriser is hashed once, not per image).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Provenance } from '../../../shared/provenance';
import { appVersion } from '../core/doctor';
import { tf } from '../backend';
import { sampleZ } from './latent';
import type { InferenceModel } from './model';
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
    kind: m.info.kind as ModelFacts['kind'],
    weightsSha256,
    ...(Number.isInteger(step) && (step as number) >= 0 ? { step: step as number } : {}),
    runtime: m.runtime,
    backend: m.runtime === 'onnx' ? 'onnxruntime-node cpu' : `tfjs ${tf.getBackend()}`,
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

function base(): Pick<Provenance, 'format' | 'version' | 'app' | 'createdAt'> {
  return { format: 'atelier-provenance', version: 1, app: { name: 'atelier', version: appVersion() }, createdAt: new Date().toISOString() };
}

/** A translated image's PNG with its provenance (input named by its base name only; bytes input is "image"). */
export async function stampTranslate(m: InferenceModel, src: string | Uint8Array, r: TranslateOutcome): Promise<Uint8Array> {
  const inputSha = typeof src === 'string' ? await sha256File(src) : createHash('sha256').update(src).digest('hex');
  const name = typeof src === 'string' ? path.basename(src).slice(0, 255) : 'image';
  const prov: Provenance = {
    ...base(),
    op: 'translate',
    model: await modelFacts(m),
    input: { name, sha256: inputSha, width: r.inputWidth, height: r.inputHeight },
    width: r.width,
    height: r.height,
    scale: r.scale,
    tiles: r.tiles,
    ...(r.tileSize !== undefined ? { tileSize: r.tileSize } : {}),
    ...(r.overlap !== undefined ? { overlap: r.overlap } : {}),
  };
  return addProvenance(r.png, prov);
}

/** A generated image's PNG with its seed, latent vector (z = sampleZ(seed)) and class. */
export async function stampGenerate(m: InferenceModel, img: { png: Uint8Array; width: number; height: number; seed: number }, label?: number): Promise<Uint8Array> {
  const L = m.info.latentSize;
  const className = label !== undefined ? m.info.classNames?.[label] : undefined;
  const prov: Provenance = {
    ...base(),
    op: 'generate',
    model: await modelFacts(m),
    width: img.width,
    height: img.height,
    seed: img.seed,
    ...(L ? { latent: Array.from(sampleZ(img.seed, 1, L)) } : {}),
    ...(label !== undefined ? { label } : {}),
    ...(className !== undefined ? { className: className.slice(0, 200) } : {}),
  };
  return addProvenance(img.png, prov);
}
