/** latent.sample / render / directions / interpolate. Rendering always runs ONNX (cached session). */
import { handlers } from '../host/context';
import { getModel } from '../infer/registry';
import { sampleZ } from '../infer/latent';
import { interpolateLatent, latentDirections, renderLatent } from '../infer/ops';
import { StudioError } from '../../../shared/errors';

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
    const r = await renderLatent(m, req);
    return { png: r.png, width: r.width, height: r.height, z: r.z, ms: r.ms };
  },
  'latent.directions': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, 'onnx');
    return latentDirections(m, req);
  },
  'latent.interpolate': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, 'onnx');
    const r = await interpolateLatent(m, req);
    return { frames: r.frames, z: r.z };
  },
});
