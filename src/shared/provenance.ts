/**
 * The provenance record Atelier writes into every PNG it saves (an iTXt chunk, keyword
 * `atelier`), and reads back with `atelier inspect`. A PNG is untrusted input: the schema is
 * strict, bounded in every string and array, and names files only by their base name, so a forged
 * chunk cannot smuggle a path or a huge value into the app.
 */
import { z } from 'zod';
import { modelKindSchema } from './capabilities';

export const PROVENANCE_KEYWORD = 'atelier';
/** Largest chunk text accepted (a 512-wide latent vector in JSON is ~10 KiB). */
export const PROVENANCE_MAX_BYTES = 64 * 1024;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');
/** A bundle id as the registry accepts it (no separators, so never a path). */
const bundleId = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'a bundle id').refine((s) => s !== '.' && s !== '..', 'a bundle id');
/** A file's base name only: no folder part, nothing a path could be built from. */
const baseName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[/\\\0]/.test(s) && s !== '.' && s !== '..', 'a file name without folders');
const text = z.string().max(200);

export const ProvenanceSchema = z
  .object({
    format: z.literal('atelier-provenance'),
    version: z.literal(1),
    app: z.object({ name: z.literal('atelier'), version: text }).strict(),
    /** What made the image. */
    op: z.enum(['translate', 'generate']),
    model: z
      .object({
        id: bundleId,
        name: text,
        /** A registry kind, checked by form only (a kind added later still reads back). */
        kind: modelKindSchema,
        /** sha256 of the weights the runtime loaded (the ONNX file, or the bundle's weight files). */
        weightsSha256: sha256,
        /** Training steps of the checkpoint, when the bundle records them. */
        step: z.number().int().nonnegative().optional(),
        runtime: z.enum(['onnx', 'tfjs']),
        /** onnxruntime execution provider or tfjs backend. */
        backend: text,
        direction: z.enum(['AtoB', 'BtoA']).optional(),
      })
      .strict(),
    /** translate: the input image. */
    input: z.object({ name: baseName, sha256, width: z.number().int().positive(), height: z.number().int().positive() }).strict().optional(),
    width: z.number().int().positive().max(1 << 20),
    height: z.number().int().positive().max(1 << 20),
    /** translate: native | model | long side N; tiling when the image ran in tiles. */
    scale: z.union([z.enum(['native', 'model']), z.number().int().positive()]).optional(),
    tiles: z.number().int().positive().optional(),
    tileSize: z.number().int().positive().optional(),
    overlap: z.number().int().nonnegative().optional(),
    /** generate: z = sampleZ(seed) (infer/latent), so the seed alone reproduces the image. */
    seed: z.number().int().optional(),
    latent: z.array(z.number().finite()).max(4096).optional(),
    label: z.number().int().nonnegative().max(100000).optional(),
    className: text.optional(),
    createdAt: z.iso.datetime(),
  })
  .strict();

export type Provenance = z.infer<typeof ProvenanceSchema>;
