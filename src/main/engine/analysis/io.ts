/**
 * Loading matrices for the analyses: CSV/TSV (header optional), JSON (array of arrays), NPY
 * (format versions 1-3, little/big endian, f2/f4/f8, i1-i8, u1-u8, b1; C or Fortran order for
 * 2-D) and IDX (the MNIST format, optionally gzipped; unsigned bytes scaled to [0, 1]).
 * Arrays with more than 2 dimensions are flattened to n x (product of the rest): an (n, 28, 28)
 * image stack becomes n x 784. Every failure is a StudioError that says what and where.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { StudioError } from '../../../shared/errors';
import type { Matrix } from './matrix';

export interface LoadedMatrix {
  matrix: Matrix;
  /** Column names when the CSV had a header. */
  columns?: string[];
  format: 'csv' | 'json' | 'npy' | 'idx';
}

export async function loadMatrix(path: string): Promise<LoadedMatrix> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new StudioError('BAD_INPUT', `${path} is not a file.`);
    size = st.size;
  } catch (err) {
    if (err instanceof StudioError) throw err;
    throw new StudioError('NOT_FOUND', `No file at ${path}.`, { hint: 'Check the path.', cause: err });
  }
  if (size === 0) throw new StudioError('BAD_INPUT', `${path} is empty.`);
  const buf = await readFile(path);
  const lower = path.toLowerCase();
  const ext = extname(lower.endsWith('.gz') ? lower.slice(0, -3) : lower);
  const where = ` (${path})`;
  try {
    if (lower.endsWith('.npy')) return { matrix: parseNpy(buf), format: 'npy' };
    if (lower.includes('idx') || lower.endsWith('-ubyte') || lower.endsWith('-ubyte.gz')) {
      return { matrix: parseIdx(lower.endsWith('.gz') ? gunzipSync(buf) : buf), format: 'idx' };
    }
    if (ext === '.json') return { matrix: parseJsonMatrix(buf.toString('utf8')), format: 'json' };
    if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return { ...parseCsv(buf.toString('utf8')), format: 'csv' };
  } catch (err) {
    if (err instanceof StudioError) throw new StudioError(err.code, err.message + where, { hint: err.hint, details: err.details });
    throw err;
  }
  throw new StudioError('BAD_INPUT', `Don't know how to read "${ext || path}" files${where}.`, {
    hint: 'Use .csv/.tsv (numbers, optional header), .json (array of arrays), .npy or MNIST idx files.',
  });
}

// ---------------------------------------------------------------- CSV

export function parseCsv(text: string): { matrix: Matrix; columns?: string[] } {
  const lines = text.split(/\r\n|\n|\r/);
  const dataLines: { no: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === '' || t.startsWith('#')) continue;
    dataLines.push({ no: i + 1, text: lines[i] });
  }
  if (dataLines.length === 0) throw new StudioError('BAD_INPUT', 'The CSV has no rows.');
  const first = dataLines[0].text.replace(/^\uFEFF/, '');
  dataLines[0].text = first;
  const delim = first.includes(',') ? ',' : first.includes('\t') ? '\t' : first.includes(';') ? ';' : null;
  const split = (s: string): string[] =>
    (delim ? s.split(delim) : s.trim().split(/\s+/)).map((f) => f.trim().replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'));
  let columns: string[] | undefined;
  const head = split(first);
  // a header has no numeric field at all; a row mixing numbers and text is data with a bad value
  if (head.every((f) => !isNumeric(f)) && head.some((f) => f !== '')) {
    columns = head;
    dataLines.shift();
    if (dataLines.length === 0) throw new StudioError('BAD_INPUT', 'The CSV has a header but no data rows.');
  }
  const d = split(dataLines[0].text).length;
  if (columns && columns.length !== d) {
    throw new StudioError('BAD_INPUT', `The CSV header has ${columns.length} columns but line ${dataLines[0].no} has ${d}.`);
  }
  const n = dataLines.length;
  const data = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const { no, text: line } = dataLines[r];
    const fields = split(line);
    if (fields.length !== d) {
      throw new StudioError('BAD_INPUT', `Line ${no} of the CSV has ${fields.length} values but the first row has ${d}.`);
    }
    for (let c = 0; c < d; c++) {
      const f = fields[c];
      if (!isNumeric(f)) {
        throw new StudioError(
          'BAD_INPUT',
          f === '' ? `Line ${no}, column ${c + 1} of the CSV is empty (missing value).` : `Line ${no}, column ${c + 1} of the CSV is not a number: "${f.slice(0, 40)}".`,
          { hint: 'Every value must be a finite number; fill or drop missing values first.' },
        );
      }
      data[r * d + c] = Number(f);
    }
  }
  return { matrix: { rows: n, cols: d, data }, ...(columns ? { columns } : {}) };
}

