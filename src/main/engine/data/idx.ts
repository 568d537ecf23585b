/**
 * The idx format of (Fashion-)MNIST: big-endian magic [0, 0, type, ndims], ndims uint32 sizes,
 * then the data. We read and write unsigned bytes (type 0x08), gzipped or not.
 */
import fsp from 'node:fs/promises';
import zlib from 'node:zlib';
import { StudioError } from '../../../shared/errors';
import type { RawImage } from './normalize';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Image i of an idx image array [n, h, w] or [n, h, w, c] (a view, no copy). */
export function idxImage(arr: IdxArray, i: number): RawImage {
  const [, h, w] = arr.dims as [number, number, number];
  const c = arr.dims[3] ?? 1;
  const per = h * w * c;
  return { data: arr.data.subarray(i * per, (i + 1) * per), width: w, height: h, channels: c };
}

const UBYTE = 0x08;

export function parseIdx(buf: Uint8Array, name = 'idx data'): IdxArray {
  if (buf.byteLength >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new StudioError('BAD_INPUT', `${name} is a damaged gzip file: ${(e as Error).message}.`, {
        hint: 'Download or reinstall the file.',
      });
    }
  }
  if (buf.byteLength < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new StudioError('BAD_INPUT', `${name} is not an idx file (wrong magic number).`, {
      hint: 'Fashion-MNIST files are named like train-images-idx3-ubyte.gz.',
    });
  }
  const type = buf[2]!;
  const ndims = buf[3]!;
  if (type !== UBYTE) throw new StudioError('BAD_INPUT', `${name} holds idx type 0x${type.toString(16)}; only unsigned bytes (0x08) are supported.`);
  if (ndims < 1 || ndims > 4) throw new StudioError('BAD_INPUT', `${name} has ${ndims} dimensions; expected 1 to 4.`);
  const head = 4 + 4 * ndims;
  if (buf.byteLength < head) throw new StudioError('BAD_INPUT', `${name} is truncated (header).`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  let n = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    n *= d;
  }
  if (buf.byteLength - head < n) {
    throw new StudioError('BAD_INPUT', `${name} is truncated: header says ${n} bytes of data, the file has ${buf.byteLength - head}.`, {
      hint: 'Download or reinstall the file.',
    });
  }
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + head, n) };
}

export async function readIdx(file: string): Promise<IdxArray> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    throw new StudioError('NOT_FOUND', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  return parseIdx(buf, file);
}

/** Encode an unsigned-byte idx array; gzip level 9 by default (deterministic output). */
export function encodeIdx(arr: IdxArray, gzip = true): Uint8Array {
  const head = 4 + 4 * arr.dims.length;
  const out = new Uint8Array(head + arr.data.byteLength);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = arr.dims.length;
  arr.dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(arr.data, head);
  return gzip ? new Uint8Array(zlib.gzipSync(out, { level: 9 })) : out;
}

/** Fashion-MNIST class names, index = label. */
export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export const FASHION_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
