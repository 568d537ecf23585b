/**
 * Running a fully convolutional translator over an image of any size:
 *   - one pass when the padded image fits the memory budget: the image is reflection-padded
 *     (centred) to a multiple of the network's total stride, run, and cropped back;
 *   - otherwise overlapping tiles of a stride-aligned size, each reflection-extended where it
 *     leaves the image, blended with a raised-cosine window over the overlaps so no seam shows.
 *
 * Memory stays bounded by one band of tile rows: tiles run row by row and the rows no later tile
 * touches are finished (normalised, rounded to 8 bits) at once. The window is separable, so the
 * normalising weight sum is a product of two 1-D sums, never a full-size array.
 *
 * Pixels are 8-bit interleaved (the decoder's raw output) in and out; the network sees NCHW
 * float32 in [-1, 1].
 */

export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Runs the network on one NCHW tile [1, inChannels, h, w] -> [1, outChannels, h, w]. */
export type TileRunner = (x: Float32Array, h: number, w: number) => Promise<Float32Array>;

export interface TilePlan {
  /** Tile size along each axis (stride multiples). */
  tileW: number;
  tileH: number;
  /** Top-left corners (may be negative: reflection padding). */
  xs: number[];
  ys: number[];
  overlap: number;
  tiled: boolean;
}

export const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/** Index into [0, n) by mirror reflection without repeating the edge (like ONNX Pad reflect), any distance out. */
export function mirror(i: number, n: number): number {
  if (n <= 1) return 0;
  const period = 2 * (n - 1);
  const k = ((i % period) + period) % period;
  return k < n ? k : period - k;
}

/** Corners along one axis: one centred tile when it fits, else steps of tile - overlap, the last flush with the end. */
function corners(len: number, tile: number, overlap: number): number[] {
  if (len <= tile) return [-Math.floor((tile - len) / 2)];
  const step = Math.max(1, tile - overlap);
  const out: number[] = [];
  for (let p = 0; p + tile < len; p += step) out.push(p);
  out.push(len - tile);
  return out;
}

/**
 * Plan the tiles for an image of width x height. `tile` null: one pass (padded to the stride);
 * otherwise tiles of `tile` rounded up to the stride, overlapping by `overlap`.
 */
export function planTiles(width: number, height: number, stride: number, tile: number | null, overlap: number): TilePlan {
  const fullW = roundUp(width, stride);
  const fullH = roundUp(height, stride);
  if (tile === null || (tile >= fullW && tile >= fullH)) {
    return { tileW: fullW, tileH: fullH, xs: corners(width, fullW, 0), ys: corners(height, fullH, 0), overlap: 0, tiled: false };
  }
  const t = Math.max(stride, roundUp(tile, stride));
  const tileW = Math.min(t, fullW);
  const tileH = Math.min(t, fullH);
  // The overlap must leave every tile a core of its own.
  const ov = Math.max(0, Math.min(overlap, Math.floor(Math.min(tileW, tileH) / 2)));
  return { tileW, tileH, xs: corners(width, tileW, ov), ys: corners(height, tileH, ov), overlap: ov, tiled: true };
}

/**
 * Blend weight of pixel i of a tile of size t along one axis: a raised-cosine ramp over the
 * first/last `overlap` pixels where a neighbouring tile overlaps, 1 elsewhere. Never 0, so a
 * pixel covered by one tile keeps that tile's value exactly.
 */
export function windowWeights(t: number, overlap: number, rampStart: boolean, rampEnd: boolean): Float32Array {
  const w = new Float32Array(t).fill(1);
  if (overlap <= 0) return w;
  for (let i = 0; i < overlap && i < t; i++) {
    const r = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / overlap);
    if (rampStart) w[i]! *= r;
    if (rampEnd) w[t - 1 - i]! *= r;
  }
  return w;
}

