/**
 * latent.sample / render / directions / interpolate. Rendering always runs ONNX (cached session).
 * Every PNG returned carries its provenance (infer/provenance `stamp`): the seed, the slider
 * positions and the class blend, so a saved image dropped back on the Latent page restores them.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { handlers } from '../host/context';
import { getModel } from '../infer/registry';
import { sampleZ } from '../infer/latent';
import { interpolateLatent, latentDirections, renderLatent, type RenderRequest } from '../infer/ops';
import { stamp, type ProvenanceSettings } from '../infer/provenance';
import type { InferenceModel } from '../infer/model';
import { StudioError } from '../../../shared/errors';
import type { ParsedRequestOf } from '../../../shared/contract';
import type { Provenance } from '../../../shared/provenance';

type RenderReq = ParsedRequestOf<'latent.render'>;
type InterpReq = ParsedRequestOf<'latent.interpolate'>;

/** PCA sliders by index -> moves along the (cached) directions of the same request. */
async function pcaMoves(m: InferenceModel, pca: NonNullable<RenderReq['pca']>): Promise<NonNullable<RenderRequest['moves']>> {
  const { amounts, ...dreq } = pca;
  if (!amounts.some((a) => a !== 0)) return [];
  const d = await latentDirections(m, dreq);
  if (amounts.length > d.directions.length) throw new StudioError('BAD_INPUT', `${amounts.length} PCA sliders, but only ${d.directions.length} directions were found.`);
  return amounts
    .map((amount, i) => ({ direction: d.directions[i]!, amount, sigma: d.sigma[i]! }))
    .filter((mv) => mv.amount !== 0 && mv.sigma > 0);
}

function classNameOf(m: InferenceModel, label: number | undefined): { className?: string } {
  const c = label !== undefined ? m.info.classNames?.[label] : undefined;
  return c !== undefined ? { className: c.slice(0, 200) } : {};
}

/** The render request as provenance: the seed (when z came from one, without arithmetic), sliders, class. */
function renderSettings(m: InferenceModel, req: RenderReq, z: number[]): Omit<ProvenanceSettings, 'op'> {
  const seeded = 'seed' in req.z && !req.minus && !req.plus;
  const sliders: NonNullable<Provenance['sliders']> = {
    ...(req.pca && req.pca.amounts.some((a) => a !== 0) ? { pca: req.pca } : {}),
    ...(req.dims?.length ? { dims: req.dims } : {}),
    ...(req.blend ? { blend: req.blend } : {}),
    ...(req.labelWeights ? { labelWeights: req.labelWeights } : {}),
  };
  return {
    ...(seeded ? { seed: (req.z as { seed: number }).seed } : {}),
    latent: z,
    ...(req.label !== undefined ? { label: req.label, ...classNameOf(m, req.label) } : {}),
    ...(Object.keys(sliders).length ? { sliders } : {}),
  };
}

type Point = NonNullable<Provenance['interpolation']>['from'];
function pointOf(ref: InterpReq['from'], image: InterpReq['fromImage']): Point {
  if (image !== undefined) return { imageSha256: createHash('sha256').update(image).digest('hex') };
  if (ref && 'seed' in ref) return { seed: ref.seed };
  return { z: ref!.z };
}

export const latentHandlers = handlers({
  'latent.sample': async (req, ctx) => {
    let L = req.latentSize;
    if (req.model) {
      const m = await getModel(ctx.workspace, req.model);
      L = m.info.latentSize;
      if (!L) throw new StudioError('BAD_INPUT', `Model "${m.info.name}" (${m.info.kind}) has no latent space.`);
    }
    const z: number[][] = [];
    for (let i = 0; i < req.count; i++) z.push(Array.from(sampleZ(req.seed + i, 1, L!)));
    return { z, latentSize: L! };
  },
  'latent.render': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, 'onnx');
    const moves = [...(req.moves ?? []), ...(req.pca ? await pcaMoves(m, req.pca) : [])];
    const r = await renderLatent(m, { ...req, ...(moves.length ? { moves } : { moves: undefined }) });
    const png = await stamp(m, r, 'latent', renderSettings(m, req, r.z), req.model);
    return { png, width: r.width, height: r.height, z: r.z, ms: r.ms };
  },
  'latent.directions': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, 'onnx');
    return latentDirections(m, req);
  },
  'latent.interpolate': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, 'onnx');
    const r = await interpolateLatent(m, req);
    const path: NonNullable<Provenance['interpolation']> = {
      from: pointOf(req.from, req.fromImage),
      to: pointOf(req.to, req.toImage),
      steps: req.steps,
      mode: req.mode,
      ...(req.blend ? { blend: req.blend } : {}),
    };
    const label = req.blend ? {} : req.label !== undefined ? { label: req.label, ...classNameOf(m, req.label) } : {};
    const frames = [];
    for (let i = 0; i < r.frames.length; i++) {
      const f = r.frames[i]!;
      frames.push({ ...f, png: await stamp(m, f, 'interpolate', { latent: r.z[i]!, ...label, interpolation: { ...path, frame: i } }, req.model) });
    }
    let sheet: { png: Uint8Array; width: number; height: number } | undefined;
    if (req.sheet && r.frames.length) {
      const { width: w, height: h } = r.frames[0]!;
      const buf = await sharp({ create: { width: w * r.frames.length, height: h, channels: 3, background: { r: 0, g: 0, b: 0 } } })
        .composite(r.frames.map((f, i) => ({ input: Buffer.from(f.png), left: i * w, top: 0 })))
        .png()
        .toBuffer();
      const raw = { png: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), width: w * r.frames.length, height: h };
      sheet = { ...raw, png: await stamp(m, raw, 'interpolate', { ...label, interpolation: path }, req.model) };
    }
    return { frames, z: r.z, ...(sheet ? { sheet } : {}) };
  },
});
