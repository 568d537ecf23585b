/**
 * Datasets: validate a source before anything is written, import it as a job into
 * `<workspace>/datasets/<id>/` (dataset.json + normalised copies), list, page through thumbnails,
 * delete, and build the demo datasets from Fashion-MNIST.
 * Thumbnails cross the boundary as PNG bytes (Uint8Array), never as JSON arrays.
 */
import { z } from 'zod';
import { channel, filePath, seed } from '../define';

export const DATASET_KINDS = ['paired', 'unpaired', 'labeled', 'fashion-mnist'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** How the files of a source are laid out (auto-detected unless given). */
export const DATASET_LAYOUTS = [
  'auto',
  'side-by-side', // paired: one image holds A | B (pix2pix); optional train/ val/ test/ sub-folders
  'folders', // paired: A/ and B/ matched by stem; unpaired: trainA/ trainB/ [testA/ testB/]; labeled: one folder per class
  'pairs', // paired: an explicit list of {a, b} (files dropped together in the UI)
  'idx', // fashion-mnist: idx(.gz) files
] as const;
export type DatasetLayout = (typeof DATASET_LAYOUTS)[number];

/** Network families whose size rules the validator checks. */
export const SIZE_RULE_NETWORKS = ['unet', 'resnet', 'any'] as const;
export type SizeRuleNetwork = (typeof SIZE_RULE_NETWORKS)[number];

export const FIT_MODES = ['cover', 'contain', 'fill'] as const;
export type FitMode = (typeof FIT_MODES)[number];

export const datasetId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_-]+$/, 'dataset ids are letters, digits, dash, underscore');
const hexColour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #ffffff');

/** What to read: a folder or file (`path`), or explicit pairs (`pairs`, paired kind only). */
export const datasetSourceSchema = z
  .object({
    kind: z.enum(DATASET_KINDS),
    path: filePath.optional(),
    pairs: z
      .array(z.object({ a: filePath, b: filePath }).strict())
      .min(1)
      .max(100_000)
      .optional(),
    layout: z.enum(DATASET_LAYOUTS).default('auto'),
    /** Target square size after resize (pixels). Omit to keep the source size. */
    size: z.number().int().min(8).max(2048).optional(),
    /** Which networks the size must suit (U-Net: power of two >= 16). */
    network: z.enum(SIZE_RULE_NETWORKS).default('any'),
    /** Training batch size, for the memory estimate. */
    batchSize: z.number().int().min(1).max(1024).default(1),
  })
  .strict();
export type DatasetSourceRequest = z.input<typeof datasetSourceSchema>;

export const datasetImportSchema = datasetSourceSchema
  .extend({
    name: z.string().min(1).max(80),
    /** How a non-square or other-sized image meets `size`: crop (cover), pad (contain) or stretch (fill). */
    fit: z.enum(FIT_MODES).default('cover'),
    /** Transparent pixels are flattened onto this colour. */
    background: hexColour.default('#ffffff'),
    /** 'auto': 1 channel when every file is greyscale, else 3 (RGB). */
    channels: z.union([z.literal('auto'), z.literal(1), z.literal(3)]).default('auto'),
    /** Share of items held out for the test split when the source has no test folder. */
    testFraction: z.number().min(0).max(0.5).default(0.1),
    seed,
    /** Go on with the good files when some are bad (the user agreed in the validation report). */
    acceptPartial: z.boolean().default(false),
    /** Replace a dataset with the same id. */
    replace: z.boolean().default(false),
  })
  .strict();
export type DatasetImportRequest = z.input<typeof datasetImportSchema>;

// ---------------------------------------------------------------------------------------------
// Validation report

export type FileVerdict = 'ok' | 'warning' | 'error';
export type FileIssue =
  | 'EMPTY'
  | 'UNREADABLE'
  | 'NOT_IMAGE'
  | 'CORRUPT'
  | 'TOO_LARGE'
  | 'SYMLINK_LOOP'
  | 'UNSUPPORTED'
  | 'MISSING_PARTNER';

