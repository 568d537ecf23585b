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
  type AnyAnalysisSource,
  type ReconstructResult,
} from '../../../shared/channels/analysis';
import { type ResolvedSource, type SourceReq, precheckSource, resolveSource, runHierarchical, runKMeans, runPca } from '../analysis/api';
import { type ModelSourceReq, type SourceHooks, isModelSource, precheckModelSource, reconstructCompare, resolveModelSource } from '../analysis/sources';
import { type Step, drive, driveAsync } from '../analysis/steps';
import { type EngineContext, handlers } from '../host/context';

type AnySourceReq = SourceReq | ModelSourceReq;

function isSmall(source: AnySourceReq): boolean {
  if (source.kind !== 'inline') return false;
  let values = 0;
  for (const r of source.rows) values += r.length;
  return values <= ANALYSIS_INLINE_SYNC_VALUES;
}

async function reply<T>(
  ctx: EngineContext,
  kind: 'pca' | 'kmeans' | 'hierarchical',
  title: string,
  source: AnySourceReq,
  run: (src: ResolvedSource) => Generator<Step, T, void>,
): Promise<AnalysisReply<T>> {
  const limit = ANALYSIS_DEFAULT_LIMIT[kind];
  if (!isModelSource(source) && isSmall(source)) {
    const src = await resolveSource(ctx, source, limit);
    return { result: drive(run(src)) };
  }
  if (isModelSource(source)) await precheckModelSource(ctx, source);
  else await precheckSource(ctx, source);
  const job = ctx.jobs.start(`analysis.${kind}`, title, async (j) => {
    j.progress({ step: 0, total: 1000, message: 'loading rows' });
    // Model sources: computing the rows is the first 30% of the work.
    const hooks: SourceHooks = { progress: (f, message) => j.progress({ step: Math.round(f * 300), total: 1000, message }), checkpoint: () => j.checkpoint() };
    const src = isModelSource(source) ? await resolveModelSource(ctx, source, limit, hooks) : await resolveSource(ctx, source, limit);
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

function label(source: AnyAnalysisSource): string {
  switch (source.kind) {
    case 'dataset':
      return source.datasetId;
    case 'matrix':
      return source.path.split(/[\\/]/).pop() ?? source.path;
    case 'latent':
      return `${source.model} latents`;
    case 'generated':
      return `${source.model} outputs`;
    case 'features':
      return `${source.model} features of ${source.datasetId}`;
    default:
      return 'inline rows';
  }
}

export const analysisHandlers = handlers({
  'analysis.pca': (req, ctx) => reply(ctx, 'pca', `PCA of ${label(req.source)}`, req.source, (src) => runPca(src, req)),
  'analysis.kmeans': (req, ctx) =>
    reply(ctx, 'kmeans', `k-means (k=${req.k}) of ${label(req.source)}`, req.source, (src) => runKMeans(src, req)),
  'analysis.hierarchical': (req, ctx) =>
    reply(ctx, 'hierarchical', `${req.linkage} linkage of ${label(req.source)}`, req.source, (src) => runHierarchical(src, req)),
  'analysis.reconstruct': async (req, ctx): Promise<AnalysisReply<ReconstructResult>> => {
    await precheckModelSource(ctx, { kind: 'features', model: req.model, datasetId: req.datasetId, split: 'train', seed: req.seed });
    const job = ctx.jobs.start(
      'analysis.reconstruct',
      `PCA vs ${req.model} reconstruction of ${req.datasetId}`,
      (j) =>
        reconstructCompare(ctx, req, {
          progress: (f, message) => j.progress({ step: Math.round(f * 1000), total: 1000, message }),
          checkpoint: () => j.checkpoint(),
        }),
      { total: 1000 },
    );
    return { jobId: job.id };
  },
});
