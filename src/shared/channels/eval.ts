/**
 * eval.run: measure a model bundle on a dataset split with the metrics that fit its kind
 * (see src/main/engine/eval/evaluate.ts). Runs as a job; the EvalResult arrives in job.done.
 *   cgan         conditional accuracy, FD-FashionCNN (overall, per class, shuffled-label baseline)
 *   gan          FD-FashionCNN
 *   pix2pix      L1 and SSIM of translations vs targets, and of two baselines (input itself,
 *                mean training target)
 *   cyclegan     domain-transfer rate both ways, cycle L1, identity L1, FD-FashionCNN
 *   autoencoder  reconstruction MSE vs PCA with as many components as the bottleneck
 * FD-FashionCNN is a Fréchet distance in the FashionCNN classifier's penultimate features: not FID.
 * Image values are on the [0, 1] pixel scale in every metric.
 */
import { z } from 'zod';
import { channel, filePath, seed } from '../define';
import { datasetId } from './dataset';
import { modelRef } from './bundle';

export const evalRequestSchema = z
  .object({
    /** Bundle id, bundle folder. */
    model: modelRef,
    /** Workspace dataset id. */
    dataset: datasetId,
    // val: the validation split some demo datasets hold (nature-colorize): choose checkpoints there, never on test.
    split: z.enum(['train', 'test', 'val']).default('test'),
    /** At most this many dataset images (seeded subset); default all. */
    limit: z.number().int().min(2).max(100_000).optional(),
    /** Generated images per class (cgan) or in all (gan); default 100 per class / 1000. */
    samples: z.number().int().min(2).max(10_000).optional(),
    seed,
    /** Classifier folder; default the shipped models/fashion-classifier. */
    classifier: filePath.optional(),
  })
  .strict();
export type EvalRequest = z.input<typeof evalRequestSchema>;

export interface EvalMetric {
  /** Stable key, e.g. conditionalAccuracy, fdFashionCnn, l1, ssim, baselineInput.l1. */
  key: string;
  label: string;
  value: number;
  better: 'higher' | 'lower' | 'none';
  /** What it is measured against / how. */
  note?: string;
}

export interface EvalResult {
  model: { id: string; kind: string; dir: string; imageSize: number };
  dataset: { id: string; split: 'train' | 'test' | 'val'; count: number; description: string };
  classifier?: { dir: string; name: string; featureDim: number };
  metrics: EvalMetric[];
  /** Extra tables: per-class rates, per-class FD. */
  details: Record<string, unknown>;
  notes: string[];
  seed: number;
  durationSec: number;
}

export const evalChannels = {
  'eval.run': channel<{ jobId: string }>()(
    evalRequestSchema,
    'Evaluate a model bundle on a dataset split (metrics by model kind; a job, the EvalResult in job.done).',
    ['NOT_FOUND', 'BAD_INPUT', 'VALIDATION'],
  ),
} as const;
