/**
 * Model bundles as the pages see them (bundle.list). Pages pick bundles by what they can do
 * (capabilities), never by the model kind's name: a new model kind shows up wherever it fits.
 */
import type { BundleSummary } from '../../../shared/channels/bundle';
import { generatesImages, takesImages, translatesBothWays } from '../../../shared/capabilities';
import { available, call } from '../studio';
import { useLoad } from './useLoad';

export type BundleView = BundleSummary;

/** Translate page: image in, image out (a translator, or an autoencoder reconstructing). */
export const translates = (b: BundleView): boolean => takesImages(b.capabilities);
/** Latent page: images from a latent vector. */
export const generates = (b: BundleView): boolean => generatesImages(b.capabilities);
/** Explore: an encoder to read image features (its latent, or a translator's bottleneck). */
export const hasFeatures = (b: BundleView): boolean => takesImages(b.capabilities);
/** A two-way translator: the pages offer the direction. */
export const twoWay = (b: BundleView | null | undefined): boolean => !!b && translatesBothWays(b.capabilities);

export function useBundles(filter?: (b: BundleView) => boolean) {
  const ready = available('bundle.list');
  const r = useLoad(ready ? () => call('bundle.list', {}) : null, [ready]);
  return { ...r, ready, list: (r.data ?? []).filter((b) => !filter || filter(b)) };
}
