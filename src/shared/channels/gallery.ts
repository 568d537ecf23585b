/**
 * The Gallery: every output the studio saved (Translate and Latent saves, exported strips, PNGs
 * imported from elsewhere) and every folder translation's files, with their provenance, listed a
 * page at a time (thousands of items never load at once), filtered by model, model kind and what
 * made them. Items are addressed by id; the engine alone knows their files.
 */
import { z } from 'zod';
import { channel, filePath } from '../define';
import { imageBytes, type PngImage } from './infer';
import type { Provenance, ProvenanceOp } from '../provenance';
import { PROVENANCE_OPS } from '../provenance';

export interface GalleryItem {
  id: string;
  /** Where the file is (inside <workspace>/gallery for saved items; a folder translation's output folder otherwise). */
  file: string;
  name: string;
  op: ProvenanceOp;
  model: { id: string; kind: string };
  createdAt: string;
  width: number;
  height: number;
  /** saved: a copy in the workspace's gallery (delete removes it); folder: a folder translation's file (delete forgets it, the file stays). */
  origin: 'saved' | 'folder';
}

export interface GalleryPage {
  items: GalleryItem[];
  /** Matching items in all (the page is items[offset .. offset+limit]). */
  total: number;
  /** Values the filters offer, over the whole gallery. */
  models: string[];
  kinds: string[];
  ops: ProvenanceOp[];
}

export const galleryId = z.string().min(1).max(80).regex(/^[A-Za-z0-9_-]+$/, 'gallery ids are letters, digits, dash, underscore');

export const galleryChannels = {
  'gallery.list': channel<GalleryPage>()(
    z
      .object({
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(500).default(60),
        model: z.string().min(1).max(128).optional(),
        kind: z.string().min(1).max(64).optional(),
        op: z.enum(PROVENANCE_OPS).optional(),
      })
      .strict(),
    'Gallery items, newest first, a page at a time, filtered by model id, model kind and op.',
  ),
  'gallery.thumb': channel<PngImage>()(
    z.object({ id: galleryId, size: z.number().int().min(16).max(512).default(128) }).strict(),
    "A small PNG of one item (long side `size`, pixel-exact when upscaling a small output).",
    ['NOT_FOUND'],
  ),
  'gallery.get': channel<{ item: GalleryItem; png: Uint8Array; provenance: Provenance | null }>()(
    z.object({ id: galleryId }).strict(),
    'One item at full size with its provenance (read again from the file: null when the file lost its chunk).',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
  'gallery.add': channel<GalleryItem>()(
    z
      .object({ image: imageBytes.optional(), path: filePath.optional(), name: z.string().min(1).max(255).optional() })
      .strict()
      .refine((r) => (r.image ? 1 : 0) + (r.path ? 1 : 0) === 1, 'give exactly one of image (bytes) or path'),
    'Save a PNG with Atelier provenance into the gallery (a page save, or an import of an earlier output); a PNG without it is refused.',
    ['BAD_INPUT'],
    { uploads: { image: 'path' } },
  ),
  'gallery.delete': channel<{ deleted: boolean; fileRemoved: boolean }>()(
    z.object({ id: galleryId }).strict(),
    "Remove an item: a saved copy's file is deleted; a folder translation's file stays where it is and leaves the gallery.",
    ['NOT_FOUND'],
  ),
} as const;
