/**
 * analysis.pca | analysis.kmeans | analysis.hierarchical. Small inline requests are computed at
 * once and answered as { result }; file and dataset sources (and big inline ones) run as a job
 * and answer { jobId }: progress between chunks of work, cancel honoured at the same points,
 * the result in job.done.
 */
import {
  ANALYSIS_DEFAULT_LIMIT,
  ANALYSIS_INLINE_SYNC_VALUES,
  type AnalysisReply,
} from '../../../shared/channels/analysis';
import { type ResolvedSource, type SourceReq, precheckSource, resolveSource, runHierarchical, runKMeans, runPca } from '../analysis/api';
import { type Step, drive, driveAsync } from '../analysis/steps';
import { type EngineContext, handlers } from '../context';

function isSmall(source: SourceReq): boolean {
  if (source.kind !== 'inline') return false;
  let values = 0;
  for (const r of source.rows) values += r.length;
  return values <= ANALYSIS_INLINE_SYNC_VALUES;
}

async function reply<T>(
  ctx: EngineContext,
  kind: 'pca' | 'kmeans' | 'hierarchical',
  title: string,
  source: SourceReq,
  run: (src: ResolvedSource) => Generator<Step, T, void>,
): Promise<AnalysisReply<T>> {
  const limit = ANALYSIS_DEFAULT_LIMIT[kind];
  if (isSmall(source)) {
    const src = await resolveSource(ctx, source, limit);
    return { result: drive(run(src)) };
  }
  await precheckSource(ctx, source);
  const job = ctx.jobs.start(`analysis.${kind}`, title, async (j) => {
    j.progress({ step: 0, total: 1000, message: 'loading rows' });
    const src = await resolveSource(ctx, source, limit);
    await j.checkpoint();
    let last = 0;
    return driveAsync(run(src), async (s) => {
      const now = Date.now();
      if (now - last > 200 || s.fraction >= 1) {
        last = now;
        j.progress({ step: Math.round(s.fraction * 1000), total: 1000, message: s.message });
      }
      await j.checkpoint();
    });
  }, { total: 1000 });
  return { jobId: job.id };
}

function label(source: SourceReq): string {
  return source.kind === 'dataset' ? source.datasetId : source.kind === 'matrix' ? (source.path.split(/[\\/]/).pop() ?? source.path) : 'inline rows';
}

export const analysisHandlers = handlers({
  'analysis.pca': (req, ctx) => reply(ctx, 'pca', `PCA of ${label(req.source)}`, req.source, (src) => runPca(src, req)),
  'analysis.kmeans': (req, ctx) =>
    reply(ctx, 'kmeans', `k-means (k=${req.k}) of ${label(req.source)}`, req.source, (src) => runKMeans(src, req)),
  'analysis.hierarchical': (req, ctx) =>
    reply(ctx, 'hierarchical', `${req.linkage} linkage of ${label(req.source)}`, req.source, (src) => runHierarchical(src, req)),
});
