import { z } from 'zod';
import { channel } from '../define';
import type { ErrorData } from '../errors';

export const JOB_STATES = ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobInfo {
  id: string;
  /** e.g. "train", "dataset.import", "export.onnx", "infer.translateFolder", "analysis.kmeans" */
  kind: string;
  title: string;
  state: JobState;
  startedAt: number;
  endedAt?: number;
  step: number;
  total: number;
  /** Last progress message, for people. */
  message?: string;
  /** For training jobs: the run it writes to. */
  runId?: string;
  error?: ErrorData;
}

export const jobId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'job ids are letters, digits, dot, dash, underscore');

export const jobChannels = {
  'job.list': channel<JobInfo[]>()(z.object({}).strict(), 'Jobs of this engine session, newest first.'),
  'job.cancel': channel<{ cancelled: boolean }>()(
    z.object({ jobId }).strict(),
    'Ask a running job to stop; it ends with job.failed {cancelled:true}.',
    ['NOT_FOUND'],
  ),
} as const;
