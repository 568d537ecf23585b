/**
 * Drag back to restore: a dropped PNG's provenance (read and checked by the engine:
 * provenance.read) mapped to the settings of the page it was made on. Pure functions, so the
 * rules are tested without a page: what each op restores, and the sentence that says what cannot
 * be restored and why.
 */
import type { ProvenanceCheck } from '../../../shared/channels/provenance';
import type { Provenance } from '../../../shared/provenance';
import type { BundleView } from './bundles';

/** A keyframe end point the Latent page can rebuild: a seed or the vector itself. */
export type KeyPoint = { seed: number } | { z: number[] };

export interface LatentSettings {
  /** The seed of the base vector (for a vector restore: the page's seed field, not used for the render). */
  seed: number;
  /**
   * The rendered vector itself, when the image did not come from a seed alone: latent arithmetic,
   * a pasted vector, an interpolation frame. It already includes every slider move, so the page
   * renders it with the sliders at rest.
   */
  z?: number[];
  dirReq?: { count: number; samples: number; seed: number; space: 'features' | 'output'; label?: number };
  amounts?: number[];
  dims?: Record<number, number>;
  label?: number;
  blendTo?: number;
  blendT?: number;
  /** An interpolation frame or strip: its keyframes and path, which the page interpolates again. */
  interpolation?: { from: KeyPoint; to: KeyPoint; steps: number; mode: 'lerp' | 'slerp'; frame?: number };
}

export interface TranslateSettings {
  direction?: 'AtoB' | 'BtoA';
  runtime: 'onnx' | 'tfjs';
  scaleMode: 'native' | 'model' | 'long';
  longSide?: number;
  tile?: number;
  fit?: 'fill' | 'cover' | 'contain';
  input?: NonNullable<Provenance['input']>;
}

export type Restored<T> = { ok: true; bundleId: string; settings: T; note: string } | { ok: false; message: string };

const made = (p: Provenance) =>
  ({ translate: 'a translation (Translate page)', generate: 'a generated image', latent: 'a Latent page render', interpolate: 'an interpolation frame or strip', samples: 'a training sample grid' })[p.op];

/** The shared part: a record, a bundle that is here, and a note about changed weights. */
function common(
  check: ProvenanceCheck,
  bundles: BundleView[],
  fits: (b: BundleView) => boolean,
  page: string,
  opError: (p: Provenance) => string | null,
): { ok: false; message: string } | { ok: true; p: Provenance; bundle: BundleView; warn: string } {
  const p = check.provenance;
  if (!p) return { ok: false, message: 'This PNG carries no Atelier provenance (it was not made by Atelier, or an editor stripped its metadata): nothing to restore.' };
  const wrongOp = opError(p);
  if (wrongOp) return { ok: false, message: wrongOp };
  if (check.model && (check.model.state === 'missing' || check.model.state === 'unchecked')) return { ok: false, message: `Cannot restore ${made(p)}: ${check.model.message}` };
  const bundle = bundles.find((b) => b.id === p.model.id);
  if (!bundle) return { ok: false, message: `Cannot restore: the model "${p.model.id}" is not one the ${page} page can use here.` };
  if (!fits(bundle)) return { ok: false, message: `The model "${p.model.id}" does not work on the ${page} page.` };
  return { ok: true, p, bundle, warn: check.model?.state === 'changed' ? ` Warning: ${check.model.message}` : '' };
}

export function latentSettingsOf(check: ProvenanceCheck, bundles: BundleView[], fits: (b: BundleView) => boolean): Restored<LatentSettings> {
  const c = common(check, bundles, fits, 'Latent', (p) =>
    p.op === 'translate'
      ? `This PNG is ${made(p)}; the Latent page restores latent renders, generated images and interpolations. Drop it on the Translate page.`
      : p.op === 'samples'
        ? `This PNG is ${made(p)}: it was drawn from a training run's weights at one step, not from a saved model's latent space; open the run on the Train page.`
        : null,
  );
  if (!c.ok) return c;
  const { p, bundle } = c;
  if (p.op === 'interpolate') return interpolationSettings(p, bundle, c.warn);
  if (p.seed === undefined) {
    // Arithmetic (z - minus + plus) or a pasted vector: the chunk holds the vector that was rendered.
    if (!p.latent) return { ok: false, message: 'This render came from a latent vector without a seed, and its vector was left out of the chunk (too large to fit): it cannot be rebuilt.' };
    const settings: LatentSettings = { seed: 0, z: p.latent, ...classSettings(p) };
    return { ok: true, bundleId: bundle.id, settings, note: `Restored ${bundle.name} at the rendered latent vector (${p.latent.length} values: arithmetic or a pasted vector, sliders included)${classNote(p)}.${c.warn}` };
  }
  const sl = p.sliders;
  const { amounts, ...dirReq } = sl?.pca ?? { amounts: undefined };
  const settings: LatentSettings = {
    seed: p.seed,
    ...(sl?.pca ? { dirReq: dirReq as LatentSettings['dirReq'], amounts } : {}),
    ...(sl?.dims ? { dims: Object.fromEntries(sl.dims.map((d) => [d.index, d.value])) } : {}),
    ...classSettings(p),
  };
  const moved = (amounts?.filter((a) => a !== 0).length ?? 0) + (sl?.dims?.length ?? 0);
  const note = `Restored ${bundle.name}, seed ${p.seed}${moved ? `, ${moved} slider${moved > 1 ? 's' : ''}` : ''}${classNote(p)}.${c.warn}`;
  return { ok: true, bundleId: bundle.id, settings, note };
}

