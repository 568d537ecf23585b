/** run.scoreboard (a job: evaluate every checkpoint of a run) and run.scores (the cached rows). */
import { StudioError } from '../../../shared/errors';
import { QUEUE } from '../host/jobs';
import { handlers } from '../host/context';
import { cachedScoreboard, scoreRun } from '../eval/scoreboard';
import { readRunOptions, runDirOf } from '../train/run-files';

/** runId -> jobId of the scoreboard jobs running (one per run: they share scores.json). */
const scoring = new Map<string, string>();

export const scoreboardHandlers = handlers({
  'run.scoreboard': async (req, ctx) => {
    const run = await readRunOptions(runDirOf(ctx.workspace, req.runId)); // NOT_FOUND before the job starts
    const busy = scoring.get(run.runId);
    if (busy)
      throw new StudioError('CONFLICT', `The checkpoints of ${run.runId} are already being scored (job ${busy}).`, { hint: 'Wait for that job or cancel it.' });
    const job = ctx.jobs.start(
      'run.scoreboard',
      `Score the checkpoints of ${run.name}`,
      async (j) => {
        j.setRunId(run.runId);
        try {
          return await scoreRun(ctx.workspace, run.runId, req.limit === undefined ? {} : { limit: req.limit }, {
            progress: (f, message) => j.progress({ step: Math.round(f * 100), total: 100, message }),
            checkpoint: () => j.checkpoint(),
          });
        } finally {
          scoring.delete(run.runId);
        }
      },
      { total: 100, queue: QUEUE, onSettled: () => scoring.delete(run.runId) },
    );
    scoring.set(run.runId, job.id);
    return { jobId: job.id };
  },
  'run.scores': (req, ctx) => cachedScoreboard(ctx.workspace, req.runId, req.limit),
});
