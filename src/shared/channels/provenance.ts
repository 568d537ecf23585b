/**
 * Reading a PNG's provenance to restore the settings that made it (drag back onto Translate or
 * Latent). The PNG is untrusted: the engine reads the chunk with limits and validates it with the
 * shared schema (BAD_INPUT says what is wrong), and only then looks the named bundle up by id
 * among the existing bundles: a forged chunk can select a bundle, never a path.
 */
import { z } from 'zod';
import { channel, filePath } from '../define';
import { imageBytes } from './infer';
import type { Provenance } from '../provenance';

export type ProvenanceModelState = 'ok' | 'missing' | 'changed' | 'unchecked';

export interface ProvenanceCheck {
  /** null: the PNG carries no atelier chunk (not made by Atelier, or its metadata was stripped). */
  provenance: Provenance | null;
  /**
   * The bundle the record names, in this workspace: ok (present, same weights), missing (deleted
   * or never here), changed (present, but its weights hash differs: retrained or re-exported),
   * unchecked (a training sample: in-memory weights, no bundle). With a sentence for people.
   */
  model: { id: string; state: ProvenanceModelState; message: string } | null;
}

export const provenanceChannels = {
  'provenance.read': channel<ProvenanceCheck>()(
    z
      .object({ image: imageBytes.optional(), path: filePath.optional() })
      .strict()
      .refine((r) => (r.image ? 1 : 0) + (r.path ? 1 : 0) === 1, 'give exactly one of image (bytes) or path'),
    "A PNG's atelier provenance (read with limits, schema-checked) and whether the bundle it names is here with the same weights.",
    ['BAD_INPUT', 'NOT_FOUND'],
    { uploads: { image: 'path' } },
  ),
} as const;