function classSettings(p: Provenance): Pick<LatentSettings, 'label' | 'blendTo' | 'blendT'> {
  const b = p.sliders?.blend;
  return b ? { label: b.a, blendTo: b.b, blendT: b.t } : p.label !== undefined ? { label: p.label } : {};
}

function classNote(p: Provenance): string {
  const b = p.sliders?.blend;
  return b ? `, class blend ${Math.round(b.t * 100)}%` : p.className ? `, class ${p.className}` : '';
}

/**
 * An interpolation frame or strip: the keyframes (seeds or vectors), steps and mode come back and
 * the page interpolates again; a frame also shows its own vector (the record's, or the path's
 * frame-th point), with the class blend at the frame's t. Keyframes that were images (an
 * autoencoder's encodings) are known only by their hash: the frame still restores from its vector.
 */
function interpolationSettings(p: Provenance, bundle: BundleView, warn: string): Restored<LatentSettings> {
  const path = p.interpolation;
  if (!path) return { ok: false, message: 'This interpolation image lost its path (keyframes, steps) when the chunk was trimmed to fit: it cannot be rebuilt.' };
  const frame = path.frame;
  const t = frame !== undefined ? frame / (path.steps - 1) : 0;
  const cls = path.blend ? { label: path.blend.a, blendTo: path.blend.b, blendT: t } : p.label !== undefined ? { label: p.label } : {};
  const point = (q: typeof path.from): KeyPoint | null => ('seed' in q ? { seed: q.seed } : 'z' in q ? { z: q.z } : null);
  const from = point(path.from);
  const to = point(path.to);
  const where = frame !== undefined ? `frame ${frame + 1} of ${path.steps}` : `the ${path.steps}-frame strip`;
  const blendNote = path.blend ? `, class blend ${Math.round(t * 100)}%` : p.className ? `, class ${p.className}` : '';
  const seed = 'seed' in path.from ? path.from.seed : 0;
  if (from && to) {
    const settings: LatentSettings = {
      seed,
      ...(frame !== undefined && p.latent ? { z: p.latent } : {}),
      ...cls,
      interpolation: { from, to, steps: path.steps, mode: path.mode, ...(frame !== undefined ? { frame } : {}) },
    };
    return { ok: true, bundleId: bundle.id, settings, note: `Restored ${bundle.name}: ${path.mode} interpolation, keyframes A and B, ${where}${blendNote}.${warn}` };
  }
  if (frame !== undefined && p.latent) {
    return {
      ok: true,
      bundleId: bundle.id,
      settings: { seed: 0, z: p.latent, ...cls },
      note: `Restored ${bundle.name} at ${where} (its latent vector). The keyframes were images, known here only by their hash: drop them on A and B again to rebuild the strip.${warn}`,
    };
  }
  return { ok: false, message: 'This interpolation ran between two images (an autoencoder\'s encodings), which the PNG names only by their hash: drop the two images on keyframes A and B to rebuild it.' };
}

export function translateSettingsOf(check: ProvenanceCheck, bundles: BundleView[], fits: (b: BundleView) => boolean): Restored<TranslateSettings> {
  const c = common(check, bundles, fits, 'Translate', (p) => (p.op !== 'translate' ? `This PNG is ${made(p)}, not a translation.` : null));
  if (!c.ok) return c;
  const { p, bundle } = c;
  const scale = p.scale ?? 'native';
  const settings: TranslateSettings = {
    runtime: p.model.runtime,
    ...(p.model.direction ? { direction: p.model.direction } : {}),
    scaleMode: typeof scale === 'number' ? 'long' : scale,
    ...(typeof scale === 'number' ? { longSide: scale } : {}),
    ...(p.tileSize !== undefined && (p.tiles ?? 1) > 1 ? { tile: p.tileSize } : {}),
    ...(p.fit ? { fit: p.fit } : {}),
    ...(p.input ? { input: p.input } : {}),
  };
  const input = p.input ? ` The input was ${p.input.name} (${p.input.width}×${p.input.height}): drop it to translate it again with these settings.` : '';
  return { ok: true, bundleId: bundle.id, settings, note: `Restored ${bundle.name}${p.model.direction ? ` ${p.model.direction}` : ''}, scale ${scale}, ${p.model.runtime}.${input}${c.warn}` };
}

/** sha256 of bytes in hex (Web Crypto; null where the page is not a secure context). */
export async function sha256Hex(bytes: Uint8Array): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  const d = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Is this a PNG (signature)? Only PNGs can carry the chunk. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 8 && [137, 80, 78, 71, 13, 10, 26, 10].every((b, i) => bytes[i] === b);
}
