import { handlers } from '../host/context';

export const jobHandlers = handlers({
  'job.list': (_req, ctx) => ctx.jobs.list(),
  'job.cancel': (req, ctx) => ({ cancelled: ctx.jobs.cancel(req.jobId) }),
  'job.move': (req, ctx) => ctx.jobs.move(req.jobId, req.to),
});
