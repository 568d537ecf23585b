/** run.scoreboard (a job: evaluate every checkpoint of a run) and run.scores (the cached rows). */
import { handlers } from '../context';
import { cachedScoreboard, scoreRun } from '../eval/scoreboard';
import { readRunOptions, runDirOf } from '../train/run';

export const scoreboardHandlers = handlers({
  'run.scoreboard': async (req, ctx) => {
    const run = await readRunOptions(runDirOf(ctx.workspace, req.runId)); // NOT_FOUND before the job starts
    const job = ctx.jobs.start(
      'run.scoreboard',
      `Score the checkpoints of ${run.name}`,
      async (j) => {
        j.setRunId(run.runId);
        return scoreRun(ctx.workspace, run.runId, req.limit === undefined ? {} : { limit: req.limit }, {
          progress: (f, message) => j.progress({ step: Math.round(f * 100), total: 100, message }),
          checkpoint: () => j.checkpoint(),
        });
      },
      { total: 100 },
    );
    return { jobId: job.id };
  },
  'run.scores': (req, ctx) => cachedScoreboard(ctx.workspace, req.runId, req.limit),
});
