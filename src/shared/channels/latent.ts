/**
 * Latent exploration: seeded z, rendering a point (sliders, arithmetic, class blends) fast
 * enough for live sliders, interpolation strips, PCA directions (GANSpace).
 */
import { z } from 'zod';
import { channel, filePath } from '../define';
import { modelRef } from './bundle';
import { imageBytes, type PngImage } from './infer';

const seed = z.number().int().min(0).max(2 ** 32 - 1);
const vec = z.array(z.number().finite()).min(1).max(4096);
/** A latent point: from a seed (z = seeded normal) or given. */
export const zRef = z.union([z.object({ seed }).strict(), z.object({ z: vec }).strict()]);
export type ZRefDto = z.infer<typeof zRef>;
const imageIn = z.union([imageBytes, filePath]);
const directionsRequest = {
  count: z.number().int().min(1).max(32).default(8),
  samples: z.number().int().min(8).max(4096).default(256),
  seed: seed.default(0),
  /** 'features': an early activation (GANSpace); 'output': the generated pixels. */
  space: z.enum(['features', 'output']).default('features'),
  label: z.number().int().min(0).optional(),
};
/** The request that finds PCA directions (latent.directions); sliders name theirs by the same request. */
const directionsRequestSchema = z.object(directionsRequest);
export type DirectionsRequest = z.output<typeof directionsRequestSchema>;
const pcaSliders = directionsRequestSchema.extend({ amounts: z.array(z.number().finite()).max(32) }).strict();
export type PcaSlidersDto = z.input<typeof pcaSliders>;

export interface LatentDirections {
  /** Unit vectors in z, orthonormal, by decreasing explained variance. */
  directions: number[][];
  /** Spread of z along each direction: slider value 1 = one sigma. */
  sigma: number[];
  explainedVarianceRatio: number[];
  space: 'features' | 'output';
  /** The ONNX node whose activation was analysed (space = features). */
  layer?: string;
  samples: number;
}

export const latentChannels = {
  'latent.sample': channel<{ z: number[][]; latentSize: number }>()(
    z
      .object({
        model: modelRef.optional(),
        latentSize: z.number().int().min(1).max(4096).optional(),
        seed: seed.default(0),
        count: z.number().int().min(1).max(256).default(1),
      })
      .strict()
      .refine((r) => r.model || r.latentSize, 'give a model or a latentSize'),
    'Seeded standard-normal latent vectors (vector i uses seed + i, as generate does).',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
  'latent.render': channel<PngImage & { z: number[]; ms: number }>()(
    z
      .object({
        model: modelRef,
        z: zRef,
        /** Arithmetic: z - minus + plus. */
        minus: zRef.optional(),
        plus: zRef.optional(),
        /** Per-dimension sliders: set z[index] = value (sigma units). */
        dims: z.array(z.object({ index: z.number().int().min(0), value: z.number().finite() }).strict()).max(4096).optional(),
        /** Direction sliders: z += amount * sigma * direction. */
        moves: z.array(z.object({ direction: vec, amount: z.number().finite(), sigma: z.number().positive().optional() }).strict()).max(64).optional(),
        label: z.number().int().min(0).optional(),
        /** cgan: mix two classes, t in [0, 1] (0 = a). */
        blend: z.object({ a: z.number().int().min(0), b: z.number().int().min(0), t: z.number().min(0).max(1) }).strict().optional(),
        /** cgan: any class weights (one per class). */
        labelWeights: z.array(z.number().finite()).max(1000).optional(),
        /**
         * PCA-direction sliders by index: the engine finds the directions with this request (as
         * latent.directions does, cached) and moves z by amount[i] sigma along direction i. The
         * PNG's provenance records them, so a dropped image restores the sliders.
         */
        pca: pcaSliders.optional(),
      })
      .strict(),
    'Render one latent point to PNG (cached ONNX session: fast enough for live sliders); the PNG carries its provenance (seed, sliders, class blend).',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
  'latent.directions': channel<LatentDirections>()(
    z
      .object({
        model: modelRef,
        ...directionsRequest,
      })
      .strict(),
    'PCA directions in z (GANSpace: PCA on an early activation or the outputs, regressed back to z, orthonormal).',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
  'latent.interpolate': channel<{ frames: PngImage[]; z: number[][]; sheet?: PngImage }>()(
    z
      .object({
        model: modelRef,
        from: zRef.optional(),
        to: zRef.optional(),
        /** Autoencoder: interpolate between the encodings of two images (bytes or paths). */
        fromImage: imageIn.optional(),
        toImage: imageIn.optional(),
        steps: z.number().int().min(2).max(128).default(8),
        mode: z.enum(['lerp', 'slerp']).default('slerp'),
        label: z.number().int().min(0).optional(),
        /** cgan: the class moves from a to b along the strip. */
        blend: z.object({ a: z.number().int().min(0), b: z.number().int().min(0) }).strict().optional(),
        /** Also return every frame side by side in one PNG (the exported strip, with its provenance). */
        sheet: z.boolean().default(false),
      })
      .strict(),
    'Frames from A to B (inclusive), lerp or slerp; autoencoders can take two images. Every frame (and the sheet) carries its provenance.',
    ['NOT_FOUND', 'BAD_INPUT'],
    { uploads: { fromImage: 'fromImage', toImage: 'toImage' } },
  ),
} as const;
