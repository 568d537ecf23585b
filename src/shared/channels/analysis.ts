/**
 * Unsupervised analysis of a matrix of rows (flattened images, latent vectors, features):
 * PCA, k-means and hierarchical clustering. Rows come from a file (CSV/JSON/NPY/IDX), an
 * imported dataset (images flattened, pixels in [0, 1]) or inline numbers.
 * Small inline requests answer `{ result }` at once; everything else starts a job and answers
 * `{ jobId }` (the result then arrives in job.done's `result`).
 */
import { z } from 'zod';
import { channel, filePath, seed } from '../define';
import { modelRef } from './bundle';
import { datasetId } from './dataset';
import type { PngImage } from './infer';

/** Inline rows: at most this many numbers are answered without a job. */
export const ANALYSIS_INLINE_SYNC_VALUES = 200_000;
/** Default number of dataset images analysed when `limit` is not given. */
export const ANALYSIS_DEFAULT_LIMIT = { pca: 5000, kmeans: 5000, hierarchical: 2000 } as const;
/** Hierarchical clustering keeps n(n-1)/2 distances: at most this many points. */
export const HIERARCHICAL_MAX_POINTS = 10_000;

/** Which images of a paired/unpaired dataset (default a; labeled datasets have x). */
const role = z.enum(['a', 'b', 'x']).optional();
/** How many dataset images; a seeded random subset when the split holds more. */
const datasetLimit = z.number().int().min(1).max(100_000).optional();

export const analysisSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('matrix'), path: filePath }).strict(),
  z
    .object({
      kind: z.literal('dataset'),
      datasetId,
      limit: datasetLimit,
      split: z.enum(['train', 'test']).default('train'),
      role,
      /** Seed of the subset. */
      seed,
    })
    .strict(),
  z
    .object({
      kind: z.literal('inline'),
      rows: z.array(z.array(z.number()).min(1).max(100_000)).min(1).max(HIERARCHICAL_MAX_POINTS * 5),
    })
    .strict(),
]);
export type AnalysisSource = z.input<typeof analysisSourceSchema>;

/** Rows computed by a model bundle (sources.ts): at most this many per request. */
export const ANALYSIS_MODEL_MAX_ROWS = 20_000;
const modelCount = z.number().int().min(2).max(ANALYSIS_MODEL_MAX_ROWS).optional();

/**
 * Rows a model computes:
 *   latent:    the z vectors of a gan/cgan (row i = z of seed + i, as latent.sample; a cgan's row i
 *              has class i mod classes). The image of a point is latent.render {z: {seed}, label}.
 *   generated: the generator's outputs for those z, flattened (HWC, pixels in [0, 1]).
 *   features:  an autoencoder's encoder outputs (bottleneck z) of dataset images, or a pix2pix /
 *              cyclegan translator's bottleneck activation (its exported ONNX graph, cut there).
 */
export const modelSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('latent'), model: modelRef, count: modelCount, seed }).strict(),
  z.object({ kind: z.literal('generated'), model: modelRef, count: modelCount, seed }).strict(),
  z
    .object({
      kind: z.literal('features'),
      model: modelRef,
      datasetId,
      limit: datasetLimit,
      split: z.enum(['train', 'test']).default('train'),
      role,
      seed,
    })
    .strict(),
]);
export type ModelSource = z.input<typeof modelSourceSchema>;

/** Every source the analyses take: rows from a file, a dataset, inline numbers or a model. */
export const anySourceSchema = z.discriminatedUnion('kind', [...analysisSourceSchema.options, ...modelSourceSchema.options]);
export type AnyAnalysisSource = z.input<typeof anySourceSchema>;

