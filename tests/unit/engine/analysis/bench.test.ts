import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { benchData } from '../../../../src/main/engine/analysis/bench';

// The bench itself is run by `npm run bench` (no timing assertions here); this checks its data.
describe('analysis bench data', () => {
  it('falls back to seeded random data and says so', () => {
    const a = benchData(5, '/nonexistent/train-images-idx3-ubyte.gz');
    const b = benchData(5, '/nonexistent/train-images-idx3-ubyte.gz');
    expect(a.source).toMatch(/uniform random data, seed 1234 \(.* not found\)/);
    expect([a.X.rows, a.X.cols]).toEqual([5, 784]);
    expect(Array.from(a.X.data)).toEqual(Array.from(b.X.data));
  });

  it('reads a gzipped idx file (first rows, pixels / 255)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-'));
    const p = path.join(dir, 'train-images-idx3-ubyte.gz');
    const head = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2];
    fs.writeFileSync(p, gzipSync(new Uint8Array([...head, 0, 255, 51, 51, 102, 102])));
    const { X, source } = benchData(2, p);
    expect(source).toMatch(/Fashion-MNIST train images/);
    expect([X.rows, X.cols]).toEqual([2, 2]);
    expect(Array.from(X.data)).toEqual([0, 1, Math.fround(0.2), Math.fround(0.2)]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