export interface FileReport {
  /** The source file as given. */
  path: string;
  /** Path relative to the source folder, for display. */
  rel: string;
  /** paired: 'a' | 'b' | 'ab' (side by side); unpaired: 'a' | 'b'; labeled: 'x'. */
  role?: 'a' | 'b' | 'ab' | 'x';
  split?: 'train' | 'test';
  /** labeled: the class name (its folder). */
  label?: string;
  verdict: FileVerdict;
  issue?: FileIssue;
  /** For people: what is wrong or what will be done (empty when ok). */
  message: string;
  warnings: string[];
  bytes?: number;
  format?: string;
  width?: number;
  height?: number;
  channels?: number;
  bitDepth?: number;
  /** 'srgb' | 'b-w' | 'cmyk' | 'rgb16' | 'grey16' ... (libvips interpretation). */
  space?: string;
  hasAlpha?: boolean;
  animated?: boolean;
  pages?: number;
  /** EXIF orientation 1..8 (1 or absent: upright). */
  orientation?: number;
}

export interface SizeCheck {
  /** Distinct source sizes with their counts (most frequent first, at most 20). */
  sizes: { width: number; height: number; count: number }[];
  /** The size the images will have after import (null: kept as they are). */
  target: number | null;
  network: SizeRuleNetwork;
  /** The rule, in words. */
  rule: string;
  /** Whether the target (or every source size when no target) satisfies the rule. */
  ok: boolean;
  message: string;
  /** Sizes that satisfy the rule near the data, to offer in the UI. */
  suggestions: number[];
  /** Whether some images are not square or not at the target size: they will be resized/cropped. */
  needsResize: boolean;
}

export interface MemoryEstimate {
  size: number;
  channels: number;
  batchSize: number;
  /** Bytes for one batch of input tensors (float32). */
  batchBytes: number;
  /** Rough training footprint in bytes (weights + Adam state + activations). */
  trainingBytes: number;
  /** Bytes to cache the whole dataset in memory as uint8 (the loader does this when small). */
  datasetBytes: number;
  explanation: string;
}

export interface ValidationReport {
  kind: DatasetKind;
  layout: Exclude<DatasetLayout, 'auto'>;
  root: string | null;
  files: FileReport[];
  counts: { files: number; ok: number; warnings: number; errors: number; items: number; train: number; test: number };
  /** Paired: names whose partner is missing, per side. */
  pairs?: { matched: number; missingB: string[]; missingA: string[] };
  /** Unpaired: items per domain. */
  domains?: { a: number; b: number };
  /** Labeled / fashion-mnist: class names and counts. */
  classes?: { name: string; count: number }[];
  /** True when every readable file is greyscale (the dataset keeps 1 channel). */
  greyscale: boolean;
  size: SizeCheck;
  memory: MemoryEstimate;
  /** Dataset-level problems (no files, no pairs, a missing folder). */
  problems: string[];
  /** Import can go ahead without asking. */
  clean: boolean;
  /** Import can go ahead with acceptPartial (some files will be left out). */
  importable: boolean;
}

// ---------------------------------------------------------------------------------------------
// Manifest (dataset.json)

export interface DatasetItem {
  /** Stable name (source stem or index). */
  name: string;
  split: 'train' | 'test';
  /** Files relative to the dataset folder: paired {a,b}; unpaired {a} or {b}; labeled {x}. */
  files: { a?: string; b?: string; x?: string };
  label?: number;
  /** sha256 (hex) of each stored file, same keys as `files`. */
  hashes: { a?: string; b?: string; x?: string };
  /** Source files (for traceability). */
  source?: { a?: string; b?: string; x?: string };
}

/** Packed storage (fashion-mnist, demo datasets): idx files per split and role. */
export interface PackedSplit {
  /** role -> idx.gz file (relative), N x H x W [x C] uint8. */
  images: { a?: string; b?: string; x?: string };
  labels?: string;
  count: { a?: number; b?: number; x?: number };
}

/** One source photo of a demo dataset: its split (whole photos are held out) and licence. */
export interface DatasetSourceFile {
  file: string;
  sha256: string;
  width: number;
  height: number;
  /** val: held out for choosing a checkpoint (the colouriser demo), never trained or tested on. */
  split: 'train' | 'test' | 'val';
  /** Items cut from it. */
  items: number;
  package: string | null;
  copyright: string;
  license: string;
}