export const pcaRequestSchema = z
  .object({
    source: anySourceSchema,
    /** Components computed (explained variance for each). */
    nComponents: z.number().int().min(1).max(200).default(10),
    /** Components whose d values are returned (the rest only as variances). */
    returnComponents: z.number().int().min(0).max(50).default(3),
    /** Coordinates returned per row: 2 or 3 (scatter plots). */
    projectionDims: z.union([z.literal(2), z.literal(3)]).default(2),
    method: z.enum(['auto', 'covariance', 'gram', 'randomized']).default('auto'),
    seed,
  })
  .strict();

/**
 * k-means initialisations kept by default (the lowest inertia wins). scikit-learn used 10 up to
 * 1.3 and 1 since 1.4 (with its greedy seeding); 4 greedy initialisations find the optimum on the
 * blob fixtures where one plain k-means++ draw often does not, at 4x one run's time.
 */
export const KMEANS_DEFAULT_N_INIT = 4;

export const kmeansRequestSchema = z
  .object({
    source: anySourceSchema,
    k: z.number().int().min(1).max(1000),
    metric: z.enum(['euclidean', 'manhattan']).default('euclidean'),
    /** Initialisations (greedy k-means++ each); the lowest inertia is kept. */
    nInit: z.number().int().min(1).max(50).default(KMEANS_DEFAULT_N_INIT),
    /** Greedy k-means++ candidates per centre; default 2 + floor(ln k) (scikit-learn's); 1 = plain k-means++. */
    localTrials: z.number().int().min(1).max(100).optional(),
    maxIter: z.number().int().min(1).max(10_000).default(300),
    /** Stop when no centroid moves more than this (0 = until they stop moving). */
    tol: z.number().min(0).default(0),
    seed,
    /** Explicit initial centroids (k rows); default k-means++. */
    init: z.array(z.array(z.number())).optional(),
  })
  .strict();

export const hierarchicalRequestSchema = z
  .object({
    source: anySourceSchema,
    linkage: z.enum(['single', 'complete', 'average', 'weighted', 'ward']).default('average'),
    metric: z.enum(['euclidean', 'manhattan', 'cosine']).default('euclidean'),
    /** Also return flat clusters: at most k clusters ... */
    k: z.number().int().min(1).max(HIERARCHICAL_MAX_POINTS).optional(),
    /** ... or the clusters below this height. */
    cutHeight: z.number().min(0).optional(),
  })
  .strict();

/** What was analysed. */
export interface AnalysisSourceInfo {
  /** Rows (points) and columns (dimensions). */
  n: number;
  d: number;
  /** e.g. "fashion-mnist (train, 2000 of 60000 images, 28x28x1)" or a file name. */
  description: string;
  /** Dataset sources: the split index of each row (to show the image of a clicked point). */
  indices?: number[];
  /** Labeled datasets: the class of each row, and the class names. */
  classLabels?: number[];
  classes?: string[];
  /** Dataset sources: the image shape of a row (components can be drawn as images). */
  image?: { width: number; height: number; channels: number };
  /** Dataset and features sources: the dataset and split the rows' images come from. */
  datasetId?: string;
  split?: 'train' | 'test';
  /** Model sources: the bundle, and the seed of each row's z (latent.render draws the point). */
  model?: string;
  seeds?: number[];
}

export interface PcaResult {
  source: AnalysisSourceInfo;
  method: 'covariance' | 'gram' | 'randomized';
  /** First `returnComponents` components, each d values (unit length). */
  components: number[][];
  /** Variance along each of the nComponents components, and its share of the total. */
  explained: number[];
  ratio: number[];
  cumulative: number[];
  totalVariance: number;
  /** n rows x projectionDims coordinates. */
  projection: number[][];
  /** The mean row (d values). */
  mean: number[];
}

export interface KMeansResultDto {
  source: AnalysisSourceInfo;
  /** Cluster (0..k-1) of each row. */
  labels: number[];
  /** k rows of d values. */
  centroids: number[][];
  inertia: number;
  iterations: number;
  converged: boolean;
  sizes: number[];
  metric: 'euclidean' | 'manhattan';
  /** Initialisations run (the lowest inertia kept) and greedy k-means++ candidates per centre used. */
  nInit: number;
  localTrials: number;
}

