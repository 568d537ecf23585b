/**
 * Saving an output: the PNG (with the provenance the engine stamped) goes to the user as a
 * download, and a copy into the Gallery, so every saved result can be found and reused later.
 */
import { available, call } from '../studio';
import { reportError } from '../store/ui';
import { downloadBytes } from './png';

export function saveOutput(png: Uint8Array, name: string): void {
  downloadBytes(png, name);
  if (!available('gallery.add')) return;
  void call('gallery.add', { image: png, name }).catch((e: unknown) => reportError('Add to the gallery', e));
}
