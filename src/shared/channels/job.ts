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
  /** Heavy work waits in a queue (one job of a queue runs at a time). */
  queue?: string;
  /** state 'queued': its place in the queue, 1 = next to start. */
  position?: number;
  error?: ErrorData;
}

export const jobId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, 'job ids are letters, digits, dot, dash, underscore');

export const jobChannels = {
  'job.list': channel<JobInfo[]>()(z.object({}).strict(), 'Jobs of this engine session, newest first.'),
  'job.cancel': channel<{ cancelled: boolean }>()(
    z.object({ jobId }).strict(),
    'Ask a running job to stop, or take a queued one out of its queue; it ends with job.failed {cancelled:true}.',
    ['NOT_FOUND'],
  ),
  'job.move': channel<JobInfo>()(
    z.object({ jobId, to: z.enum(['first', 'up', 'down', 'last']) }).strict(),
    'Reorder a queued job within its queue (job.updated events carry the new positions).',
    ['NOT_FOUND', 'CONFLICT'],
  ),
} as const;
