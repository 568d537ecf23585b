/**
 * import.pytorch (a job): the reference implementation's checkpoints -> a bundle with ONNX parity.
 * import.pytorchRun: the same files -> a training run that continues them (train.resume starts it).
 */
import type { PytorchImportResult } from '../../../shared/channels/interop';
import { handlers } from '../host/context';
import { runFromPytorch } from '../interop/continue';
import { importPytorch } from '../interop/import';
import { initBackend } from '../backend';
import { evictModels } from '../infer/registry';

export const interopHandlers = handlers({
  'import.pytorch': async (req, ctx) => {
    const job = ctx.jobs.start('import.pytorch', `Import ${req.files.length} PyTorch checkpoint${req.files.length > 1 ? 's' : ''}`, async (j): Promise<PytorchImportResult> => {
      const res = await importPytorch(ctx.workspace, { ...req, onStep: (step, total, message) => j.progress({ step, total, message }) });
      await evictModels((k) => k.includes(res.id));
      return res;
    });
    return { jobId: job.id };
  },
  'import.pytorchRun': async (req, ctx) => {
    await initBackend();
    const r = await runFromPytorch(ctx.workspace, { files: req.files, datasetId: req.datasetId, options: req.options, ...(req.steps ? { steps: req.steps } : {}), ...(req.name ? { name: req.name } : {}) });
    return { runId: r.runId, model: r.model, note: r.origin.note, freshNetworks: r.origin.freshNetworks };
  },
});
