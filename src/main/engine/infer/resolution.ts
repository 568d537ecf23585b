/**
 * Translating at the resolution people bring: which size the network runs at (scale), whether it
 * runs in one pass or in tiles (memory budget), what to warn about, and decoding an image at that
 * size the way the data pipeline does (EXIF orientation, first frame, alpha flattened, 16-bit to
 * 8-bit, grey or sRGB).
 *
 *   scale 'native' (default): the image's own size;
 *   scale 'model':            the training size (square), the output scaled back (the old rule);
 *   scale N:                  long side N pixels, aspect kept, the output scaled back.
 */
import os from 'node:os';
import sharp from 'sharp';
import { StudioError } from '../../../shared/errors';
import { fixChannels } from '../data/normalize';
import { FAIL_ON, MAX_INPUT_PIXELS } from '../data/probe';
import { roundUp, type RawPixels } from './tiles';

export type Scale = 'native' | 'model' | number;

/** Parse a CLI / request scale: native | model | a long side in pixels. */
export function parseScale(v: unknown): Scale {
  if (v === undefined || v === null || v === '' || v === 'native') return 'native';
  if (v === 'model') return 'model';
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 8 || n > 16384) throw new StudioError('BAD_INPUT', `Scale "${String(v)}" is not native, model or a long side in pixels (8..16384).`);
  return n;
}

/** The size the network runs at for an image of width x height. */
export function workingSize(scale: Exclude<Scale, 'model'>, width: number, height: number): { width: number; height: number } {
  if (scale === 'native') return { width, height };
  const k = scale / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)) };
}

/**
 * The warning when the network runs far from its training scale: the long side of the working
 * image against the training size, beyond 2x either way. null when close enough.
 */
export function scaleWarning(trainSize: number, work: { width: number; height: number }): string | null {
  if (!trainSize) return null;
  const ratio = Math.max(work.width, work.height) / trainSize;
  if (ratio <= 2 && ratio >= 0.5) return null;
  const how = ratio > 1 ? `${ratio.toFixed(1)}x larger than` : `${(1 / ratio).toFixed(1)}x smaller than`;
  return `This model was trained on ${trainSize}x${trainSize} images; this image runs at ${work.width}x${work.height}, ${how} the training size. Results often change beyond 2x: try scale "model" or a long side near ${trainSize}.`;
}

const MiB = 1024 * 1024;

/**
 * Default activation memory for one pass: a quarter of the free memory, within 256..512 MiB.
 * The cap keeps a 4096^2 photo on a 256 px colouriser under the README's RSS bound; bigger tiles
 * do not run faster (the overlap is a fixed share of the tile).
 */
export function defaultMemoryBudget(): number {
  return Math.min(512 * MiB, Math.max(256 * MiB, Math.floor(os.freemem() / 4)));
}

/**
 * Tile side for a budget: the largest stride multiple whose square tile's activations fit, at
 * least one stride and 64 px. null when the whole (padded) image fits.
 */
export function tileForBudget(width: number, height: number, stride: number, bytesPerPixel: number, budget: number): number | null {
  const need = roundUp(width, stride) * roundUp(height, stride) * bytesPerPixel;
  if (need <= budget) return null;
  const side = Math.floor(Math.sqrt(budget / Math.max(1, bytesPerPixel)) / stride) * stride;
  return Math.max(stride, roundUp(64, stride), side);
}

export interface DecodedImage extends RawPixels {
  /** The source's size after EXIF rotation. */
  sourceWidth: number;
  sourceHeight: number;
  /** Things the user should know (colour converted to grey, alpha flattened). */
  notes: string[];
}

/** The source's oriented size and colour facts, without decoding the pixels. */
export async function probeImage(src: string | Uint8Array): Promise<{ width: number; height: number; colour: boolean; alpha: boolean }> {
  return wrapDecode(src, async () => {
    const meta = await sharp(src, { failOn: FAIL_ON, limitInputPixels: MAX_INPUT_PIXELS, pages: 1 }).metadata();
    const width = meta.autoOrient?.width ?? meta.width ?? 0;
    const height = meta.autoOrient?.height ?? meta.height ?? 0;
    const bands = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    return { width, height, colour: bands >= 3 && meta.space !== 'b-w' && meta.space !== 'grey16', alpha: !!meta.hasAlpha };
  });
}

/**
 * Decode `src` at width x height with `channels` (1 grey, 3 sRGB), as the data pipeline does;
 * lanczos when it has to resize.
 */
export async function decodeAt(src: string | Uint8Array, channels: number, size: { width: number; height: number } | null): Promise<DecodedImage> {
  const probe = await probeImage(src);
  return wrapDecode(src, async () => {
    let p = sharp(src, { failOn: FAIL_ON, limitInputPixels: MAX_INPUT_PIXELS, pages: 1, page: 0 }).rotate();
    p = p.flatten({ background: '#000000' });
    if (size && (size.width !== probe.width || size.height !== probe.height)) p = p.resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' });
    p = channels === 1 ? p.toColourspace('b-w') : p.toColourspace('srgb');
    const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const raw = fixChannels({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels }, channels === 1 ? 1 : 3);
    const notes: string[] = [];
    if (channels === 1 && probe.colour) notes.push('The model works on greyscale images: the colour photo was converted to grey.');
    if (probe.alpha) notes.push('Transparent areas were flattened onto black (as in training data).');
    return { ...raw, sourceWidth: probe.width, sourceHeight: probe.height, notes };
  });
}

async function wrapDecode<T>(src: string | Uint8Array, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StudioError) throw e;
    const where = typeof src === 'string' ? src : 'the image';
    throw new StudioError('BAD_INPUT', `Cannot read ${where}: ${(e as Error).message.split('\n')[0]}`, { hint: 'Use a PNG, JPEG, WebP, GIF, TIFF or AVIF image.' });
  }
}
