import { describe, expect, it } from 'vitest';
import { mirror, planTiles, runTiled, windowWeights, type RawPixels, type TileRunner } from '../../../../src/main/engine/infer/tiles';

/** A smooth horizontal + vertical gradient, 8-bit interleaved. */
function gradient(w: number, h: number, c: number): RawPixels {
  const data = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) data[(y * w + x) * c + k] = Math.round(40 + (150 * x) / w + (50 * y) / h + 10 * k);
  return { data, width: w, height: h, channels: c };
}

/**
 * A network whose output depends on where a pixel sits in its tile (as zero padding and a large
 * receptive field make real U-Nets do): out = 0.9 x in + a bump that grows toward the tile edges.
 * Untiled, the bump is at the image border; tiled without blending, it draws a line at every seam.
 */
const edgeAware: TileRunner = async (x, h, w) => {
  const n = h * w;
  const c = x.length / n;
  const y = new Float32Array(x.length);
  for (let k = 0; k < c; k++) {
    for (let j = 0; j < h; j++) {
      for (let i = 0; i < w; i++) {
        const d = Math.min(i, j, w - 1 - i, h - 1 - j);
        y[k * n + j * w + i] = 0.9 * x[k * n + j * w + i]! + 0.3 * Math.exp(-d / 2);
      }
    }
  }
  return y;
};

const identity: TileRunner = async (x) => Float32Array.from(x);

/** Mean |second difference| along x per column (a seam shows as a spike at its column). */
function columnCurvature(img: RawPixels): Float64Array {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Float64Array(w);
  for (let x = 1; x < w - 1; x++) {
    let s = 0;
    for (let y = 0; y < h; y++) for (let k = 0; k < c; k++) s += Math.abs(data[(y * w + x - 1) * c + k]! - 2 * data[(y * w + x) * c + k]! + data[(y * w + x + 1) * c + k]!);
    out[x] = s / (h * c);
  }
  return out;
}

describe('tiles', () => {
  it('mirror reflects any distance out, without repeating the edge (ONNX Pad reflect)', () => {
    expect([-3, -2, -1, 0, 1, 2, 3, 4, 5, 6].map((i) => mirror(i, 4))).toEqual([3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    expect(mirror(-9, 1)).toBe(0);
  });

  it('plans one stride-aligned pass when it fits, else overlapping tiles covering the image', () => {
    const one = planTiles(451, 300, 32, null, 0);
    expect([one.tileW, one.tileH, one.tiled]).toEqual([480, 320, false]);
    expect([one.xs, one.ys]).toEqual([[-14], [-10]]);
    const t = planTiles(1000, 300, 32, 250, 64);
    expect([t.tileW, t.tileH, t.overlap, t.tiled]).toEqual([256, 256, 64, true]);
    expect(t.xs).toEqual([0, 192, 384, 576, 744]);
    expect(t.xs.at(-1)! + t.tileW).toBe(1000);
    expect(t.ys).toEqual([0, 44]);
  });

  it('the window ramps only toward neighbours and is never zero', () => {
    const w = windowWeights(16, 4, true, false);
    expect(w[0]).toBeGreaterThan(0);
    expect(w[0]).toBeLessThan(w[3]!);
    expect(Array.from(w.slice(4))).toEqual(new Array(12).fill(1));
  });

  it('an identity network gives the image back exactly, tiled or not', async () => {
    const img = gradient(150, 90, 3);
    for (const plan of [planTiles(150, 90, 8, null, 0), planTiles(150, 90, 8, 48, 16)]) {
      const out = await runTiled(img, 3, 3, plan, identity);
      let max = 0;
      for (let i = 0; i < img.data.length; i++) max = Math.max(max, Math.abs(out.data[i]! - img.data[i]!));
      expect(max).toBeLessThanOrEqual(1);
    }
  });

  it('a smooth gradient shows no seam lines with blending, and does without (the check can fail)', async () => {
    const img = gradient(256, 64, 1);
    const plan = planTiles(256, 64, 8, 64, 24);
    expect(plan.xs.length).toBeGreaterThan(3);
    const blended = columnCurvature(await runTiled(img, 1, 1, plan, edgeAware));
    const hard = columnCurvature(await runTiled(img, 1, 1, planTiles(256, 64, 8, 64, 0), edgeAware));
    const inner = (a: Float64Array) => Array.from(a.slice(4, -4));
    // The gradient's own curvature is < 1 level (rounding); a seam is several.
    expect(Math.max(...inner(blended))).toBeLessThan(1.5);
    expect(Math.max(...inner(hard))).toBeGreaterThan(5);
  });

  it('finishes rows band by band: progress per tile, checkpoint before each', async () => {
    const img = gradient(100, 100, 1);
    const plan = planTiles(100, 100, 4, 40, 8);
    const seen: number[] = [];
    let checks = 0;
    await runTiled(img, 1, 1, plan, identity, { onTile: (d) => seen.push(d), checkpoint: async () => void checks++ });
    const total = plan.xs.length * plan.ys.length;
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(checks).toBe(total);
    await expect(runTiled(img, 1, 1, plan, identity, { checkpoint: async () => Promise.reject(new Error('cancelled')) })).rejects.toThrow(/cancelled/);
  });
});