export interface DatasetManifest {
  schemaVersion: 1;
  id: string;
  name: string;
  kind: DatasetKind;
  createdAt: string;
  source: { layout: Exclude<DatasetLayout, 'auto'>; path: string | null; demo?: string; from?: string };
  image: { width: number; height: number; channels: 1 | 3 };
  /** val: a validation split (packed.val) some demo datasets hold for choosing checkpoints. */
  counts: { train: number; test: number; val?: number; a?: number; b?: number; warnings: number; skipped: number };
  classes?: string[];
  storage: 'files' | 'packed';
  /** storage 'files' */
  items?: DatasetItem[];
  /** storage 'packed' */
  packed?: { train: PackedSplit; test: PackedSplit; val?: PackedSplit };
  /** Where the images came from, with each source file's licence (demo datasets built from photos). */
  sources?: DatasetSourceFile[];
  /** sha256 of each stored file (relative path -> hex). */
  fileHashes: Record<string, string>;
  /** sha256 over the sorted fileHashes: same data, same hash. */
  contentHash: string;
  options: { size: number | null; fit: FitMode; background: string; seed: number; testFraction: number };
}

export type DatasetSummary = Omit<DatasetManifest, 'items' | 'packed' | 'fileHashes'> & { bytes: number };

export interface DatasetThumb {
  index: number;
  name: string;
  split: 'train' | 'test';
  label?: number;
  role: 'a' | 'b' | 'x';
  png: Uint8Array;
  width: number;
  height: number;
}

export interface DatasetImportResult {
  dataset: DatasetSummary;
  imported: number;
  skipped: { path: string; message: string }[];
  warnings: number;
}

export interface DatasetDemoResult {
  datasets: DatasetSummary[];
  /** Where the Fashion-MNIST images came from. */
  from: 'debian' | 'resources';
  built: string[];
  /** The colour photo demos (asked with photos: true): built, or why not and what to install. */
  photos?: { built: string[]; dir: string | null; missing?: { message: string; hint: string } };
}

export const datasetChannels = {
  'dataset.validate': channel<ValidationReport>()(
    datasetSourceSchema,
    'Pre-flight check of a source: every file (readable, size, channels, depth, alpha, animation, orientation), missing partners, size rule, memory estimate. Writes nothing.',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
  'dataset.import': channel<{ jobId: string }>()(
    datasetImportSchema,
    'Import a source as a dataset (a job; result DatasetImportResult). Built in a temp folder and renamed at the end.',
    ['NOT_FOUND', 'BAD_INPUT', 'CONFLICT'],
  ),
  'dataset.list': channel<DatasetSummary[]>()(z.object({}).strict(), 'Datasets in the workspace, newest first.'),
  'dataset.get': channel<{ summary: DatasetSummary; items: DatasetThumb[]; total: number; offset: number }>()(
    z
      .object({
        id: datasetId,
        split: z.enum(['train', 'test']).default('train'),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(0).max(200).default(48),
        /** Thumbnail edge in pixels (images are never upscaled beyond 4x, nearest neighbour). */
        thumbSize: z.number().int().min(8).max(512).default(96),
      })
      .strict(),
    'A dataset summary and one page of thumbnails (PNG bytes).',
    ['NOT_FOUND'],
  ),
  'dataset.delete': channel<{ deleted: boolean }>()(z.object({ id: datasetId }).strict(), 'Delete a dataset folder.', [
    'NOT_FOUND',
  ]),
  'dataset.demo': channel<{ jobId: string }>()(
    z.object({ force: z.boolean().default(false), photos: z.boolean().default(false) }).strict(),
    'Build (or check) the demo datasets from Fashion-MNIST: fashion, edges2fashion, sneaker2boot; with photos, also the colour photo demos (nature-colorize, green2autumn) when mate-backgrounds is installed (a job; result DatasetDemoResult).',
    ['UNAVAILABLE'],
  ),
} as const;
