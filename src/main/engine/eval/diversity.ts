/**
 * Within-class diversity of generated images, the mode-collapse measure (docs/evaluation.md):
 *
 *   pairwise(X)  = mean over pairs i < j of ||x_i - x_j||_2 / sqrt(d)     (RMS distance, rows of X)
 *   pixel ratio  = pairwise(generated images of class c) / pairwise(real images of class c)
 *   feature ratio = the same on the FashionCNN's 64-d penultimate features (the FD-FashionCNN space)
 *
 * A collapsed generator draws nearly the same image from every seed: its ratio falls towards 0;
 * a generator as varied as the data sits near 1. Pixels see pose/shape/brightness spread; the
 * feature space ignores small shifts and sees "different kinds of boot". Both are needed: noise
 * alone raises the pixel ratio but not the feature one.
 */
import { StudioError } from '../../../shared/errors';
import type { Features } from './metrics';

/** Mean RMS distance between all pairs of rows (rows x cols, row-major). Needs >= 2 rows. */
export function meanPairwiseDistance(f: Features): number {
  const { rows: n, cols: d, data } = f;
  if (n < 2) throw new StudioError('BAD_INPUT', `Pairwise diversity needs at least 2 rows (got ${n}).`);
  // ||a - b||^2 = |a|^2 + |b|^2 - 2 a.b, in float64 (the rows are copied once).
  const x = Float64Array.from({ length: n * d }, (_, i) => data[i]!);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k]! ** 2;
    sq[i] = s;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const oi = i * d;
    for (let j = i + 1; j < n; j++) {
      const oj = j * d;
      let dot = 0;
      for (let k = 0; k < d; k++) dot += x[oi + k]! * x[oj + k]!;
      sum += Math.sqrt(Math.max(0, sq[i]! + sq[j]! - 2 * dot) / d);
    }
  }
  return sum / ((n * (n - 1)) / 2);
}

/** Rows of f whose label equals c (at most `max`, the first ones: deterministic). */
export function rowsOfClass(f: Features, labels: ArrayLike<number>, c: number, max = Infinity): Features {
  const idx: number[] = [];
  for (let i = 0; i < f.rows && idx.length < max; i++) if (labels[i] === c) idx.push(i);
  const out = new Float32Array(idx.length * f.cols);
  idx.forEach((r, k) => {
    for (let j = 0; j < f.cols; j++) out[k * f.cols + j] = f.data[r * f.cols + j]!;
  });
  return { data: out, rows: idx.length, cols: f.cols };
}

export interface ClassDiversity {
  generated: number;
  real: number;
  ratio: number;
}

/**
 * Per-class ratio of generated to real pairwise distance. `maxPerClass` caps the rows used per
 * class on each side (pairs grow as n^2); classes with < 2 rows on either side are left out.
 */
export function diversityRatios(gen: Features, genLabels: ArrayLike<number>, real: Features, realLabels: ArrayLike<number>, classes: number, maxPerClass = 300): Record<number, ClassDiversity> {
  const out: Record<number, ClassDiversity> = {};
  for (let c = 0; c < classes; c++) {
    const g = rowsOfClass(gen, genLabels, c, maxPerClass);
    const r = rowsOfClass(real, realLabels, c, maxPerClass);
    if (g.rows < 2 || r.rows < 2) continue;
    const generated = meanPairwiseDistance(g);
    const realD = meanPairwiseDistance(r);
    out[c] = { generated, real: realD, ratio: realD > 0 ? generated / realD : NaN };
  }
  return out;
}

/** The smallest ratio over the classes (the collapse bar is "every class >= 0.7"). */
export function minRatio(d: Record<number, ClassDiversity>): number {
  const v = Object.values(d).map((x) => x.ratio).filter(Number.isFinite);
  return v.length ? Math.min(...v) : NaN;
}
