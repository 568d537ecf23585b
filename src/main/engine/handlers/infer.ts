/** infer.translate, infer.translateFolder (a job), infer.generate. */
import path from 'node:path';
import { StudioError } from '../../../shared/errors';
import { QUEUE } from '../host/jobs';
import { handlers } from '../host/context';
import { getModel } from '../infer/registry';
import { generateImages, translateFolder, translateImage, type TranslateOptions } from '../infer/ops';
import type { TranslateResult } from '../../../shared/channels/infer';
import { stampGenerate, stampTranslate } from '../infer/provenance';
import { recordFiles } from '../gallery/store';

type TranslateReq = { keepSize: boolean; fit: TranslateOptions['fit']; scale?: TranslateOptions['scale']; tile?: number; overlap?: number };

/** Request fields -> options; keepSize false without a scale keeps its old meaning (the model's size). */
function translateOptions(req: TranslateReq): TranslateOptions {
  const scale = req.scale ?? (req.keepSize ? undefined : 'model');
  return {
    keepSize: req.keepSize,
    fit: req.fit,
    ...(scale !== undefined ? { scale } : {}),
    ...(req.tile !== undefined ? { tile: req.tile } : {}),
    ...(req.overlap !== undefined ? { overlap: req.overlap } : {}),
  };
}

/** What provenance records beyond the outcome: the bundle id asked for, the direction, how the input met the square. */
function stampExtra(req: TranslateReq & { model: string; direction: 'AtoB' | 'BtoA'; inputName?: string }) {
  const name = req.inputName?.split(/[/\\]/).pop();
  return { ref: req.model, direction: req.direction, fit: req.fit, keepSize: req.keepSize, ...(name ? { inputName: name } : {}) };
}

export const inferHandlers = handlers({
  'infer.translate': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, req.runtime, req.direction);
    const src = req.image ?? path.resolve(req.path!);
    const r = await translateImage(m, src, translateOptions(req));
    return { ...r, png: await stampTranslate(m, src, r, stampExtra(req)), runtime: m.runtime } satisfies TranslateResult;
  },
  'infer.translateJob': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, req.runtime, req.direction);
    const src = req.image ?? path.resolve(req.path!);
    const what = req.path ? path.basename(req.path) : 'image';
    const job = ctx.jobs.start('infer.translate', `Translate ${what} with ${m.info.name}`, async (j) => {
      const r = await translateImage(m, src, {
        ...translateOptions(req),
        checkpoint: () => j.checkpoint(),
        onTile: (done, total) => j.progress({ step: done, total, message: `tile ${done}/${total}` }),
      });
      return { ...r, png: await stampTranslate(m, src, r, stampExtra(req)), runtime: m.runtime } satisfies TranslateResult;
    });
    return { jobId: job.id };
  },
  'infer.translateFolder': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, req.runtime, req.direction);
    const input = path.resolve(req.input);
    const output = path.resolve(req.output);
    if (input === output && !req.suffix) throw new StudioError('BAD_INPUT', 'The output folder must differ from the input folder, or give a suffix to save next to the originals.');
    const job = ctx.jobs.start('infer.translateFolder', `Translate ${path.basename(input)} with ${m.info.name}`, async (j) => {
      const res = await translateFolder(m, input, output, {
        ...translateOptions(req),
        ...(req.suffix ? { suffix: req.suffix } : {}),
        stamp: stampExtra(req),
        checkpoint: () => j.checkpoint(),
        onProgress: (done, total, file) => j.progress({ step: done, total, message: file }),
      });
      // The written files join the Gallery where they are.
      await recordFiles(ctx.workspace, res.written);
      return res;
    }, { queue: QUEUE });
    return { jobId: job.id };
  },
  'infer.generate': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, req.runtime);
    const images = await generateImages(m, { seed: req.seed, count: req.count, ...(req.label !== undefined ? { label: req.label } : {}) });
    const out = [];
    for (const i of images) out.push({ png: await stampGenerate(m, i, req.label, req.model), width: i.width, height: i.height, seed: i.seed });
    return { images: out };
  },
});