/** Per tile corner, the 1-D window (ramps only toward neighbours), and their sum over the axis. */
function axisWeights(len: number, t: number, corners_: number[], overlap: number): { win: Float32Array[]; sum: Float32Array } {
  const sum = new Float32Array(len);
  const win = corners_.map((p, k) => {
    const w = windowWeights(t, overlap, k > 0, k < corners_.length - 1);
    for (let i = 0; i < t; i++) {
      const x = p + i;
      if (x >= 0 && x < len) sum[x]! += w[i]!;
    }
    return w;
  });
  return { win, sum };
}

export interface TileProgress {
  (done: number, total: number): void;
}

/**
 * Translate `img` with `run` following `plan`; returns 8-bit interleaved output with
 * `outChannels`. `checkpoint` is awaited before every tile (cancel / pause / let requests in).
 */
export async function runTiled(
  img: RawPixels,
  inChannels: number,
  outChannels: number,
  plan: TilePlan,
  run: TileRunner,
  opts: { onTile?: TileProgress; checkpoint?: () => Promise<void> } = {},
): Promise<RawPixels> {
  const { width: W, height: H } = img;
  const { tileW: tw, tileH: th, xs, ys } = plan;
  const wx = axisWeights(W, tw, xs, plan.overlap);
  const wy = axisWeights(H, th, ys, plan.overlap);
  const out = new Uint8Array(W * H * outChannels);
  // Accumulator for rows [bandTop, bandTop + th) (clipped to the image), channels interleaved.
  const bandRows = th;
  const acc = new Float32Array(W * bandRows * outChannels);
  let bandTop = Math.max(0, ys[0]!);
  const finish = (from: number, to: number) => {
    for (let y = from; y < to; y++) {
      const row = (y - bandTop) * W * outChannels;
      const sy = wy.sum[y]!;
      for (let x = 0; x < W; x++) {
        const norm = 1 / (sy * wx.sum[x]!);
        for (let c = 0; c < outChannels; c++) {
          const v = (acc[row + x * outChannels + c]! * norm + 1) * 127.5;
          out[(y * W + x) * outChannels + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
        }
      }
    }
  };
  const tile = new Float32Array(inChannels * th * tw);
  const n = th * tw;
  const total = xs.length * ys.length;
  let done = 0;
  // Mirror indices per tile column / row are cheap to recompute; the source offsets are cached per row.
  const colIdx = new Int32Array(tw);
  for (let r = 0; r < ys.length; r++) {
    const y0 = ys[r]!;
    for (let k = 0; k < xs.length; k++) {
      await opts.checkpoint?.();
      const x0 = xs[k]!;
      for (let i = 0; i < tw; i++) colIdx[i] = mirror(x0 + i, W);
      const ic = img.channels;
      for (let j = 0; j < th; j++) {
        const srcRow = mirror(y0 + j, H) * W;
        for (let i = 0; i < tw; i++) {
          const s = (srcRow + colIdx[i]!) * ic;
          for (let c = 0; c < inChannels; c++) tile[c * n + j * tw + i] = img.data[s + Math.min(c, ic - 1)]! / 127.5 - 1;
        }
      }
      const y = await run(tile, th, tw);
      const wxk = wx.win[k]!;
      const wyr = wy.win[r]!;
      for (let j = 0; j < th; j++) {
        const yy = y0 + j;
        if (yy < 0 || yy >= H) continue;
        const row = (yy - bandTop) * W * outChannels;
        const wj = wyr[j]!;
        for (let i = 0; i < tw; i++) {
          const xx = x0 + i;
          if (xx < 0 || xx >= W) continue;
          const w = wj * wxk[i]!;
          const a = row + xx * outChannels;
          for (let c = 0; c < outChannels; c++) acc[a + c]! += w * y[c * n + j * tw + i]!;
        }
      }
      opts.onTile?.(++done, total);
    }
    // Rows above the next tile row are final: write them out and slide the band down.
    const next = r + 1 < ys.length ? ys[r + 1]! : H;
    const end = Math.min(next, H);
    finish(bandTop, end);
    if (r + 1 < ys.length) {
      const shift = (end - bandTop) * W * outChannels;
      acc.copyWithin(0, shift);
      acc.fill(0, acc.length - shift);
      bandTop = end;
    }
  }
  return { data: out, width: W, height: H, channels: outChannels };
}
