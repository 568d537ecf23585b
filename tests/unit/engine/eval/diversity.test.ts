/** Within-class diversity (eval/diversity.ts) against hand-computed values. */
import { describe, expect, it } from 'vitest';
import { diversityRatios, meanPairwiseDistance, minRatio, rowsOfClass } from '../../../../src/main/engine/eval/diversity';
import { Rng } from '../../../../src/main/engine/analysis/rng';

describe('meanPairwiseDistance', () => {
  it('is the mean RMS distance over pairs', () => {
    // rows (0,0), (3,4), (0,4): distances 5, 3, 4 -> RMS = d / sqrt(2)
    const f = { data: [0, 0, 3, 4, 0, 4], rows: 3, cols: 2 };
    expect(meanPairwiseDistance(f)).toBeCloseTo((5 + 3 + 4) / 3 / Math.SQRT2, 12);
  });

  it('is 0 for identical rows (a collapsed generator) and rejects a single row', () => {
    expect(meanPairwiseDistance({ data: [1, 2, 1, 2, 1, 2], rows: 3, cols: 2 })).toBe(0);
    expect(() => meanPairwiseDistance({ data: [1, 2], rows: 1, cols: 2 })).toThrow(/at least 2 rows/);
  });

  it('of N(0, s^2) rows approaches s * sqrt(2)', () => {
    const r = new Rng(3);
    const n = 200;
    const d = 400;
    const data = Float64Array.from({ length: n * d }, () => 0.5 * r.normal());
    expect(meanPairwiseDistance({ data, rows: n, cols: d })).toBeCloseTo(0.5 * Math.SQRT2, 1);
  });
});

describe('diversityRatios', () => {
  it('per class: generated / real; a class that repeats one image scores 0', () => {
    const r = new Rng(5);
    const real = { data: Float64Array.from({ length: 40 * 8 }, () => r.normal()), rows: 40, cols: 8 };
    const realLabels = Array.from({ length: 40 }, (_, i) => i % 2);
    // class 0: half the spread of the real images; class 1: one repeated row
    const genData = new Float64Array(20 * 8);
    for (let i = 0; i < 20; i++) for (let j = 0; j < 8; j++) genData[i * 8 + j] = i % 2 === 0 ? 0.5 * real.data[i * 8 + j]! : 7;
    const gen = { data: genData, rows: 20, cols: 8 };
    const genLabels = Array.from({ length: 20 }, (_, i) => i % 2);
    const d = diversityRatios(gen, genLabels, real, realLabels, 2);
    const g0 = meanPairwiseDistance(rowsOfClass(gen, genLabels, 0));
    expect(d[0]!.generated).toBeCloseTo(g0, 12);
    expect(d[0]!.ratio).toBeCloseTo(g0 / meanPairwiseDistance(rowsOfClass(real, realLabels, 0)), 12);
    expect(d[1]!.ratio).toBe(0);
    expect(minRatio(d)).toBe(0);
  });

  it('leaves out classes with fewer than 2 rows and caps rows per class', () => {
    const f = { data: [0, 1, 2, 3, 4], rows: 5, cols: 1 };
    const d = diversityRatios(f, [0, 0, 0, 1, 2], f, [0, 0, 0, 1, 2], 3, 2);
    expect(Object.keys(d)).toEqual(['0']);
    expect(d[0]!.generated).toBeCloseTo(1, 12); // first two rows only: |0 - 1|
  });
});
