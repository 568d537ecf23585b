import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIdx } from '../../../../src/main/engine/data/idx';
import { clearIdxCache, idxCached, loadDatasetMatrix, subsetIndices } from '../../../../src/main/engine/analysis/dataset-source';
import type { Workspace } from '../../../../src/main/engine/core/workspace';

let tmp: string;
let ws: Workspace;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-dsmat-'));
  ws = { root: tmp, datasets: path.join(tmp, 'datasets'), runs: '', bundles: '', tmp: '', shippedModels: '', resources: '' };
  // a packed (idx) dataset of 5 images 2x2x1: image i has every pixel = 50 * i; labels 9 - i
  const dir = path.join(ws.datasets, 'tiny');
  fs.mkdirSync(dir, { recursive: true });
  const n = 5;
  const images = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(50 * i, i * 4, i * 4 + 4);
  fs.writeFileSync(path.join(dir, 'train-images.idx.gz'), encodeIdx({ dims: [n, 2, 2], data: images }));
  fs.writeFileSync(path.join(dir, 'train-labels.idx.gz'), encodeIdx({ dims: [n], data: Uint8Array.from([9, 8, 7, 6, 5]) }));
  const manifest = {
    schemaVersion: 1,
    id: 'tiny',
    name: 'tiny',
    kind: 'fashion-mnist',
    createdAt: new Date(0).toISOString(),
    source: { layout: 'idx', path: null },
    image: { width: 2, height: 2, channels: 1 },
    counts: { train: n, test: 0, warnings: 0, skipped: 0 },
    classes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
    storage: 'packed',
    packed: {
      train: { images: { x: 'train-images.idx.gz' }, labels: 'train-labels.idx.gz', count: { x: n } },
      test: { images: {}, count: {} },
    },
    fileHashes: {},
    contentHash: '',
    options: { size: null, fit: 'cover', background: '#000000', seed: 0, testFraction: 0 },
  };
  fs.writeFileSync(path.join(dir, 'dataset.json'), JSON.stringify(manifest));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('dataset rows for the analyses', () => {
  it('subsetIndices: all, or a seeded sorted subset', () => {
    expect(subsetIndices(4, undefined, 0)).toEqual([0, 1, 2, 3]);
    expect(subsetIndices(4, 10, 0)).toEqual([0, 1, 2, 3]);
    const a = subsetIndices(1000, 10, 3);
    expect(a).toEqual(subsetIndices(1000, 10, 3));
    expect(a).not.toEqual(subsetIndices(1000, 10, 4));
    expect(a).toEqual([...a].sort((x, y) => x - y));
    expect(new Set(a).size).toBe(10);
  });

  it('reads a packed dataset: flattened rows in [0,1], labels, classes, indices', async () => {
    const all = await loadDatasetMatrix({ workspace: ws }, 'tiny');
    expect([all.matrix.rows, all.matrix.cols]).toEqual([5, 4]);
    expect(Array.from(all.matrix.data.subarray(4, 8))).toEqual([50 / 255, 50 / 255, 50 / 255, 50 / 255].map(Math.fround));
    expect(all.labels).toEqual([9, 8, 7, 6, 5]);
    expect(all.indices).toEqual([0, 1, 2, 3, 4]);
    expect(all.description).toMatch(/tiny \(train, all 5 images, 2x2x1\)/);
    const some = await loadDatasetMatrix({ workspace: ws }, 'tiny', 2, { seed: 1 });
    expect(some.matrix.rows).toBe(2);
    for (let r = 0; r < 2; r++) {
      const i = some.indices[r]!;
      expect(some.matrix.data[r * 4]).toBe(Math.fround((50 * i) / 255));
      expect(some.labels![r]).toBe(9 - i);
    }
  });

  it('keeps decoded files while they are unchanged, and reads a rewritten file anew', async () => {
    const file = path.join(ws.datasets, 'tiny', 'train-images.idx.gz');
    const before = await idxCached(file);
    expect(await idxCached(file)).toBe(before); // the same decoded array: no second unzip
    const first = await loadDatasetMatrix({ workspace: ws }, 'tiny');
    // a re-import writes new bytes: every pixel of image i is now 10 * i (same size, newer mtime)
    const images = new Uint8Array(20);
    for (let i = 0; i < 5; i++) images.fill(10 * i, i * 4, i * 4 + 4);
    const saved = fs.readFileSync(file);
    try {
      fs.writeFileSync(file, encodeIdx({ dims: [5, 2, 2], data: images }));
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(file, later, later);
      const again = await loadDatasetMatrix({ workspace: ws }, 'tiny');
      expect(again.matrix.data[4]).toBe(Math.fround(10 / 255));
      expect(first.matrix.data[4]).toBe(Math.fround(50 / 255)); // rows handed out earlier are the caller's own
      expect(await idxCached(file)).not.toBe(before);
    } finally {
      fs.writeFileSync(file, saved);
      clearIdxCache();
    }
    await expect(idxCached(path.join(ws.datasets, 'tiny', 'none.idx.gz'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('says what is missing', async () => {
    await expect(loadDatasetMatrix({ workspace: ws }, 'tiny', undefined, { split: 'test' })).rejects.toThrow(/no images in its test split/);
    await expect(loadDatasetMatrix({ workspace: ws }, 'other')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