function isNumeric(s: string): boolean {
  if (s === '') return false;
  const v = Number(s);
  return Number.isFinite(v);
}

// ---------------------------------------------------------------- JSON

/** A JSON array of equal-length number arrays (or {"rows": [...]} / {"data": [...]}). */
export function parseJsonMatrix(text: string): Matrix {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new StudioError('BAD_INPUT', `The JSON does not parse: ${(err as Error).message}.`);
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    v = Array.isArray(o.rows) ? o.rows : o.data;
  }
  if (!Array.isArray(v)) throw new StudioError('BAD_INPUT', 'The JSON must be an array of rows, each an array of numbers: [[1, 2], [3, 4]].');
  if (v.length === 0) throw new StudioError('BAD_INPUT', 'The JSON array is empty: no rows.');
  const rows = v as unknown[];
  if (!Array.isArray(rows[0])) throw new StudioError('BAD_INPUT', 'The JSON must be an array of rows (arrays of numbers); element 0 is not an array.');
  const d = (rows[0] as unknown[]).length;
  const data = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!Array.isArray(r)) throw new StudioError('BAD_INPUT', `Row ${i} of the JSON is not an array.`);
    if (r.length !== d) throw new StudioError('BAD_INPUT', `Row ${i} of the JSON has ${r.length} values but row 0 has ${d}.`);
    for (let j = 0; j < d; j++) {
      const x = r[j];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new StudioError('BAD_INPUT', `Row ${i}, column ${j} of the JSON is not a finite number (${JSON.stringify(x)}).`);
      }
      data[i * d + j] = x;
    }
  }
  return { rows: rows.length, cols: d, data };
}

// ---------------------------------------------------------------- NPY

interface NpyHeader {
  descr: string;
  fortran: boolean;
  shape: number[];
  dataOffset: number;
}

