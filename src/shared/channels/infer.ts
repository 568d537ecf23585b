/**
 * Translation and generation with a model bundle. Images cross as PNG bytes (or a path the engine
 * can read); outputs are PNG bytes with their size.
 */
import { z } from 'zod';
import { channel, filePath } from '../define';
import { modelRef } from './bundle';

/** Encoded image bytes (PNG, JPEG, WebP, ...). Any Uint8Array (Buffer included). */
export const imageBytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength > 0, 'image bytes (a non-empty Uint8Array)');
export const RUNTIMES = ['onnx', 'tfjs'] as const;
export type InferRuntime = (typeof RUNTIMES)[number];
export const runtime = z.enum(RUNTIMES).default('onnx');
export const FITS = ['fill', 'cover', 'contain'] as const;
/** cyclegan: which generator (AtoB = G_A, the default; BtoA = G_B). Ignored by other kinds. */
export const direction = z.enum(['AtoB', 'BtoA']).default('AtoB');

export interface PngImage {
  png: Uint8Array;
  width: number;
  height: number;
}

export interface TranslateResult extends PngImage {
  inputWidth: number;
  inputHeight: number;
  ms: number;
  runtime: InferRuntime;
}

export interface TranslateFolderResult {
  outDir: string;
  written: string[];
  failed: { file: string; error: string }[];
  total: number;
}

export const inferChannels = {
  'infer.translate': channel<TranslateResult>()(
    z
      .object({
        model: modelRef,
        /** PNG/JPEG/... bytes, or `path`. */
        image: imageBytes.optional(),
        path: filePath.optional(),
        /** Map the output back to the input's size and aspect (default true; fit contain: letterbox cut off; cover: the centre square). */
        keepSize: z.boolean().default(true),
        fit: z.enum(FITS).default('fill'),
        runtime,
        direction,
      })
      .strict()
      .refine((r) => (r.image ? 1 : 0) + (r.path ? 1 : 0) === 1, 'give exactly one of image (bytes) or path'),
    'Translate one image with a pix2pix/cyclegan bundle (autoencoders reconstruct). PNG out.',
    ['NOT_FOUND', 'BAD_INPUT', 'UNAVAILABLE'],
    { uploads: { image: 'path' } },
  ),
  'infer.translateFolder': channel<{ jobId: string }>()(
    z
      .object({
        model: modelRef,
        input: filePath,
        output: filePath,
        keepSize: z.boolean().default(true),
        fit: z.enum(FITS).default('fill'),
        runtime,
        direction,
      })
      .strict(),
    'Translate every image of a folder into another folder (same names, .png) as a job; the result lists written and failed files.',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
  'infer.generate': channel<{ images: (PngImage & { seed: number })[] }>()(
    z
      .object({
        model: modelRef,
        seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
        count: z.number().int().min(1).max(64).default(1),
        label: z.number().int().min(0).optional(),
        runtime,
      })
      .strict(),
    'Generate images with a gan/cgan (or autoencoder decoder) bundle; image i uses seed + i.',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
} as const;
