import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pattern, solid, writePairedFolders, writeSideBySide, writeUnpaired } from '../../../fixtures/bad-images';
import { scanSource } from '../../../../src/main/engine/data/scan';
import { validateSource } from '../../../../src/main/engine/data/validate';
import { assignSplits, importDataset } from '../../../../src/main/engine/data/import';
import { readManifest } from '../../../../src/main/engine/data/store';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';

let tmp: string;
let ws: Workspace;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-pairing-'));
  ws = openWorkspace(path.join(tmp, 'ws'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('paired: A/ and B/ by stem', () => {
  it('matches by relative stem across extensions and nesting, lists orphans by name', async () => {
    const dir = path.join(tmp, 'ab');
    const { stems } = await writePairedFolders(dir, { n: 3 });
    const scan = await scanSource({ kind: 'paired', path: dir });
    expect(scan.layout).toBe('folders');
    expect(scan.entries.map((e) => e.name).sort()).toEqual([...stems].sort());
    const e0 = scan.entries.find((e) => e.name === 'img0')!;
    expect(path.basename(e0.a!.path)).toBe('img0.png');
    expect(path.basename(e0.b!.path)).toBe('img0.jpg');
    expect(scan.entries.find((e) => e.name === 'sub/deep')?.b?.rel).toBe('B/sub/deep.png');
    const { report } = await validateSource({ kind: 'paired', path: dir });
    expect(report.pairs).toEqual({ matched: 4, missingB: ['A/onlyA.png'], missingA: ['B/onlyB.png'] });
    const orphan = report.files.find((f) => f.rel === 'A/onlyA.png')!;
    expect(orphan).toMatchObject({ verdict: 'error', issue: 'MISSING_PARTNER' });
    expect(orphan.message).toMatch(/No partner in B\/: no file named onlyA/);
    expect(report.importable).toBe(true);
    expect(report.clean).toBe(false);
  });

  it('imports the pairs (acceptPartial) with A and B files side by side in the manifest', async () => {
    const dir = path.join(tmp, 'ab');
    const r = await importDataset(ws, { kind: 'paired', path: dir, name: 'ab', acceptPartial: true, testFraction: 0.25, seed: 3 });
    expect(r.imported).toBe(4);
    expect(r.skipped.map((s) => path.basename(s.path)).sort()).toEqual(['onlyA.png', 'onlyB.png']);
    const m = await readManifest(path.join(ws.datasets, 'ab'));
    expect(m.counts).toMatchObject({ train: 3, test: 1 });
    for (const it of m.items!) {
      expect(it.files.a).toMatch(/\/A\//);
      expect(it.files.b).toMatch(/\/B\//);
    }
    // B of img1 is the solid colour [40, 100, 200] (JPEG, so nearly).
    const it1 = m.items!.find((i) => i.name === 'img1')!;
    const px = await sharp(path.join(ws.datasets, 'ab', it1.files.b!)).raw().toBuffer();
    expect(Math.abs(px[0]! - 40)).toBeLessThan(4);
    expect(Math.abs(px[2]! - 200)).toBeLessThan(4);
  });
});

describe('paired: side by side (pix2pix)', () => {
  it('splits each image into A (left half) and B (right half), train/ and val/ as splits', async () => {
    const dir = path.join(tmp, 'sbs');
    await writeSideBySide(dir, { n: 3, size: 16 });
    const { report } = await validateSource({ kind: 'paired', path: dir, network: 'unet' });
    expect(report.layout).toBe('side-by-side');
    expect(report.counts).toMatchObject({ items: 5, train: 3, test: 2 });
    expect(report.size.sizes).toEqual([{ width: 16, height: 16, count: 5 }]);
    expect(report.size.ok).toBe(true);
    const r = await importDataset(ws, { kind: 'paired', path: dir, name: 'sbs' });
    expect(r.dataset.image).toEqual({ width: 16, height: 16, channels: 3 });
    const m = await readManifest(path.join(ws.datasets, 'sbs'));
    const it = m.items!.find((i) => i.split === 'train')!;
    const a = await sharp(path.join(ws.datasets, 'sbs', it.files.a!)).raw().toBuffer({ resolveWithObject: true });
    const b = await sharp(path.join(ws.datasets, 'sbs', it.files.b!)).raw().toBuffer({ resolveWithObject: true });
    expect(a.info.width).toBe(16);
    // Every pixel of A is the left colour, every pixel of B the right one: no bleed at the seam.
    for (let i = 0; i < 16 * 16; i++) {
      expect(a.data[i * 3]).toBe(200);
      expect(b.data[i * 3 + 2]).toBe(200);
      expect(b.data[i * 3]).toBe(0);
    }
  });
});

describe('paired: dropped pairs', () => {
  it('takes an explicit list of {a, b}', async () => {
    const dir = path.join(tmp, 'drop');
    fs.mkdirSync(dir);
    const pairs = [];
    for (let i = 0; i < 3; i++) {
      await pattern(24, 24, i).png().toFile(path.join(dir, `x${i}.png`));
      await solid(24, 24, [i, i, i]).png().toFile(path.join(dir, `y${i}.png`));
      pairs.push({ a: path.join(dir, `x${i}.png`), b: path.join(dir, `y${i}.png`) });
    }
    pairs.push({ a: path.join(dir, 'x0.png'), b: path.join(dir, 'missing.png') });
    const { report } = await validateSource({ kind: 'paired', pairs });
    expect(report.layout).toBe('pairs');
    expect(report.counts.items).toBe(3);
    expect(report.files.find((f) => f.rel === 'missing.png')?.issue).toBe('UNREADABLE');
  });
});

describe('unpaired (CycleGAN folders)', () => {
  it('counts each domain and keeps testA/testB as the test split', async () => {
    const dir = path.join(tmp, 'cyc');
    await writeUnpaired(dir, { a: 5, b: 3, size: 16 });
    const { report } = await validateSource({ kind: 'unpaired', path: dir });
    expect(report.domains).toEqual({ a: 6, b: 4 });
    expect(report.counts).toMatchObject({ train: 8, test: 2 });
    const r = await importDataset(ws, { kind: 'unpaired', path: dir, name: 'cyc' });
    expect(r.dataset.counts).toMatchObject({ a: 6, b: 4, train: 8, test: 2 });
  });

  it('says which folder is missing', async () => {
    const dir = path.join(tmp, 'cyc-bad');
    fs.mkdirSync(path.join(dir, 'trainA'), { recursive: true });
    const { report } = await validateSource({ kind: 'unpaired', path: dir });
    expect(report.importable).toBe(false);
    expect(report.problems[0]).toMatch(/need trainA\/ and trainB\//);
  });
});

describe('splits', () => {
  it('assigns the same test items for the same seed, stratified per group', () => {
    const mk = () => Array.from({ length: 20 }, (_, i) => ({ name: `n${i}`, g: i % 2 ? 'odd' : 'even' })) as { name: string; g: string; split?: 'train' | 'test' }[];
    const a = mk();
    const b = mk();
    assignSplits(a, (e) => e.g, 0.2, 7);
    assignSplits(b, (e) => e.g, 0.2, 7);
    expect(a.map((e) => e.split)).toEqual(b.map((e) => e.split));
    expect(a.filter((e) => e.split === 'test' && e.g === 'odd').length).toBe(2);
    expect(a.filter((e) => e.split === 'test' && e.g === 'even').length).toBe(2);
  });
});
