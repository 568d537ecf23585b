/**
 * Model bundles as the pages see them (bundle.list). The engine's BundleSummary, kept loose so the
 * pages survive small contract changes: only the identity and shape fields are required.
 */
import type { BundleSummary } from '../../../shared/channels/bundle';
import { callAny, has } from '../api';
import { useLoad } from './useLoad';

export type BundleView = Pick<BundleSummary, 'id' | 'name' | 'kind' | 'imageSize' | 'channels'> & Partial<BundleSummary> & { [k: string]: unknown };

export const TRANSLATORS = new Set(['pix2pix', 'cyclegan', 'autoencoder']);
export const GENERATORS = new Set(['gan', 'cgan', 'autoencoder']);

export function normaliseBundles(x: unknown): BundleView[] {
  const list = Array.isArray(x) ? x : x && typeof x === 'object' && Array.isArray((x as { bundles?: unknown[] }).bundles) ? (x as { bundles: unknown[] }).bundles : [];
  return list as BundleView[];
}

export function useBundles(filter?: (b: BundleView) => boolean) {
  const ready = has('bundle.list');
  const r = useLoad(ready ? () => callAny<unknown>('bundle.list', {}).then(normaliseBundles) : null, [ready]);
  return { ...r, ready, list: (r.data ?? []).filter((b) => !filter || filter(b)) };
}
