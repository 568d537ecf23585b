import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { importDataset } from '../../../../src/main/engine/data/import';
import { DatasetLoader } from '../../../../src/main/engine/data/loader';
import { readManifest } from '../../../../src/main/engine/data/store';
import { validateSource } from '../../../../src/main/engine/data/validate';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';

const SUBSET = path.resolve('resources/demo/fashion-mnist-subset');
let tmp: string;
let ws: Workspace;
beforeAll(async () => {
  await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-fmnist-'));
  ws = openWorkspace(path.join(tmp, 'ws'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('validates, imports (packed, hashed) and loads a Fashion-MNIST idx folder', async () => {
  const { report } = await validateSource({ kind: 'fashion-mnist', path: SUBSET });
  expect(report).toMatchObject({ layout: 'idx', greyscale: true, clean: true, counts: { train: 2600, test: 0 } });
  expect(report.classes?.[7]).toEqual({ name: 'Sneaker', count: 500 });
  const r = await importDataset(ws, { kind: 'fashion-mnist', path: SUBSET, name: 'fmnist' });
  expect(r.imported).toBe(2600);
  const m = await readManifest(path.join(ws.datasets, 'fmnist'));
  expect(m).toMatchObject({ storage: 'packed', image: { width: 28, height: 28, channels: 1 } });
  expect(Object.values(m.fileHashes).every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
  const l = await DatasetLoader.open(path.join(ws.datasets, 'fmnist'), { batchSize: 5, shuffle: false, augment: false });
  const b = await l.next();
  if (b.kind !== 'labeled') throw new Error('expected labeled');
  expect(Array.from(b.label.dataSync())).toEqual([9, 0, 0, 3, 0]);
  // Pixel (14, 14) of training image 0 is 217 -> 217 / 127.5 - 1.
  expect(b.x.arraySync()[0]![14]![14]![0]).toBeCloseTo(217 / 127.5 - 1, 6);
  tf.dispose([b.x, b.label]);
});

it('says which Fashion-MNIST files are missing', async () => {
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  const { report } = await validateSource({ kind: 'fashion-mnist', path: empty });
  expect(report.importable).toBe(false);
  expect(report.problems[0]).toMatch(/expected train-images-idx3-ubyte\.gz/);
});
