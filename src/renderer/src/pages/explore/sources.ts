/**
 * What the Explore page analyses, as the page holds it (one selection per kind of source) and as
 * the analysis.* channels take it, plus the row bookkeeping that lets a dendrogram built on a
 * smaller subset colour the PCA scatter.
 */
import type { AnalysisSourceInfo, AnyAnalysisSource } from '../../../../shared/channels/analysis';

export type SourceKind = 'dataset' | 'latent' | 'generated' | 'features' | 'matrix';

export const SOURCE_KINDS: { kind: SourceKind; label: string; hint: string }[] = [
  { kind: 'dataset', label: 'Dataset images', hint: 'The pixels of an imported dataset.' },
  { kind: 'latent', label: 'Generator latents', hint: 'Seeded z vectors of a gan/cgan (hover shows the image each one makes).' },
  { kind: 'generated', label: 'Generator outputs', hint: 'The images a gan/cgan makes from seeded z, as pixels.' },
  { kind: 'features', label: 'Autoencoder features', hint: "An autoencoder's bottleneck (encoder output), or a translator's U-Net bottleneck, of dataset images." },
  { kind: 'matrix', label: 'Matrix file', hint: 'Rows of a CSV, JSON or NPY file.' },
];

export interface SourceSel {
  kind: SourceKind;
  /** dataset, features */
  datasetId?: string;
  split: 'train' | 'test';
  role?: 'a' | 'b' | 'x';
  /** Rows: images (dataset, features) or samples (latent, generated). */
  limit: number;
  /** latent, generated, features */
  model?: string;
  seed: number;
  /** matrix */
  path?: string;
}

/** The request's source, or null while the selection is incomplete. `lim` overrides the row count (the tree's subset). */
export function toRequestSource(s: SourceSel, lim = s.limit): AnyAnalysisSource | null {
  switch (s.kind) {
    case 'dataset':
      return s.datasetId ? { kind: 'dataset', datasetId: s.datasetId, split: s.split, limit: lim, ...(s.role ? { role: s.role } : {}) } : null;
    case 'features':
      return s.datasetId && s.model ? { kind: 'features', model: s.model, datasetId: s.datasetId, split: s.split, limit: lim, seed: s.seed, ...(s.role ? { role: s.role } : {}) } : null;
    case 'latent':
    case 'generated':
      return s.model ? { kind: s.kind, model: s.model, count: lim, seed: s.seed } : null;
    case 'matrix':
      return s.path ? { kind: 'matrix', path: s.path } : null;
  }
}

/** A stable key per row (the image's split index, the z seed, or the row number) to match rows of two analyses. */
export function rowKeys(info: AnalysisSourceInfo): number[] {
  return Array.from({ length: info.n }, (_, i) => info.indices?.[i] ?? info.seeds?.[i] ?? i);
}

/**
 * The dendrogram cut's cluster of each scatter point: rows are matched by key (the tree is built
 * on a subset of the scatter's rows); points outside the tree get -1 (drawn grey).
 */
export function clustersOnScatter(scatter: AnalysisSourceInfo, tree: AnalysisSourceInfo, treeClusters: ArrayLike<number>): number[] {
  const byKey = new Map<number, number>();
  rowKeys(tree).forEach((k, i) => byKey.set(k, treeClusters[i] ?? -1));
  return rowKeys(scatter).map((k) => byKey.get(k) ?? -1);
}

/** Matrix files the page takes. */
export const MATRIX_EXT = /\.(csv|tsv|txt|json|npy)$/i;

export function fileName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}
