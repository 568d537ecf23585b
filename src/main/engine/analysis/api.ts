/**
 * The analyses as the contract and the CLI see them: resolve a source to a matrix, run, and
 * shape the answer as plain JSON (numbers rounded to float32 precision, 7 significant digits).
 * Each runner is a generator of progress steps, driven by an engine job (driveAsync) or
 * synchronously (drive).
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { z } from 'zod';
import {
  type AnalysisSourceInfo,
  type HierarchicalResult,
  type KMeansResultDto,
  type PcaResult,
  HIERARCHICAL_MAX_POINTS,
  analysisSourceSchema,
  hierarchicalRequestSchema,
  kmeansRequestSchema,
  pcaRequestSchema,
} from '../../../shared/channels/analysis';
import { StudioError } from '../../../shared/errors';
import type { Workspace } from '../core/workspace';
import { loadDatasetMatrix } from './dataset-source';
import { cutAtHeight, cutToK, leafOrder, linkageRows, linkageSteps } from './hierarchical';
import { loadMatrix } from './io';
import { kmeansSteps } from './kmeans';
import { type Matrix, fromRows } from './matrix';
import { pcaProject, pcaSteps } from './pca';
import { type Step, mapSteps } from './steps';

export type SourceReq = z.output<typeof analysisSourceSchema>;
export type PcaReq = z.output<typeof pcaRequestSchema>;
export type KMeansReq = z.output<typeof kmeansRequestSchema>;
export type HierarchicalReq = z.output<typeof hierarchicalRequestSchema>;

export interface ResolvedSource {
  matrix: Matrix;
  info: AnalysisSourceInfo;
}

/** Float32-precision numbers for JSON (7 significant digits). */
export function r7(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(7)) : v;
}

export function matrixRows(m: Matrix, maxRows = m.rows): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < Math.min(maxRows, m.rows); i++) {
    const row = new Array<number>(m.cols);
    for (let j = 0; j < m.cols; j++) row[j] = r7(m.data[i * m.cols + j]);
    out.push(row);
  }
  return out;
}

/** Cheap checks before a job starts, so that a missing file or dataset fails the request itself. */
export async function precheckSource(ctx: { workspace: Workspace }, source: SourceReq): Promise<void> {
  if (source.kind === 'matrix') {
    const st = await stat(source.path).catch(() => null);
    if (!st || !st.isFile()) throw new StudioError('NOT_FOUND', `No file at ${source.path}.`, { hint: 'Check the path.' });
  } else if (source.kind === 'dataset') {
    const { datasetDir, readManifest } = await import('../data/store');
    await readManifest(datasetDir(ctx.workspace, source.datasetId));
  }
}

export async function resolveSource(ctx: { workspace: Workspace }, source: SourceReq, defaultLimit: number): Promise<ResolvedSource> {
  if (source.kind === 'inline') {
    const matrix = fromRows(source.rows, 'inline rows');
    return { matrix, info: { n: matrix.rows, d: matrix.cols, description: `${matrix.rows} inline rows` } };
  }
  if (source.kind === 'matrix') {
    const { matrix, format } = await loadMatrix(source.path);
    return { matrix, info: { n: matrix.rows, d: matrix.cols, description: `${basename(source.path)} (${format}, ${matrix.rows} x ${matrix.cols})` } };
  }
  const dm = await loadDatasetMatrix(ctx, source.datasetId, source.limit ?? defaultLimit, {
    split: source.split,
    role: source.role,
    seed: source.seed,
  });
  return {
    matrix: dm.matrix,
    info: {
      n: dm.matrix.rows,
      d: dm.matrix.cols,
      description: dm.description,
      indices: dm.indices,
      ...(dm.labels ? { classLabels: dm.labels } : {}),
      ...(dm.classes ? { classes: dm.classes } : {}),
      image: dm.image,
    },
  };
}

export function* runPca(src: ResolvedSource, req: PcaReq): Generator<Step, PcaResult, void> {
  const X = src.matrix;
  const maxK = Math.min(X.cols, X.rows - 1);
  const k = Math.max(1, Math.min(req.nComponents, maxK));
  const model = yield* pcaSteps(X, { nComponents: k, method: req.method, seed: req.seed });
  const dims = Math.min(req.projectionDims, k);
  const P = pcaProject(model, X, dims);
  let cum = 0;
  return {
    source: src.info,
    method: model.method,
    components: matrixRows(model.components, req.returnComponents),
    explained: Array.from(model.explainedVariance, r7),
    ratio: Array.from(model.explainedVarianceRatio, r7),
    cumulative: Array.from(model.explainedVarianceRatio, (v) => r7((cum += v))),
    totalVariance: r7(model.totalVariance),
    projection: matrixRows(P),
    mean: Array.from(model.mean, r7),
  };
}

export function* runKMeans(src: ResolvedSource, req: KMeansReq): Generator<Step, KMeansResultDto, void> {
  const init = req.init ? fromRows(req.init, 'initial centroids') : undefined;
  const res = yield* mapSteps(
    kmeansSteps(src.matrix, {
      k: req.k,
      metric: req.metric,
      nInit: req.nInit,
      ...(req.localTrials !== undefined ? { localTrials: req.localTrials } : {}),
      maxIter: req.maxIter,
      tol: req.tol,
      seed: req.seed,
      ...(init ? { init } : {}),
    }),
    (it): Step => ({
      fraction: Math.min(0.99, (1 / it.nInit) * (it.run + Math.min(1, it.iteration / Math.min(req.maxIter, 100)))),
      message: `${it.nInit > 1 ? `run ${it.run + 1}/${it.nInit}, ` : ''}iteration ${it.iteration}, inertia ${r7(it.inertia)}, shift ${r7(it.shift)}`,
    }),
  );
  return {
    source: src.info,
    labels: Array.from(res.labels),
    centroids: matrixRows(res.centroids),
    inertia: res.inertia,
    iterations: res.iterations,
    converged: res.converged,
    sizes: Array.from(res.sizes),
    metric: res.metric,
    nInit: res.runInertias.length,
    localTrials: res.localTrials,
  };
}

export function* runHierarchical(src: ResolvedSource, req: HierarchicalReq): Generator<Step, HierarchicalResult, void> {
  const n = src.matrix.rows;
  if (n > HIERARCHICAL_MAX_POINTS) {
    throw new StudioError('BAD_INPUT', `Hierarchical clustering of ${n} points is too large (the limit is ${HIERARCHICAL_MAX_POINTS}).`, {
      hint: 'Set a smaller limit (a random subset), or run k-means first.',
    });
  }
  const tree = yield* linkageSteps(src.matrix, { method: req.linkage, metric: req.metric });
  let maxHeight = 0;
  for (let r = 0; r < n - 1; r++) maxHeight = Math.max(maxHeight, tree.Z[r * 4 + 2]);
  const clusters = req.k !== undefined ? cutToK(tree, req.k) : req.cutHeight !== undefined ? cutAtHeight(tree, req.cutHeight) : undefined;
  return {
    source: src.info,
    linkage: linkageRows(tree),
    leafOrder: Array.from(leafOrder(tree)),
    maxHeight,
    method: tree.method,
    metric: tree.metric,
    ...(clusters ? { clusters: Array.from(clusters) } : {}),
  };
}
