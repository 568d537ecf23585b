/**
 * Drag back to restore: a dropped PNG's provenance (read and checked by the engine:
 * provenance.read) mapped to the settings of the page it was made on. Pure functions, so the
 * rules are tested without a page: what each op restores, and the sentence that says what cannot
 * be restored and why.
 */
import type { ProvenanceCheck } from '../../../shared/channels/provenance';
import type { Provenance } from '../../../shared/provenance';
import type { BundleView } from './bundles';

export interface LatentSettings {
  seed: number;
  dirReq?: { count: number; samples: number; seed: number; space: 'features' | 'output'; label?: number };
  amounts?: number[];
  dims?: Record<number, number>;
  label?: number;
  blendTo?: number;
  blendT?: number;
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
    p.op !== 'latent' && p.op !== 'generate'
      ? `This PNG is ${made(p)}; the Latent page restores single renders and generated images.${p.op === 'translate' ? ' Drop it on the Translate page.' : ''}`
      : p.seed === undefined
        ? 'This render came from a latent vector without a seed (arithmetic or a pasted vector); the Latent page restores seeded renders.'
        : null,
  );
  if (!c.ok) return c;
  const { p, bundle } = c;
  if (p.seed === undefined) return { ok: false, message: 'no seed' };
  const sl = p.sliders;
  const { amounts, ...dirReq } = sl?.pca ?? { amounts: undefined };
  const settings: LatentSettings = {
    seed: p.seed,
    ...(sl?.pca ? { dirReq: dirReq as LatentSettings['dirReq'], amounts } : {}),
    ...(sl?.dims ? { dims: Object.fromEntries(sl.dims.map((d) => [d.index, d.value])) } : {}),
    ...(sl?.blend ? { label: sl.blend.a, blendTo: sl.blend.b, blendT: sl.blend.t } : p.label !== undefined ? { label: p.label } : {}),
  };
  const moved = (amounts?.filter((a) => a !== 0).length ?? 0) + (sl?.dims?.length ?? 0);
  const note = `Restored ${bundle.name}, seed ${p.seed}${moved ? `, ${moved} slider${moved > 1 ? 's' : ''}` : ''}${sl?.blend ? `, class blend ${Math.round(sl.blend.t * 100)}%` : p.className ? `, class ${p.className}` : ''}.${c.warn}`;
  return { ok: true, bundleId: bundle.id, settings, note };
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
