/**
 * The provenance record Atelier writes into every PNG it saves or returns (an iTXt chunk, keyword
 * `atelier`), reads back with `atelier inspect`, and restores from when a PNG is dropped on the
 * Translate or Latent page. A PNG is untrusted input: the schema is strict, bounded in every
 * string and array, and names files only by their base name and bundles only by id, so a forged
 * chunk cannot smuggle a path or a huge value into the app; it can only select existing bundles.
 */
import { z } from 'zod';
import { modelKindSchema } from './capabilities';

export const PROVENANCE_KEYWORD = 'atelier';
/** Largest chunk text accepted (a 512-wide latent vector in JSON is ~10 KiB). */
export const PROVENANCE_MAX_BYTES = 64 * 1024;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');
/** A bundle id as the registry accepts it (no separators, so never a path). */
export const provenanceBundleId = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'a bundle id').refine((s) => s !== '.' && s !== '..', 'a bundle id');
/** A file's base name only: no folder part, nothing a path could be built from. */
const baseName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[/\\\0]/.test(s) && s !== '.' && s !== '..', 'a file name without folders');
const text = z.string().max(200);
const int = z.number().int();
const seed = int.min(0).max(2 ** 32 - 1);
const vector = z.array(z.number().finite()).min(1).max(4096);
const classIndex = int.nonnegative().max(100000);

/** What made the image. */
export const PROVENANCE_OPS = ['translate', 'generate', 'latent', 'interpolate', 'samples'] as const;
export type ProvenanceOp = (typeof PROVENANCE_OPS)[number];

/** A latent end point: a seed (z = sampleZ(seed)) or the vector itself. */
const zPoint = z.union([z.object({ seed }).strict(), z.object({ z: vector }).strict(), z.object({ imageSha256: sha256 }).strict()]);

const modelFacts = z
  .object({
    id: provenanceBundleId,
    name: text,
    /** The registry kind, as a label (an open set: behaviour follows capabilities). */
    kind: modelKindSchema,
    /** sha256 of the weights the runtime loaded (the ONNX file, or the bundle's weight files); absent for in-training samples. */
    weightsSha256: sha256.optional(),
    /** Training steps of the checkpoint, when the bundle records them. */
    step: int.nonnegative().optional(),
    runtime: z.enum(['onnx', 'tfjs']),
    /** What ran it: the onnxruntime execution provider(s) the session used, or the tfjs backend. */
    backend: text,
    direction: z.enum(['AtoB', 'BtoA']).optional(),
  })
  .strict();

export const ProvenanceSchema = z
  .object({
    format: z.literal('atelier-provenance'),
    version: z.literal(1),
    app: z.object({ name: z.literal('atelier'), version: text }).strict(),
    op: z.enum(PROVENANCE_OPS),
    model: modelFacts,
    /** samples: the training run whose in-memory weights drew the grid. */
    run: z.object({ id: provenanceBundleId }).strict().optional(),
    /** translate: the input image. */
    input: z.object({ name: baseName, sha256, width: z.number().int().positive(), height: z.number().int().positive() }).strict().optional(),
    width: z.number().int().positive().max(1 << 20),
    height: z.number().int().positive().max(1 << 20),
    /** translate: native | model | long side N; tiling when the image ran in tiles; how the input met the square at scale 'model'. */
    scale: z.union([z.enum(['native', 'model']), z.number().int().positive()]).optional(),
    tiles: z.number().int().positive().optional(),
    tileSize: z.number().int().positive().optional(),
    overlap: z.number().int().nonnegative().optional(),
    fit: z.enum(['fill', 'cover', 'contain']).optional(),
    keepSize: z.boolean().optional(),
    /** generate / latent: the base seed; z = sampleZ(seed) before any slider. */
    seed: seed.optional(),
    /** The latent vector that was rendered (after sliders); left out when it would not fit the chunk. */
    latent: vector.optional(),
    label: classIndex.optional(),
    className: text.optional(),
    /** latent: the slider positions that moved z away from the seed's vector, and the class blend. */
    sliders: z
      .object({
        /** PCA direction sliders (sigma units), with the request that finds the same directions again. */
        pca: z
          .object({
            count: int.min(1).max(32),
            samples: int.min(8).max(4096),
            seed,
            space: z.enum(['features', 'output']),
            label: classIndex.optional(),
            amounts: z.array(z.number().finite()).max(32),
          })
          .strict()
          .optional(),
        /** Raw dimensions set to a value. */
        dims: z.array(z.object({ index: int.min(0).max(4095), value: z.number().finite() }).strict()).max(4096).optional(),
        /** Class blend: class a towards b by t. */
        blend: z.object({ a: classIndex, b: classIndex, t: z.number().min(0).max(1) }).strict().optional(),
        labelWeights: z.array(z.number().finite()).max(1000).optional(),
      })
      .strict()
      .optional(),
    /** interpolate: the path; `frame` names one frame (absent: the strip of all frames side by side). */
    interpolation: z
      .object({
        from: zPoint,
        to: zPoint,
        steps: int.min(2).max(128),
        mode: z.enum(['lerp', 'slerp']),
        frame: int.min(0).max(127).optional(),
        blend: z.object({ a: classIndex, b: classIndex }).strict().optional(),
      })
      .strict()
      .optional(),
    createdAt: z.iso.datetime(),
  })
  .strict();

export type Provenance = z.infer<typeof ProvenanceSchema>;
