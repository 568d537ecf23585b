/**
 * ONNX export of a bundle's generator: opset 17, NCHW float32 in [-1, 1], dynamic batch,
 * metadata + sidecar JSON, checked against tfjs in onnxruntime (max |diff| < 1e-4 or failed).
 */
import { z } from 'zod';
import { channel, writePath } from '../define';
import { modelRefWritten } from './bundle';

/** A model input or output as written in the ONNX graph. */
export interface OnnxIoInfo {
  name: string;
  dtype: 'float32' | 'int64';
  shape: (number | string)[];
}

/** ONNX vs tfjs on fixed seeded inputs. */
export interface OnnxParityReport {
  maxAbsDiff: number;
  meanAbsDiff: number;
  threshold: number;
  pass: boolean;
  batch: number;
  seed: number;
  /** Per file when several (autoencoder: model, encoder, decoder). */
  files: { file: string; maxAbsDiff: number; pass: boolean }[];
  /** [height, width] pairs parity ran at (translators with dynamic height/width: training size and a non-square 2x/3x size). */
  sizes?: [number, number][];
  note?: string;
}

export interface OnnxExportResult {
  file: string;
  sidecar: string;
  /** All files written (autoencoders: model, encoder, decoder). */
  files: string[];
  bytes: number;
  pass: boolean;
  parity: OnnxParityReport;
  inputs: OnnxIoInfo[];
  outputs: OnnxIoInfo[];
  /** For people: the parity figure, or why the export failed. */
  message: string;
}

export const exportChannels = {
  'export.onnx': channel<{ jobId: string }>()(
    z
      .object({
        /** Written into too when `file` is not given (the default file sits beside the bundle). */
        model: modelRefWritten,
        /** Target .onnx path; default <bundle>/<id>.onnx (shipped bundles: <workspace>/exports/<id>/<id>.onnx). */
        file: writePath.optional(),
        /** Dropout at inference; default: what the bundle says, else identity. */
        dropout: z.enum(['identity', 'keep']).optional(),
        /** cyclegan: AtoB (G_A, default file <id>.onnx) or BtoA (G_B, default file <id>.BtoA.onnx). */
        direction: z.enum(['AtoB', 'BtoA']).default('AtoB'),
      })
      .strict(),
    'Export a bundle to ONNX as a job; job.done carries OnnxExportResult (parity maxAbsDiff, pass/fail).',
    ['NOT_FOUND', 'BAD_INPUT', 'CONFLICT'],
  ),
} as const;
