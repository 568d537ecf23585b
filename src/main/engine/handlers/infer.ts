/** infer.translate, infer.translateFolder (a job), infer.generate. */
import path from 'node:path';
import { StudioError } from '../../../shared/errors';
import { handlers } from '../host/context';
import { getModel } from '../infer/registry';
import { generateImages, translateFolder, translateImage } from '../infer/ops';

export const inferHandlers = handlers({
  'infer.translate': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, req.runtime, req.direction);
    const r = await translateImage(m, req.image ?? path.resolve(req.path!), { keepSize: req.keepSize, fit: req.fit });
    return { png: r.png, width: r.width, height: r.height, inputWidth: r.inputWidth, inputHeight: r.inputHeight, ms: r.ms, runtime: m.runtime };
  },
  'infer.translateFolder': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, req.runtime, req.direction);
    const input = path.resolve(req.input);
    const output = path.resolve(req.output);
    if (input === output) throw new StudioError('BAD_INPUT', 'The output folder must differ from the input folder (names are kept).');
    const job = ctx.jobs.start('infer.translateFolder', `Translate ${path.basename(input)} with ${m.info.name}`, (j) =>
      translateFolder(m, input, output, {
        keepSize: req.keepSize,
        fit: req.fit,
        checkpoint: () => j.checkpoint(),
        onProgress: (done, total, file) => j.progress({ step: done, total, message: file }),
      }),
    );
    return { jobId: job.id };
  },
  'infer.generate': async (req, ctx) => {
    const m = await getModel(ctx.workspace, req.model, req.runtime);
    const images = await generateImages(m, { seed: req.seed, count: req.count, ...(req.label !== undefined ? { label: req.label } : {}) });
    return { images: images.map((i) => ({ png: i.png, width: i.width, height: i.height, seed: i.seed })) };
  },
});
