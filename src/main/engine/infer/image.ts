/**
 * Images in and out of generators: sharp decodes (EXIF orientation, alpha flattened, sRGB or
 * grey), resizes to the model's square size, and converts to NCHW float32 in [-1, 1]; outputs go
 * back to 8-bit PNG, optionally resized to the input's size (aspect restored).
 */
import sharp from 'sharp';
import { StudioError } from '../../../shared/errors';

export type Fit = 'fill' | 'cover' | 'contain';

/**
 * How to map a model output back onto the input's frame:
 *   fill:    stretch back to w x h;
 *   contain: cut the letterbox off, then scale to w x h;
 *   cover:   the output shows the centred square crop of side min(w, h): scale to that square.
 */
export function restoreGeometry(fit: Fit, size: number, w: number, h: number): { extract?: { left: number; top: number; width: number; height: number }; resizeTo: { width: number; height: number } } {
  if (fit === 'contain') {
    const scale = size / Math.max(w, h);
    const cw = Math.max(1, Math.min(size, Math.round(w * scale)));
    const ch = Math.max(1, Math.min(size, Math.round(h * scale)));
    return { extract: { left: Math.floor((size - cw) / 2), top: Math.floor((size - ch) / 2), width: cw, height: ch }, resizeTo: { width: w, height: h } };
  }
  if (fit === 'cover') {
    const m = Math.min(w, h);
    return { resizeTo: { width: m, height: m } };
  }
  return { resizeTo: { width: w, height: h } };
}

export interface ModelImage {
  /** NCHW float32 in [-1, 1], one image: [channels, size, size]. */
  data: Float32Array;
  /** The source image's size (after EXIF rotation). */
  width: number;
  height: number;
}

const MAX_PIXELS = 268_402_689;

export async function imageToModel(src: string | Uint8Array, size: number, channels: number, fit: Fit = 'fill'): Promise<ModelImage> {
  try {
    const base = sharp(src, { limitInputPixels: MAX_PIXELS, pages: 1 }).rotate();
    const meta = await base.clone().metadata();
    const ow = meta.autoOrient?.width ?? meta.width ?? 0;
    const oh = meta.autoOrient?.height ?? meta.height ?? 0;
    let p = base.flatten({ background: '#000000' }).resize(size, size, { fit, kernel: 'lanczos3', background: '#000000' });
    p = channels === 1 ? p.toColourspace('b-w') : p.toColourspace('srgb');
    const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const c = info.channels;
    const n = size * size;
    const out = new Float32Array(channels * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < channels; k++) {
        const v = data[i * c + Math.min(k, c - 1)]!;
        out[k * n + i] = v / 127.5 - 1;
      }
    }
    return { data: out, width: ow || info.width, height: oh || info.height };
  } catch (e) {
    if (e instanceof StudioError) throw e;
    const where = typeof src === 'string' ? src : 'the image';
    throw new StudioError('BAD_INPUT', `Cannot read ${where}: ${(e as Error).message.split('\n')[0]}`, { hint: 'Use a PNG, JPEG, WebP, GIF, TIFF or AVIF image.' });
  }
}

/** One NCHW image (values in [-1, 1]) -> 8-bit interleaved pixels. */
export function nchwToPixels(data: Float32Array, channels: number, h: number, w: number, offset = 0): Uint8Array {
  const n = h * w;
  const out = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < channels; k++) {
      const v = (data[offset + k * n + i]! + 1) * 127.5;
      out[i * channels + k] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return out;
}

export interface PngOut {
  png: Uint8Array;
  width: number;
  height: number;
}

/**
 * Encode one image of an NCHW batch as PNG. `resizeTo` scales the result (lanczos for a natural
 * look, or nearest for pixel-exact enlargements); `fast` uses light compression (live rendering).
 */
export async function modelToPng(
  data: Float32Array,
  channels: number,
  size: number,
  opts: {
    index?: number;
    /** A region of the model image to keep (e.g. the content of a letterboxed input). */
    extract?: { left: number; top: number; width: number; height: number };
    resizeTo?: { width: number; height: number };
    kernel?: 'lanczos3' | 'nearest';
    fast?: boolean;
  } = {},
): Promise<PngOut> {
  const px = nchwToPixels(data, channels, size, size, (opts.index ?? 0) * channels * size * size);
  let p = sharp(px, { raw: { width: size, height: size, channels: channels as 1 | 3 | 4 } });
  let width = size;
  let height = size;
  if (opts.extract && (opts.extract.width !== size || opts.extract.height !== size)) {
    p = sharp(await p.extract(opts.extract).raw().toBuffer(), { raw: { width: opts.extract.width, height: opts.extract.height, channels: channels as 1 | 3 | 4 } });
    width = opts.extract.width;
    height = opts.extract.height;
  }
  if (opts.resizeTo && (opts.resizeTo.width !== width || opts.resizeTo.height !== height)) {
    width = opts.resizeTo.width;
    height = opts.resizeTo.height;
    p = p.resize(width, height, { fit: 'fill', kernel: opts.kernel ?? 'lanczos3' });
  }
  if (channels === 1) p = p.toColourspace('b-w');
  const buf = await p.png(opts.fast ? { compressionLevel: 1, adaptiveFiltering: false } : { compressionLevel: 6 }).toBuffer();
  return { png: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), width, height };
}
