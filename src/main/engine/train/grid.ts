/**
 * Sample grids: one row per visual (pix2pix: input | output | target rows; cgan: one row per
 * class), one column per batch item (at most 8), 2 px gutters. [-1,1] -> 0..255 RGB, grey
 * images replicated to RGB, encoded as PNG with sharp from raw RGB.
 */
import sharp from 'sharp';
import { tf } from '../backend';

export async function visualsToPng(visuals: Record<string, tf.Tensor4D>, maxCols = 8): Promise<{ png: Uint8Array; width: number; height: number; rows: string[] }> {
  const rows = Object.keys(visuals);
  const first = visuals[rows[0]!]!;
  const [, h, w] = first.shape;
  const cols = Math.min(maxCols, Math.max(...rows.map((r) => visuals[r]!.shape[0])));
  const gap = 2;
  const W = cols * w + (cols + 1) * gap;
  const H = rows.length * h + (rows.length + 1) * gap;
  const out = new Uint8Array(W * H * 3).fill(32);
  rows.forEach((name, r) => {
    const t = visuals[name]!;
    const [n, , , c] = t.shape;
    const d = t.dataSync();
    for (let i = 0; i < Math.min(n, cols); i++) {
      const x0 = gap + i * (w + gap);
      const y0 = gap + r * (h + gap);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const src = ((i * h + y) * w + x) * c;
          const dst = ((y0 + y) * W + x0 + x) * 3;
          for (let k = 0; k < 3; k++) {
            const v = d[src + (c >= 3 ? k : 0)]!;
            out[dst + k] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
          }
        }
      }
    }
  });
  const png = await sharp(Buffer.from(out.buffer), { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  return { png: new Uint8Array(png), width: W, height: H, rows };
}
