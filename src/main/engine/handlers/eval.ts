/** eval.run: evaluate a bundle on a dataset split as a job; the EvalResult arrives in job.done. */
import { QUEUE } from '../host/jobs';
import { handlers } from '../host/context';
import { evaluateBundle } from '../eval/evaluate';
import { resolveModelRef } from '../infer/registry';

export const evalHandlers = handlers({
  'eval.run': async (req, ctx) => {
    const ref = await resolveModelRef(ctx.workspace, req.model); // NOT_FOUND before the job starts
    const job = ctx.jobs.start(
      'eval.run',
      `Evaluate ${ref.id} on ${req.dataset} (${req.split})`,
      (j) =>
        evaluateBundle(ctx.workspace, { ...req, model: ref.dir ?? req.model }, {
          progress: (f, message) => j.progress({ step: Math.round(f * 100), total: 100, message }),
          checkpoint: () => j.checkpoint(),
        }),
      { total: 100, queue: QUEUE },
    );
    return { jobId: job.id };
  },
});
