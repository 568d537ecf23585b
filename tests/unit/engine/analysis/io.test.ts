import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../../src/shared/errors';
import { loadMatrix, parseCsv, parseIdx, parseJsonMatrix, parseNpy } from '../../../../src/main/engine/analysis/io';
import { toRows } from '../../../../src/main/engine/analysis/matrix';

const here = dirname(fileURLToPath(import.meta.url));
const npy = (name: string) => loadMatrix(join(here, 'fixtures/npy', name));
const A = [
  [1.5, -2, 3.25],
  [4, 5.5, -6],
];

describe('CSV', () => {
  it('reads numbers with and without a header, comma / tab / whitespace', () => {
    expect(toRows(parseCsv('1,2,3\n4,5,6\n').matrix)).toEqual([[1, 2, 3], [4, 5, 6]]);
    const h = parseCsv('x,y\r\n1,2\r\n\r\n# comment\r\n3.5,-4e-1\r\n');
    expect(h.columns).toEqual(['x', 'y']);
    expect(toRows(h.matrix)).toEqual([[1, 2], [3.5, Math.fround(-0.4)]]);
    expect(toRows(parseCsv('a\tb\n1\t2\n').matrix)).toEqual([[1, 2]]);
    expect(toRows(parseCsv('1 2  3\n4 5 6').matrix)).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(toRows(parseCsv('"a";"b"\n1;2').matrix)).toEqual([[1, 2]]);
  });

  it('says which line and column is wrong', () => {
    expect(() => parseCsv('1,2\n3\n')).toThrow(/Line 2 of the CSV has 1 values but the first row has 2/);
    expect(() => parseCsv('x,y\n1,2\n3,abc\n')).toThrow(/Line 3, column 2 of the CSV is not a number: "abc"/);
    expect(() => parseCsv('1,2\n3,\n')).toThrow(/Line 2, column 2 of the CSV is empty/);
    expect(() => parseCsv('1,NaN\n')).toThrow(/not a number/);
    expect(() => parseCsv('\n\n')).toThrow(/no rows/);
    expect(() => parseCsv('x,y\n')).toThrow(/header but no data/);
  });
});

describe('JSON', () => {
  it('reads an array of arrays (or {rows})', () => {
    expect(toRows(parseJsonMatrix('[[1,2],[3,4]]'))).toEqual([[1, 2], [3, 4]]);
    expect(toRows(parseJsonMatrix('{"rows": [[1],[2]]}'))).toEqual([[1], [2]]);
  });
  it('rejects ragged rows, non-numbers and bad JSON', () => {
    expect(() => parseJsonMatrix('[[1,2],[3]]')).toThrow(/Row 1 of the JSON has 1 values but row 0 has 2/);
    expect(() => parseJsonMatrix('[[1,"x"]]')).toThrow(/Row 0, column 1 of the JSON is not a finite number/);
    expect(() => parseJsonMatrix('[[1,null]]')).toThrow(/not a finite number/);
    expect(() => parseJsonMatrix('[1,2]')).toThrow(/array of rows/);
    expect(() => parseJsonMatrix('[[1,2]')).toThrow(/does not parse/);
    expect(() => parseJsonMatrix('[]')).toThrow(/empty/);
  });
});

