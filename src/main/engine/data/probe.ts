/**
 * Per-file pre-flight check: can we read it, is it an image, how big, how many channels, what
 * bit depth, alpha, animation, EXIF orientation; decoded once (small) with failOn 'warning' so
 * truncated or damaged files are caught here and not half-way through an import.
 */
import fsp from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import type { FileReport } from '../../../shared/channels/dataset';

/** Largest image we decode (pixels): a pixel bomb is refused before any memory is allocated. */
export const MAX_INPUT_PIXELS = 100_000_000;
/** Strictest libvips setting: any decoder warning (truncation, bad Huffman table) fails the file. */
export const FAIL_ON = 'warning' as const;

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];

/** Sniff the container from the first bytes (the file name is not trusted). */
export function sniffFormat(head: Uint8Array): string | null {
  const b = head;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'gif';
  if (b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return 'webp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) return 'tiff';
  if (b.length >= 12 && b[4] === 0x66 && b[5] === 0x74 && b[6] === 0x79 && b[7] === 0x70) return 'heif';
  return null;
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.replace(/^Input (file|buffer) (has|contains) /, '').slice(0, 200);
}

export type ProbeInfo = Omit<FileReport, 'path' | 'rel' | 'role' | 'split' | 'label'>;

const fail = (issue: NonNullable<FileReport['issue']>, message: string, extra: Partial<ProbeInfo> = {}): ProbeInfo => ({
  verdict: 'error',
  issue,
  message,
  warnings: [],
  ...extra,
});

export function isGreySpace(space: string | undefined, channels: number | undefined): boolean {
  return space === 'b-w' || space === 'grey16' || (space === undefined && channels !== undefined && channels <= 2);
}

export async function probeFile(file: string): Promise<ProbeInfo> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return fail('SYMLINK_LOOP', 'A symbolic link loop: the link points (through other links) back to itself. Remove or fix the link.');
    if (code === 'ENOENT') return fail('UNREADABLE', 'Cannot read: the file does not exist (a broken symbolic link, or it was moved).');
    if (code === 'EACCES' || code === 'EPERM') return fail('UNREADABLE', 'Cannot read: permission denied. Give your user read access to the file.');
    return fail('UNREADABLE', `Cannot read: ${code ?? firstLine(e)}.`);
  }
  if (!st.isFile()) return fail('UNREADABLE', 'Not a regular file.');
  if (st.size === 0) return fail('EMPTY', 'The file is empty (0 bytes); it may be an interrupted download or copy.', { bytes: 0 });
  const head = new Uint8Array(16);
  try {
    const fh = await fsp.open(file, 'r');
    try {
      await fh.read(head, 0, 16, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return fail('UNREADABLE', 'Cannot read: permission denied. Give your user read access to the file.', { bytes: st.size });
    return fail('UNREADABLE', `Cannot read: ${code ?? firstLine(e)}.`, { bytes: st.size });
  }
  const sniffed = sniffFormat(head);
  if (!sniffed) {
    const ext = file.slice(file.lastIndexOf('.')).toLowerCase();
    return fail('NOT_IMAGE', `Not an image: the content is not PNG, JPEG, WebP, GIF, TIFF or AVIF${ext.startsWith('.') ? ` (although the name ends in ${ext})` : ''}.`, { bytes: st.size });
  }
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false, failOn: 'none' }).metadata();
  } catch (e) {
    return fail('CORRUPT', `Damaged ${sniffed.toUpperCase()} file: ${firstLine(e)}.`, { bytes: st.size, format: sniffed });
  }
  const bitDepth = meta.depth === 'ushort' || meta.depth === 'short' ? 16 : meta.depth === 'float' || meta.depth === 'uint' ? 32 : 8;
  const pages = meta.pages ?? 1;
  const info: ProbeInfo = {
    verdict: 'ok',
    message: '',
    warnings: [],
    bytes: st.size,
    format: meta.format ?? sniffed,
    width: meta.width,
    height: meta.height,
    channels: meta.channels,
    bitDepth,
    space: meta.space,
    hasAlpha: !!meta.hasAlpha,
    animated: pages > 1,
    pages,
    orientation: meta.orientation ?? 1,
  };
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!w || !h) return { ...info, ...fail('CORRUPT', 'The image header has no size.') };
  if (w * h > MAX_INPUT_PIXELS) {
    return {
      ...info,
      ...fail(
        'TOO_LARGE',
        `Too large: ${w}x${h} is ${(w * h / 1e6).toFixed(0)} megapixels, above the ${MAX_INPUT_PIXELS / 1e6} MP limit (a "pixel bomb" or a scan far beyond training sizes). Downscale it first.`,
      ),
    };
  }
  try {
    // A small decode of the first frame reads every scanline: truncation shows up here.
    await sharp(file, { limitInputPixels: MAX_INPUT_PIXELS, failOn: FAIL_ON, pages: 1 }).resize(16, 16, { fit: 'inside' }).raw().toBuffer();
  } catch (e) {
    const msg = firstLine(e);
    const truncated = /premature end|truncat|read error|unexpected end|corrupt|treated as error/i.test(msg);
    return {
      ...info,
      ...fail('CORRUPT', truncated ? `Truncated or damaged ${sniffed.toUpperCase()}: ${msg}. Re-export or re-download it.` : `Cannot decode: ${msg}.`),
    };
  }
  const warnings: string[] = [];
  if (info.animated) warnings.push(`Animated (${pages} frames): only the first frame is used.`);
  if (bitDepth === 16) warnings.push('16 bits per channel: converted to 8 bits.');
  if (meta.space === 'cmyk') warnings.push('CMYK colours: converted to RGB.');
  if (info.hasAlpha) warnings.push('Has transparency: flattened onto the background colour.');
  if ((meta.orientation ?? 1) > 1) warnings.push(`EXIF orientation ${meta.orientation}: rotated upright.`);
  info.warnings = warnings;
  if (warnings.length) {
    info.verdict = 'warning';
    info.message = warnings.join(' ');
  }
  return info;
}

/** The size of the image after auto-orientation (EXIF 5..8 swap width and height). */
export function orientedSize(p: Pick<FileReport, 'width' | 'height' | 'orientation'>): { width: number; height: number } {
  const w = p.width ?? 0;
  const h = p.height ?? 0;
  return (p.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h };
}
