import { StudioError } from '../../../shared/errors';

/** A dense row-major float32 matrix: `data[i * cols + j]` is row i, column j. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

export function createMatrix(rows: number, cols: number, data?: Float32Array): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new StudioError('BAD_INPUT', `A matrix needs whole, non-negative dimensions (got ${rows} x ${cols}).`);
  }
  if (data && data.length !== rows * cols) {
    throw new StudioError('BAD_INPUT', `Matrix data has ${data.length} values but ${rows} x ${cols} = ${rows * cols} were expected.`);
  }
  return { rows, cols, data: data ?? new Float32Array(rows * cols) };
}

/** Build a matrix from an array of equal-length number rows (JSON / inline requests). */
export function fromRows(rows: ArrayLike<ArrayLike<number>>, what = 'input'): Matrix {
  const n = rows.length;
  if (n === 0) return createMatrix(0, 0);
  const d = rows[0].length;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    if (!r || typeof r.length !== 'number') {
      throw new StudioError('BAD_INPUT', `Row ${i} of the ${what} is not an array of numbers.`);
    }
    if (r.length !== d) {
      throw new StudioError('BAD_INPUT', `Row ${i} of the ${what} has ${r.length} values but row 0 has ${d}; every row needs the same length.`);
    }
    for (let j = 0; j < d; j++) {
      const v = r[j];
      if (typeof v !== 'number') {
        throw new StudioError('BAD_INPUT', `Row ${i}, column ${j} of the ${what} is not a number (${JSON.stringify(v)}).`);
      }
      data[i * d + j] = v;
    }
  }
  return { rows: n, cols: d, data };
}

export function toRows(m: Matrix): number[][] {
  const out: number[][] = new Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
  return out;
}

export function getRow(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** First n rows (a view, no copy). */
export function headRows(m: Matrix, n: number): Matrix {
  const r = Math.min(n, m.rows);
  return { rows: r, cols: m.cols, data: m.data.subarray(0, r * m.cols) };
}

/**
 * Reject empty matrices and NaN/Infinity with a message that says where the bad value is.
 * Float32 storage turns values beyond ~3.4e38 into Infinity, which this also catches.
 */
export function assertUsable(m: Matrix, what = 'input', minRows = 1): void {
  if (m.rows < minRows) {
    throw new StudioError(
      'BAD_INPUT',
      m.rows === 0
        ? `The ${what} has no rows: there is nothing to analyse.`
        : `The ${what} has ${m.rows} row${m.rows === 1 ? '' : 's'}; this analysis needs at least ${minRows}.`,
      { hint: 'Pick a larger selection or dataset.' },
    );
  }
  if (m.cols === 0) {
    throw new StudioError('BAD_INPUT', `The ${what} rows have no columns (0 features).`);
  }
  const { data } = m;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      const r = Math.floor(i / m.cols);
      const c = i % m.cols;
      throw new StudioError(
        'BAD_INPUT',
        `The ${what} contains ${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'} at row ${r}, column ${c}; every value must be a finite number.`,
        { hint: 'Remove or impute missing values (NaN) and clip overflowing values before the analysis.' },
      );
    }
  }
}
