/**
 * Training engine, public surface:
 *   run files   readRunOptions / readRunStatus / readLog / runDirOf       (run-files.ts)
 *   runs        createRun (run-create.ts) / trainRun, the loop (run.ts) /
 *               promoteRun / modelFromCheckpoint (run-promote.ts)
 *   runs list   listRuns / getRun / deleteRun                             (runs.ts)
 *   data        BatchSource, InMemoryBatchSource, registerDatasetOpener   (source.ts, dataset-source.ts)
 *   bundles     writeBundle / loadBundle / translate / generate / encode  (bundle.ts)
 *   checkpoints writeCheckpoint / readCheckpoint / listCheckpoints        (checkpoint.ts)
 */
export { readRunOptions, readRunStatus, readLog, runDirOf } from './run-files';
export { createRun } from './run-create';
export { promoteRun, modelFromCheckpoint } from './run-promote';
export { trainRun } from './run';
export type { RunOptionsFile, RunStatus, StoredRunState } from './run-files';
export type { TrainRequest } from './run-create';
export type { TrainHooks, TrainSummary } from './run';
export { listRuns, getRun, deleteRun } from './runs';
export { InMemoryBatchSource, openBatchSource, registerDatasetOpener, syntheticImages } from './source';
export type { BatchSource, BatchSourceInfo, OpenSourceRequest } from './source';
export { openDatasetSource } from './dataset-source';
export { writeBundle, loadBundle, disposeBundle, translate, generate, encode } from './bundle';
export type { BundleMeta, LoadedBundle, BundleNetworkMeta } from './bundle';
export { writeCheckpoint, readCheckpoint, listCheckpoints } from './checkpoint';
export { visualsToPng } from './grid';
