/**
 * Training engine, public surface:
 *   runs        createRun / trainRun / promoteRun / modelFromCheckpoint   (run.ts)
 *   runs list   listRuns / getRun / deleteRun                             (runs.ts)
 *   data        BatchSource, InMemoryBatchSource, registerDatasetOpener   (source.ts, dataset-source.ts)
 *   bundles     writeBundle / loadBundle / translate / generate / encode  (bundle.ts)
 *   checkpoints writeCheckpoint / readCheckpoint / listCheckpoints        (checkpoint.ts)
 */
export { createRun, trainRun, promoteRun, modelFromCheckpoint, readRunOptions, readRunStatus, readLog, runDirOf } from './run';
export type { TrainRequest, TrainHooks, TrainSummary, RunOptionsFile, RunStatus, LogEntry } from './run';
export { listRuns, getRun, deleteRun } from './runs';
export { InMemoryBatchSource, openBatchSource, registerDatasetOpener, syntheticImages } from './source';
export type { BatchSource, BatchSourceInfo, OpenSourceRequest } from './source';
export { openDatasetSource } from './dataset-source';
export { writeBundle, loadBundle, disposeBundle, translate, generate, encode } from './bundle';
export type { BundleMeta, LoadedBundle, BundleNetworkMeta } from './bundle';
export { writeCheckpoint, readCheckpoint, listCheckpoints } from './checkpoint';
export { visualsToPng } from './grid';
