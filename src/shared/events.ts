import type { ErrorData } from './errors';
import type { JobInfo } from './channels/job';

export interface JobProgress {
  jobId: string;
  step: number;
  total: number;
  epoch?: number;
  /** Loss name -> value at this step. */
  losses?: Record<string, number>;
  /** Other figures (lr, metrics). */
  metrics?: Record<string, number>;
  stepsPerSec?: number;
  etaSec?: number;
  message?: string;
}

export interface JobSample {
  jobId: string;
  step: number;
  /** PNG bytes of the sample grid. */
  png: Uint8Array;
  width: number;
  height: number;
  caption?: string;
}

/** Every event the engine pushes to the UI, with its payload. */
export interface EventMap {
  'job.started': JobInfo;
  /** A job's info changed outside progress: a queued job started, or its place in the queue moved. */
  'job.updated': JobInfo;
  'job.progress': JobProgress;
  'job.sample': JobSample;
  'job.done': { jobId: string; job: JobInfo; result: unknown };
  'job.failed': { jobId: string; job: JobInfo; error: ErrorData; cancelled: boolean };
  'engine.state': { state: 'starting' | 'ready' | 'crashed' | 'restarting' | 'stopped'; message?: string };
}
export type EventName = keyof EventMap;
export const EVENT_NAMES: readonly EventName[] = [
  'job.started',
  'job.updated',
  'job.progress',
  'job.sample',
  'job.done',
  'job.failed',
  'engine.state',
];
