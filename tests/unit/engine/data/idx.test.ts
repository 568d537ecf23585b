import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx, readIdx, FASHION_FILES } from '../../../../src/main/engine/data/idx';
import { DEBIAN_FASHION_DIR, SUBSET_QUOTA } from '../../../../src/main/engine/data/demo';
import { readFashionFolder } from '../../../../src/main/engine/data/validate';

const SUBSET = path.resolve('resources/demo/fashion-mnist-subset');
const hasDebian = fs.existsSync(path.join(DEBIAN_FASHION_DIR, `${FASHION_FILES.trainImages}.gz`));
const px = (data: Uint8Array, i: number, y: number, x: number) => data[i * 784 + y * 28 + x];

describe('idx', () => {
  it('round-trips encode/parse, gzipped and not', () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 7);
    for (const gz of [true, false]) {
      const back = parseIdx(encodeIdx({ dims: [2, 3, 4], data }, gz));
      expect(back.dims).toEqual([2, 3, 4]);
      expect([...back.data]).toEqual([...data]);
    }
  });

  it('rejects a wrong magic number and a truncated body with clear messages', () => {
    expect(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'x.idx')).toThrow(/not an idx file/);
    const enc = encodeIdx({ dims: [10, 28, 28], data: new Uint8Array(7840) }, false);
    expect(() => parseIdx(enc.subarray(0, 100), 'x.idx')).toThrow(/truncated: header says 7840 bytes/);
  });

  it('reads the shipped subset: 2,600 images, labels, a known pixel', async () => {
    const img = await readIdx(path.join(SUBSET, `${FASHION_FILES.trainImages}.gz`));
    const lab = await readIdx(path.join(SUBSET, `${FASHION_FILES.trainLabels}.gz`));
    expect(img.dims).toEqual([2600, 28, 28]);
    expect(lab.dims).toEqual([2600]);
    expect(2600).toBe(SUBSET_QUOTA.reduce((a, b) => a + b, 0));
    // The subset starts with training image 0 (an ankle boot) and keeps the original order.
    expect([...lab.data.subarray(0, 10)]).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(px(img.data, 0, 14, 14)).toBe(217);
    expect(px(img.data, 1, 14, 14)).toBe(204);
    let sum = 0;
    for (let i = 0; i < 784; i++) sum += img.data[i]!;
    expect(sum).toBe(76247);
    const counts = new Array(10).fill(0);
    for (const l of lab.data) counts[l]++;
    expect(counts).toEqual(SUBSET_QUOTA);
  });

  it.skipIf(!hasDebian)(`reads the real Fashion-MNIST files (Debian dataset-fashion-mnist)${hasDebian ? '' : " (skipped: Debian's dataset-fashion-mnist is not installed)"}`, async () => {
    const { files, reports, problems } = await readFashionFolder(DEBIAN_FASHION_DIR);
    expect(problems).toEqual([]);
    expect(reports.every((r) => r.verdict === 'ok')).toBe(true);
    expect(files!.train.images.dims).toEqual([60000, 28, 28]);
    expect(files!.test!.images.dims).toEqual([10000, 28, 28]);
    expect(files!.train.labels.dims).toEqual([60000]);
    expect(px(files!.train.images.data, 0, 14, 14)).toBe(217);
    expect(px(files!.train.images.data, 0, 10, 20)).toBe(210);
    expect(px(files!.test!.images.data, 0, 14, 14)).toBe(110);
    expect(files!.train.labels.data[0]).toBe(9);
  });
});
