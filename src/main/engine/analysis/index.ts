/**
 * The unsupervised-analysis engine: pure TypeScript on Float32Array rows (no tfjs).
 *   matrix.ts        Matrix {rows, cols, data} and input checks (NaN/Infinity -> BAD_INPUT)
 *   distances.ts     euclidean / manhattan / cosine, condensed pairwise distances (tiled)
 *   hierarchical.ts  scipy-compatible linkage (single, complete, average, weighted, ward), cuts, dendrogram
 *   kmeans.ts        k-means++ / restarts / k-medians
 *   pca.ts           covariance, Gram or randomized PCA; project, reconstruct
 *   eigen.ts         symmetric eigen-decomposition (tred2 + tql2)
 *   metrics.ts       L1, MSE, PSNR, SSIM on HWC images
 *   io.ts            CSV / JSON / NPY / IDX -> Matrix
 *   steps.ts         generator drivers (progress + cancel inside engine jobs)
 *   api.ts           the analysis.* channels' runners (also used by `atelier analyze`)
 *   bench.ts         speed figures for `npm run bench`
 */
export * from './matrix';
export * from './distances';
export * from './hierarchical';
export * from './kmeans';
export * from './pca';
export * from './eigen';
export * from './metrics';
export * from './io';
export * from './steps';
export { Rng } from './rng';
export { benchAnalysis, type AnalysisFigure, type AnalysisBenchOptions } from './bench';
