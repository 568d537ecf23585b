/**
 * Translation and generation with a model bundle. Images cross as PNG bytes (or a path the engine
 * can read); outputs are PNG bytes with their size.
 */
import { z } from 'zod';
import { channel, filePath, writePath } from '../define';
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

/**
 * The size a translator runs at: 'native' (the image's own size, the default), 'model' (the
 * training size, output scaled back) or a long side in pixels (aspect kept, output scaled back).
 */
export const scale = z.union([z.enum(['native', 'model']), z.number().int().min(8).max(16384)]);
export type TranslateScale = z.infer<typeof scale>;

/** How to run at the chosen scale: tile side (default from the memory budget) and overlap, in pixels. */
const tiling = {
  scale: scale.optional(),
  tile: z.number().int().min(16).max(8192).optional(),
  overlap: z.number().int().min(0).max(4096).optional(),
};

export interface TranslateResult extends PngImage {
  inputWidth: number;
  inputHeight: number;
  /** The size the network ran at (then scaled back to the input's size). */
  workWidth: number;
  workHeight: number;
  scale: TranslateScale;
  /** 1 when untiled. */
  tiles: number;
  tileSize?: number;
  overlap?: number;
  /** The model's training size. */
  trainSize: number;
  /** Set when the run is more than 2x away from the training scale (names the training size). */
  warning?: string;
  /** Conversions made (colour to grey, alpha flattened, a fixed-size model). */
  notes: string[];
  ms: number;
  runtime: InferRuntime;
}

export interface TranslateFolderResult {
  outDir: string;
  written: string[];
  failed: { file: string; error: string }[];
  total: number;
}

const translateRequest =
  z
    .object({
      model: modelRef,
      /** PNG/JPEG/... bytes, or `path`. */
      image: imageBytes.optional(),
      path: filePath.optional(),
      /** The input's file name, for the output's provenance only (bytes have no name; its base name is kept, never used as a path). */
      inputName: z.string().min(1).max(255).optional(),
      /** scale 'model': map the output back to the input's size and aspect (default true; false with no scale means scale 'model'). */
      keepSize: z.boolean().default(true),
      /** scale 'model': how the input meets the square (contain: letterbox cut off; cover: the centre square). */
      fit: z.enum(FITS).default('fill'),
      ...tiling,
      runtime,
      direction,
    })
    .strict()
    .refine((r) => (r.image ? 1 : 0) + (r.path ? 1 : 0) === 1, 'give exactly one of image (bytes) or path');

export const inferChannels = {
  'infer.translate': channel<TranslateResult>()(
    translateRequest,
    'Translate one image with a pix2pix/cyclegan bundle at its own size (scale), tiled above the memory budget (autoencoders reconstruct at their size). PNG out with the input\'s width and height.',
    ['NOT_FOUND', 'BAD_INPUT', 'UNAVAILABLE'],
    { uploads: { image: 'path' } },
  ),
  'infer.translateJob': channel<{ jobId: string }>()(
    translateRequest,
    'infer.translate as a job (large images: progress per tile, cancel); job.done carries the TranslateResult.',
    ['NOT_FOUND', 'BAD_INPUT'],
    { uploads: { image: 'path' } },
  ),
  'infer.translateFolder': channel<{ jobId: string }>()(
    z
      .object({
        model: modelRef,
        input: filePath,
        output: writePath,
        keepSize: z.boolean().default(true),
        fit: z.enum(FITS).default('fill'),
        ...tiling,
        /** Appended to each name (before .png); required when output is the input folder (save next to the originals). */
        suffix: z.string().max(40).regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore').optional(),
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