describe('NPY (files written by numpy, fixtures/npy)', () => {
  it('reads v1 <f4, v2 <f8, |u1, big-endian >i4, Fortran order, <f2', async () => {
    expect(toRows((await npy('f4_v1.npy')).matrix)).toEqual(A);
    expect(toRows((await npy('f8_v2.npy')).matrix)).toEqual(A);
    expect(toRows((await npy('f8_fortran.npy')).matrix)).toEqual(A);
    expect(toRows((await npy('u1.npy')).matrix)).toEqual([[0, 128, 255], [1, 2, 3]]);
    expect(toRows((await npy('i4_big.npy')).matrix)).toEqual([[-1, 2, 70000], [4, -5, 6]]);
    expect(toRows((await npy('f2.npy')).matrix)).toEqual([[0.5, -1.25]]);
    expect((await npy('f4_v1.npy')).format).toBe('npy');
  });
  it('flattens n-D to n x rest, 1-D to a column', async () => {
    const m = (await npy('f4_3d.npy')).matrix;
    expect([m.rows, m.cols]).toEqual([2, 6]);
    expect(Array.from(m.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const c = (await npy('f4_1d.npy')).matrix;
    expect([c.rows, c.cols]).toEqual([3, 1]);
  });
  it('rejects non-NPY bytes, truncated data and unsupported dtypes', () => {
    expect(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))).toThrow(/Not an NPY file/);
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 4), }";
    const mk = (h: string, dataBytes: number): Uint8Array => {
      const total = Math.ceil((10 + h.length + 1) / 64) * 64;
      const padded = h.padEnd(total - 10 - 1, ' ') + '\n';
      const out = new Uint8Array(total + dataBytes);
      out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      out[8] = padded.length & 0xff;
      out[9] = padded.length >> 8;
      out.set(new TextEncoder().encode(padded), 10);
      return out;
    };
    expect(() => parseNpy(mk(header, 16))).toThrow(/truncated/);
    expect(() => parseNpy(mk(header.replace('<f8', '<c16'), 0))).toThrow(/not supported/);
    expect(() => parseNpy(mk(header.replace("'<f8'", "[('a', '<f4')]"), 0))).toThrow(/Structured/);
    expect(toRows(parseNpy(mk(header.replace('(4, 4)', '(1, 2)'), 16)))).toEqual([[0, 0]]);
  });
});

describe('IDX (MNIST format)', () => {
  it('reads ubyte images scaled to [0,1], flattened, gzipped or not', async () => {
    // 2 images of 2x2: magic 0x00000803, dims 2, 2, 2
    const bytes = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 255, 51, 102, 1, 2, 3, 4]);
    const m = parseIdx(bytes);
    expect([m.rows, m.cols]).toEqual([2, 4]);
    expect(Array.from(m.data.subarray(0, 4))).toEqual([0, 1, Math.fround(0.2), Math.fround(0.4)]);
    const dir = mkdtempSync(join(tmpdir(), 'atelier-io-'));
    const p = join(dir, 'tiny-images-idx3-ubyte.gz');
    writeFileSync(p, gzipSync(bytes));
    const loaded = await loadMatrix(p);
    expect(loaded.format).toBe('idx');
    expect(Array.from(loaded.matrix.data)).toEqual(Array.from(m.data));
    expect(() => parseIdx(bytes.subarray(0, 20))).toThrow(/truncated/);
  });
});

describe('loadMatrix', () => {
  it('dispatches by extension and names the file in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atelier-io-'));
    writeFileSync(join(dir, 'a.csv'), 'x,y\n1,2\n');
    writeFileSync(join(dir, 'a.json'), '[[1,2,3]]');
    writeFileSync(join(dir, 'bad.json'), '[[1,2],[3]]');
    writeFileSync(join(dir, 'a.bin'), 'xx');
    writeFileSync(join(dir, 'empty.csv'), '');
    expect((await loadMatrix(join(dir, 'a.csv'))).columns).toEqual(['x', 'y']);
    expect(toRows((await loadMatrix(join(dir, 'a.json'))).matrix)).toEqual([[1, 2, 3]]);
    await expect(loadMatrix(join(dir, 'bad.json'))).rejects.toThrow(/bad\.json/);
    await expect(loadMatrix(join(dir, 'a.bin'))).rejects.toThrow(/Don't know how to read/);
    await expect(loadMatrix(join(dir, 'empty.csv'))).rejects.toThrow(/empty/);
    const missing = await loadMatrix(join(dir, 'nope.csv')).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(StudioError);
    expect((missing as StudioError).code).toBe('NOT_FOUND');
  });
});
