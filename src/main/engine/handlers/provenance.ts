/** provenance.read: the chunk of a dropped PNG, and whether the bundle it names is still here unchanged. */
import path from 'node:path';
import { handlers } from '../host/context';
import { readProvenance, readProvenanceFile } from '../infer/png-provenance';
import { getModel, listBundles } from '../infer/registry';
import { modelFacts } from '../infer/provenance';
import type { Provenance } from '../../../shared/provenance';
import type { ProvenanceCheck } from '../../../shared/channels/provenance';
import type { Workspace } from '../core/workspace';
import { StudioError } from '../../../shared/errors';

/** Look the bundle up by id among the existing ones only (never as a path), then compare weights. */
export async function checkModel(ws: Workspace, p: Provenance): Promise<NonNullable<ProvenanceCheck['model']>> {
  const id = p.model.id;
  if (p.op === 'samples' || !p.model.weightsSha256) {
    return { id, state: 'unchecked', message: `A training sample of run ${p.run?.id ?? id} at step ${p.model.step ?? '?'}: its weights were never saved as a bundle.` };
  }
  const bundle = (await listBundles(ws)).find((b) => b.id === id);
  if (!bundle) return { id, state: 'missing', message: `The model "${id}" that made this image is not here (deleted, renamed, or from another workspace).` };
  try {
    const m = await getModel(ws, bundle.id, p.model.runtime, p.model.direction ?? 'AtoB');
    const now = (await modelFacts(m)).weightsSha256;
    if (now !== p.model.weightsSha256) {
      return { id, state: 'changed', message: `The model "${id}" is here, but its weights changed since this image was made (sha256 ${p.model.weightsSha256!.slice(0, 12)}… then, ${now?.slice(0, 12)}… now): the same settings may not give the same image.` };
    }
  } catch (e) {
    return { id, state: 'missing', message: `The model "${id}" is here but cannot be loaded: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { id, state: 'ok', message: `Made by "${id}" with the same weights.` };
}

export const provenanceHandlers = handlers({
  'provenance.read': async (req, ctx) => {
    let p: Provenance | null;
    try {
      p = req.image ? await readProvenance(req.image) : await readProvenanceFile(path.resolve(req.path!));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StudioError('NOT_FOUND', `No file at ${req.path}.`);
      throw e;
    }
    return { provenance: p, model: p ? await checkModel(ctx.workspace, p) : null };
  },
});
