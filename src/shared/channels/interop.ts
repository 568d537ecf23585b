/**
 * The reference implementation's PyTorch checkpoints (junyanz/pytorch-CycleGAN-and-pix2pix):
 * import as a bundle (safe reader: nothing in a file is run), with its ONNX parity figure.
 */
import { z } from 'zod';
import type { ModelKindName } from '../capabilities';
import { channel, filePath } from '../define';

export interface PytorchImportResult {
  id: string;
  dir: string;
  /** The registry kind whose reference counterpart the files are. */
  kind: ModelKindName;
  mode: 'eval' | 'train';
  networks: { name: string; file: string; sha256: string; format: 'zip' | 'legacy'; detected: string }[];
  onnx: { direction: 'AtoB' | 'BtoA'; file: string; maxAbsDiff: number; pass: boolean }[];
  pass: boolean;
}

/** A training run made from the reference's checkpoints (start it with train.resume). */
export interface PytorchRunResult {
  runId: string;
  model: ModelKindName;
  /** What came across and what starts fresh (the optimizer state, the step count, missing discriminators). */
  note: string;
  freshNetworks: string[];
}

export const interopChannels = {
  'import.pytorch': channel<{ jobId: string }>()(
    z
      .object({
        /** latest_net_G.pth (pix2pix), or latest_net_G_A.pth + latest_net_G_B.pth (CycleGAN); *_net_D*.pth may come along. */
        files: z.array(filePath).min(1).max(6),
        netG: z.enum(['auto', 'resnet_9blocks', 'resnet_6blocks', 'unet_256', 'unet_128']).default('auto'),
        norm: z.enum(['auto', 'instance', 'batch']).default('auto'),
        ngf: z.number().int().min(1).max(1024).optional(),
        name: z.string().min(1).max(80).optional(),
        size: z.number().int().min(8).max(4096).optional(),
        /** eval: running statistics, no dropout (test.py --eval); train: test.py without --eval at batch size 1. */
        mode: z.enum(['eval', 'train']).default('eval'),
      })
      .strict(),
    'Import PyTorch checkpoints of the reference implementation as a bundle (a job; job.done carries PytorchImportResult with the ONNX parity).',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
  'import.pytorchRun': channel<PytorchRunResult>()(
    z
      .object({
        /** The set to continue: net_G (+ net_D), or net_G_A + net_G_B (+ net_D_A, net_D_B). */
        files: z.array(filePath).min(1).max(6),
        datasetId: z.string().min(1).max(200),
        steps: z.number().int().min(1).max(10_000_000).optional(),
        name: z.string().min(1).max(100).optional(),
        /** Training options (size, batchSize, lr, ...); the architecture comes from the files. */
        options: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])).default({}),
      })
      .strict(),
    "Make a training run (reference variant) whose step-0 checkpoint holds the reference's checkpoints; train.resume starts it. The optimizer state starts fresh (the files hold weights only).",
    ['NOT_FOUND', 'BAD_INPUT', 'VALIDATION'],
  ),
} as const;
