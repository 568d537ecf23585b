/**
 * CLI outputs join the Gallery. A user who translates or generates from the command line expects
 * those images in the studio's Gallery like any folder translation: the files stay where the
 * command wrote them and the workspace's gallery index records them (with their provenance), so the
 * app lists, filters and reuses them; "Delete" there only forgets them. `--no-gallery` skips it.
 * Recording is best effort: a read-only workspace must not fail a translation that worked.
 */
import type { Args } from './args';
import type { Workspace } from '../engine/core/workspace';
import { recordFiles } from '../engine/gallery/store';

export const NO_GALLERY = 'no-gallery';

export async function recordCliOutputs(ws: Workspace, args: Args, files: string[], say: (line: string) => void): Promise<void> {
  if (args.flags[NO_GALLERY] || !files.length) return;
  try {
    await recordFiles(ws, files);
  } catch (e) {
    say(`Note: not added to the Gallery (${(e as Error).message}).`);
  }
}