function parseNpyHeader(buf: Uint8Array): NpyHeader {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (buf.length < 10 || magic.some((m, i) => buf[i] !== m)) {
    throw new StudioError('BAD_INPUT', 'Not an NPY file (the \\x93NUMPY magic is missing).', { hint: 'Save arrays with numpy.save (not savez or pickle).' });
  }
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let len: number;
  let start: number;
  if (major === 1) {
    len = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new StudioError('BAD_INPUT', 'The NPY header is truncated.');
    len = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new StudioError('BAD_INPUT', `NPY format version ${major}.${buf[7]} is not supported (1.0, 2.0 and 3.0 are).`);
  }
  if (start + len > buf.length) throw new StudioError('BAD_INPUT', 'The NPY header is truncated.');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(start, start + len));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header)?.[1];
  if (!descr) {
    if (/['"]descr['"]\s*:\s*\[/.test(header)) throw new StudioError('BAD_INPUT', 'Structured (record) NPY arrays are not supported; save a plain numeric array.');
    throw new StudioError('BAD_INPUT', `The NPY header has no dtype: ${header.trim().slice(0, 120)}`);
  }
  const fo = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const sh = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (fo === undefined || sh === undefined) throw new StudioError('BAD_INPUT', `The NPY header is malformed: ${header.trim().slice(0, 120)}`);
  const shape = sh
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((v) => !Number.isInteger(v) || v < 0)) throw new StudioError('BAD_INPUT', `The NPY shape (${sh}) is not valid.`);
  return { descr, fortran: fo === 'True', shape, dataOffset: start + len };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function parseNpy(bytes: Uint8Array): Matrix {
  const { descr, fortran, shape, dataOffset } = parseNpyHeader(bytes);
  const m = /^([<>|=]?)([fiub])(\d+)$/.exec(descr);
  if (!m) throw new StudioError('BAD_INPUT', `NPY dtype "${descr}" is not supported; use a float, int, uint or bool array.`);
  const [, order, kind, sizeStr] = m;
  const size = Number(sizeStr);
  const little = order !== '>';
  const okSizes: Record<string, number[]> = { f: [2, 4, 8], i: [1, 2, 4, 8], u: [1, 2, 4, 8], b: [1] };
  if (!okSizes[kind].includes(size)) throw new StudioError('BAD_INPUT', `NPY dtype "${descr}" is not supported.`);
  if (shape.length === 0) throw new StudioError('BAD_INPUT', 'The NPY file holds a single scalar, not a matrix.');
  const n = shape[0];
  const d = shape.length === 1 ? 1 : shape.slice(1).reduce((a, b) => a * b, 1);
  if (fortran && shape.length > 2) {
    throw new StudioError('BAD_INPUT', `Fortran-ordered NPY arrays with ${shape.length} dimensions are not supported.`, {
      hint: 'Save numpy.ascontiguousarray(a) instead.',
    });
  }
  const count = n * d;
  if (dataOffset + count * size > bytes.length) {
    throw new StudioError('BAD_INPUT', `The NPY file is truncated: shape (${shape.join(', ')}) of ${descr} needs ${count * size} data bytes, found ${bytes.length - dataOffset}.`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset + dataOffset, count * size);
  const read = (p: number): number => {
    const o = p * size;
    switch (kind) {
      case 'f':
        return size === 4 ? dv.getFloat32(o, little) : size === 8 ? dv.getFloat64(o, little) : halfToFloat(dv.getUint16(o, little));
      case 'i':
        return size === 1 ? dv.getInt8(o) : size === 2 ? dv.getInt16(o, little) : size === 4 ? dv.getInt32(o, little) : Number(dv.getBigInt64(o, little));
      case 'u':
        return size === 1 ? dv.getUint8(o) : size === 2 ? dv.getUint16(o, little) : size === 4 ? dv.getUint32(o, little) : Number(dv.getBigUint64(o, little));
      default:
        return dv.getUint8(o) ? 1 : 0;
    }
  };
  const data = new Float32Array(count);
  if (!fortran) {
    for (let p = 0; p < count; p++) data[p] = read(p);
  } else {
    // element (i, j) sits at i + j * n
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = read(i + j * n);
  }
  return { rows: n, cols: d, data };
}

// ---------------------------------------------------------------- IDX (MNIST)

/** IDX (big-endian, as MNIST / Fashion-MNIST): n x (product of the other dims); ubyte scaled to [0, 1]. */
export function parseIdx(bytes: Uint8Array): Matrix {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new StudioError('BAD_INPUT', 'Not an IDX file (bad magic number).');
  const type = bytes[2];
  const ndim = bytes[3];
  const sizes: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
  const size = sizes[type];
  if (!size) throw new StudioError('BAD_INPUT', `Unknown IDX element type 0x${type.toString(16)}.`);
  if (ndim < 1 || bytes.length < 4 + 4 * ndim) throw new StudioError('BAD_INPUT', 'The IDX header is truncated.');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(dv.getUint32(4 + 4 * i, false));
  const n = dims[0];
  const d = dims.slice(1).reduce((a, b) => a * b, 1);
  const off = 4 + 4 * ndim;
  if (off + n * d * size > bytes.length) throw new StudioError('BAD_INPUT', `The IDX file is truncated (dims ${dims.join(' x ')}).`);
  const data = new Float32Array(n * d);
  if (type === 0x08) {
    for (let p = 0; p < n * d; p++) data[p] = bytes[off + p] / 255;
  } else {
    for (let p = 0; p < n * d; p++) {
      const o = off + p * size;
      data[p] =
        type === 0x09 ? dv.getInt8(o) : type === 0x0b ? dv.getInt16(o, false) : type === 0x0c ? dv.getInt32(o, false) : type === 0x0d ? dv.getFloat32(o, false) : dv.getFloat64(o, false);
    }
  }
  return { rows: n, cols: d, data };
}
