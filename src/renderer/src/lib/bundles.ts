/**
 * Model bundles as the pages see them (bundle.list). Mirrors the engine's BundleSummary; kept
 * loose so the pages survive small contract changes.
 */
import { callAny, has } from '../api';
import { useLoad } from './useLoad';

export interface BundleView {
  id: string;
  name: string;
  kind: string;
  imageSize: number;
  channels: number;
  latentSize?: number;
  classNames?: string[];
  location?: string;
  dir?: string;
  onnx?: string | null;
  hasTfjs?: boolean;
  parity?: { maxAbsDiff: number; pass: boolean };
  [k: string]: unknown;
}

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
