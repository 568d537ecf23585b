/**
 * The sharp pipeline every imported image goes through: auto-orient (EXIF), first frame of
 * animations, flatten alpha onto a background, 16-bit -> 8-bit, CMYK/greyscale -> sRGB (or one
 * grey channel when the whole dataset is greyscale), pixel limit, strict decoding.
 */
import sharp from 'sharp';
import type { FitMode } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import { FAIL_ON, MAX_INPUT_PIXELS } from './probe';

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export async function decodeImage(file: string | Uint8Array, opts: { channels: 1 | 3; background: string }): Promise<RawImage> {
  try {
    let p = sharp(file, { failOn: FAIL_ON, limitInputPixels: MAX_INPUT_PIXELS, pages: 1, page: 0 }).rotate();
    p = p.flatten({ background: opts.background });
    p = opts.channels === 1 ? p.toColourspace('b-w') : p.toColourspace('srgb');
    const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return fixChannels({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels }, opts.channels);
  } catch (e) {
    const where = typeof file === 'string' ? file : 'image';
    throw new StudioError('BAD_INPUT', `Cannot decode ${where}: ${(e as Error).message.split('\n')[0]}`, { hint: 'Run the validation again; the file may have changed.' });
  }
}

/** Make sure the raw image has exactly `want` channels (1 = luma, 3 = RGB). */
export function fixChannels(img: RawImage, want: 1 | 3): RawImage {
  if (img.channels === want) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * want);
  const c = img.channels;
  for (let i = 0; i < n; i++) {
    if (want === 3) {
      const v = img.data[i * c]!;
      const g = c >= 3 ? img.data[i * c + 1]! : v;
      const b = c >= 3 ? img.data[i * c + 2]! : v;
      out[i * 3] = v;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = b;
    } else {
      out[i] = c >= 3 ? Math.round(0.2126 * img.data[i * c]! + 0.7152 * img.data[i * c + 1]! + 0.0722 * img.data[i * c + 2]!) : img.data[i * c]!;
    }
  }
  return { data: out, width: img.width, height: img.height, channels: want };
}

/** A horizontal slice [left, left + width) of a raw image. */
export function cropRaw(img: RawImage, left: number, top: number, width: number, height: number): RawImage {
  const c = img.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const src = ((top + y) * img.width + left) * c;
    out.set(img.data.subarray(src, src + width * c), y * width * c);
  }
  return { data: out, width, height, channels: c };
}

export function rawInput(img: RawImage) {
  return { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 } };
}

/** Resize (optional) and encode as PNG, deterministically (fixed compression, no metadata). */
export async function encodeStored(img: RawImage, opts: { size: number | null; fit: FitMode; background: string }): Promise<{ png: Buffer; width: number; height: number }> {
  let p = sharp(img.data, rawInput(img));
  let width = img.width;
  let height = img.height;
  if (opts.size && (img.width !== opts.size || img.height !== opts.size)) {
    p = p.resize(opts.size, opts.size, { fit: opts.fit, background: opts.background, kernel: 'lanczos3', position: 'centre' });
    width = height = opts.size;
  }
  if (img.channels === 1) p = p.toColourspace('b-w');
  const png = await p.png({ compressionLevel: 9, adaptiveFiltering: false, palette: false }).toBuffer();
  return { png, width, height };
}

/** PNG bytes of a raw image scaled to fit `edge` (nearest neighbour when enlarging: pixel-exact). */
export async function thumbnailPng(img: RawImage, edge: number): Promise<{ png: Uint8Array; width: number; height: number }> {
  const scale = Math.min(edge / img.width, edge / img.height, 4);
  const w = Math.max(1, Math.round(img.width * scale));
  const h = Math.max(1, Math.round(img.height * scale));
  let p = sharp(img.data, rawInput(img));
  if (w !== img.width || h !== img.height) p = p.resize(w, h, { fit: 'fill', kernel: scale > 1 ? 'nearest' : 'lanczos3' });
  if (img.channels === 1) p = p.toColourspace('b-w');
  const png = await p.png({ compressionLevel: 6 }).toBuffer();
  return { png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width: w, height: h };
}