export interface HierarchicalResult {
  source: AnalysisSourceInfo;
  /** scipy linkage matrix: n-1 rows [a, b, height, size]; merge i creates node n + i. */
  linkage: number[][];
  /** Leaves left to right (scipy leaves_list). */
  leafOrder: number[];
  maxHeight: number;
  method: 'single' | 'complete' | 'average' | 'weighted' | 'ward';
  metric: 'euclidean' | 'manhattan' | 'cosine';
  /** Flat cluster of each row (0-based) when k or cutHeight was given. */
  clusters?: number[];
}

export const reconstructRequestSchema = z
  .object({
    datasetId,
    /** An autoencoder bundle. */
    model: modelRef,
    /** PCA components (default: the bundle's latent size, for a like-for-like bottleneck). */
    k: z.number().int().min(1).max(4096).optional(),
    /** Images compared (a seeded subset of the split). */
    limit: z.number().int().min(2).max(10_000).default(500),
    /** Split of the compared images (default test, or train when the dataset has no test split). */
    split: z.enum(['train', 'test']).optional(),
    role,
    /** Fit the PCA on training images (held out, like the autoencoder) or on the compared images themselves. */
    fitOn: z.enum(['train', 'same']).default('train'),
    /** Training images the PCA is fitted on (fitOn train). */
    fitLimit: z.number().int().min(2).max(20_000).default(2000),
    /** Example triplets returned. */
    examples: z.number().int().min(0).max(32).default(6),
    seed,
  })
  .strict();

export interface ReconstructExample {
  /** Split index of the image. */
  index: number;
  original: PngImage;
  pca: PngImage;
  autoencoder: PngImage;
  pcaMse: number;
  autoencoderMse: number;
}

export interface ReconstructResult {
  model: string;
  /** Components used (k, capped by the fitted rows and the pixels). */
  k: number;
  latentSize?: number;
  n: number;
  description: string;
  /** What the PCA was fitted on. */
  fit: { on: 'train' | 'same'; n: number; method: 'covariance' | 'gram' | 'randomized' };
  /** Mean squared error per pixel value (images in [0, 1] at the model's size). */
  pcaMse: number;
  autoencoderMse: number;
  /** Share of the variance of the compared images the k components keep. */
  pcaExplained?: number;
  image: { width: number; height: number; channels: number };
  examples: ReconstructExample[];
}

/** Small inline requests answer the result; the rest answer a job id. */
export type AnalysisReply<T> = { result: T; jobId?: undefined } | { jobId: string; result?: undefined };

const ERRORS = ['NOT_FOUND', 'BAD_INPUT', 'CANCELLED'] as const;

export const analysisChannels = {
  'analysis.pca': channel<AnalysisReply<PcaResult>>()(
    pcaRequestSchema,
    'PCA of the rows: explained variance, the first components and a 2-D/3-D projection (a job unless small and inline).',
    ERRORS,
  ),
  'analysis.kmeans': channel<AnalysisReply<KMeansResultDto>>()(
    kmeansRequestSchema,
    'k-means (euclidean) or k-medians (manhattan) with k-means++ seeding and restarts (a job unless small and inline).',
    ERRORS,
  ),
  'analysis.hierarchical': channel<AnalysisReply<HierarchicalResult>>()(
    hierarchicalRequestSchema,
    'Agglomerative clustering; returns the scipy-style merge tree for a dendrogram (a job unless small and inline).',
    ERRORS,
  ),
  'analysis.reconstruct': channel<AnalysisReply<ReconstructResult>>()(
    reconstructRequestSchema,
    'Reconstruction of the same dataset images by PCA with k components and by an autoencoder: both MSEs and example triplets (a job).',
    ERRORS,
  ),
} as const;
