/** import.pytorch (a job): the reference implementation's checkpoints -> a bundle with ONNX parity. */
import type { PytorchImportResult } from '../../../shared/channels/interop';
import { handlers } from '../host/context';
import { importPytorch } from '../interop/import';
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
});
