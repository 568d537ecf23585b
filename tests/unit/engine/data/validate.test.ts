import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, writeBadImageCorpus, writeLabeled, type Corpus } from '../../../fixtures/bad-images';
import { probeFile } from '../../../../src/main/engine/data/probe';
import { validateSource } from '../../../../src/main/engine/data/validate';
import { importDataset } from '../../../../src/main/engine/data/import';
import { readManifest } from '../../../../src/main/engine/data/store';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';

let tmp: string;
let corpus: Corpus;
let ws: Workspace;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-validate-'));
  corpus = await writeBadImageCorpus(path.join(tmp, 'corpus'));
  ws = openWorkspace(path.join(tmp, 'ws'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('probeFile on the bad-input corpus', () => {
  const names = [
    'good', 'goodJpg', 'nested', 'zero', 'truncatedPng', 'truncatedJpg', 'textAsPng', 'bomb', 'sixteenBit', 'cmyk', 'grey',
    'rgba', 'animGif', 'animWebp', 'exif', 'symlinkLoop', 'brokenLink',
  ];
  for (const name of names) {
    it(`${name}: expected verdict and message`, async () => {
      const c = corpus.cases[name]!;
      const r = await probeFile(c.path);
      expect(r.verdict, r.message).toBe(c.verdict);
      if (c.issue) expect(r.issue).toBe(c.issue);
      expect(r.message).toMatch(c.message);
    });
  }

  it('reports size, channels, depth, alpha, animation and orientation', async () => {
    const c = corpus.cases;
    expect(await probeFile(c.sixteenBit!.path)).toMatchObject({ bitDepth: 16, width: 48, height: 32 });
    expect(await probeFile(c.cmyk!.path)).toMatchObject({ space: 'cmyk', channels: 4 });
    expect(await probeFile(c.grey!.path)).toMatchObject({ space: 'b-w', channels: 1, bitDepth: 8 });
    expect(await probeFile(c.rgba!.path)).toMatchObject({ hasAlpha: true });
    expect(await probeFile(c.animWebp!.path)).toMatchObject({ animated: true, pages: 2 });
    expect(await probeFile(c.exif!.path)).toMatchObject({ orientation: 6, width: 48, height: 32 });
    // The pixel bomb is refused from its header: no decode, no 2.7 GB allocation.
    expect(await probeFile(c.bomb!.path)).toMatchObject({ width: 30000, height: 30000, verdict: 'error' });
  });

  // chmod 000 does not stop root, so as root (CI) the permission-denied path cannot run: skipped,
  // not passed. The import test below counts the file as good when root reads it.
  it.skipIf(isRoot())(isRoot() ? 'unreadable file (chmod 000) (skipped: running as root, which reads any file)' : 'unreadable file (chmod 000)', async () => {
    const c = corpus.cases.unreadable!;
    const r = await probeFile(c.path);
    expect(r.verdict).toBe('error');
    expect(r.issue).toBe(c.issue);
    expect(r.message).toMatch(c.message);
  });
});

describe('validateSource + importDataset (labeled: good/ and bad/ classes)', () => {
  let src: string;
  beforeAll(() => {
    // Class folder "mixed" holds the whole corpus (nested folders, symlink loop included); "plain" is clean.
    src = path.join(tmp, 'labeled');
    fs.mkdirSync(src);
    fs.symlinkSync(corpus.dir, path.join(src, 'mixed'));
  });

  it('lists every file with its verdict, walks nested folders, reports the folder loop', async () => {
    await writeLabeled(path.join(tmp, 'plain-src'), { classes: ['plain'], perClass: 2 });
    fs.symlinkSync(path.join(tmp, 'plain-src', 'plain'), path.join(src, 'plain'));
    const { report } = await validateSource({ kind: 'labeled', path: src, size: 32, network: 'unet', batchSize: 4 });
    const byRel = new Map(report.files.map((f) => [f.rel, f]));
    expect(byRel.get('mixed/nested/deeper/inner.png')?.verdict).toBe('ok');
    expect(byRel.get('mixed/bomb.png')?.issue).toBe('TOO_LARGE');
    expect(byRel.get('mixed/zero.png')?.issue).toBe('EMPTY');
    expect(byRel.get('mixed/text.png')?.issue).toBe('NOT_IMAGE');
    expect(byRel.get('mixed/selfloop.png')?.issue).toBe('SYMLINK_LOOP');
    // Each file carries its own message in the whole-folder report (not a neighbour's decoder error).
    for (const [name, c] of Object.entries(corpus.cases)) {
      if (c.skip) continue;
      const rel = `mixed/${path.relative(corpus.dir, c.path).split(path.sep).join('/')}`;
      const f = byRel.get(rel);
      expect(f, `${name} missing from report`).toBeDefined();
      expect(f!.verdict, `${name}: ${f!.message}`).toBe(c.verdict);
      expect(f!.message, name).toMatch(c.message);
    }
    const loop = report.files.find((f) => f.rel === 'mixed/nested/back-up');
    expect(loop?.issue).toBe('SYMLINK_LOOP');
    expect(loop?.message).toMatch(/already being read/);
    expect(report.classes?.map((c) => c.name)).toEqual(['mixed', 'plain']);
    expect(report.counts.errors).toBeGreaterThanOrEqual(7);
    expect(report.clean).toBe(false);
    expect(report.importable).toBe(true);
    expect(report.greyscale).toBe(false);
    expect(report.size.ok).toBe(true);
    expect(report.size.needsResize).toBe(true);
    expect(report.memory.batchSize).toBe(4);
    expect(report.memory.trainingBytes).toBeGreaterThan(report.memory.batchBytes);
    expect(report.memory.explanation).toMatch(/32x32, batch 4/);
    expect(report.problems.join(' ')).toMatch(/without an image extension were ignored/);
  });

  it('explains the U-Net size rule and suggests sizes', async () => {
    const { report } = await validateSource({ kind: 'labeled', path: src, size: 48, network: 'unet' });
    expect(report.size.ok).toBe(false);
    expect(report.size.message).toMatch(/power of two, at least 16/);
    expect(report.size.suggestions).toEqual([32, 64]);
    expect(report.importable).toBe(false);
  });

  it('refuses to import bad files without acceptPartial, and writes nothing', async () => {
    await expect(importDataset(ws, { kind: 'labeled', path: src, name: 'refused', size: 32 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(fs.readdirSync(ws.datasets)).toEqual([]);
  });

  it('imports the good files with acceptPartial: oriented, flattened, 8-bit RGB at the chosen size', async () => {
    const r = await importDataset(ws, { kind: 'labeled', path: src, name: 'partial', size: 32, acceptPartial: true, background: '#00ff00', testFraction: 0 });
    const expectedGood = corpus.good.length + (isRoot() ? 1 : 0) + 2; // + unreadable.png when root, + 2 plain
    expect(r.imported).toBe(expectedGood);
    expect(r.skipped.length).toBeGreaterThanOrEqual(7);
    const dir = path.join(ws.datasets, 'partial');
    const m = await readManifest(dir);
    expect(m).toMatchObject({ schemaVersion: 1, kind: 'labeled', storage: 'files', image: { width: 32, height: 32, channels: 3 }, classes: ['mixed', 'plain'] });
    expect(m.counts).toMatchObject({ train: expectedGood, test: 0, skipped: r.skipped.length });
    for (const it of m.items!) {
      const meta = await sharp(path.join(dir, it.files.x!)).metadata();
      expect([meta.width, meta.height, meta.channels, meta.depth]).toEqual([32, 32, 3, 'uchar']);
      expect(Object.keys(m.fileHashes)).toContain(it.files.x);
      expect(it.hashes.x).toMatch(/^[0-9a-f]{64}$/);
    }
    // Transparent red flattened onto the chosen green background.
    const rgba = m.items!.find((i) => i.name.endsWith('rgba'))!;
    const px = await sharp(path.join(dir, rgba.files.x!)).raw().toBuffer();
    expect([...px.subarray(0, 3)]).toEqual([0, 255, 0]);
    // First frame of the animated GIF (blue), not the second (green).
    const gif = m.items!.find((i) => i.name.endsWith('anim'))!;
    const g = await sharp(path.join(dir, gif.files.x!)).raw().toBuffer();
    expect(g[2]).toBeGreaterThan(200);
    expect(g[1]).toBeLessThan(50);
  });

  it('keeps one channel when the whole dataset is greyscale, and auto-orients EXIF images', async () => {
    const greySrc = path.join(tmp, 'grey-src');
    await writeLabeled(greySrc, { classes: ['a', 'b'], perClass: 2, grey: true, size: 16 });
    const { report } = await validateSource({ kind: 'labeled', path: greySrc });
    expect(report.greyscale).toBe(true);
    expect(report.clean).toBe(true);
    const r = await importDataset(ws, { kind: 'labeled', path: greySrc, name: 'grey' });
    expect(r.dataset.image).toEqual({ width: 16, height: 16, channels: 1 });

    const exifSrc = path.join(tmp, 'exif-src');
    for (const c of ['x', 'y']) {
      fs.mkdirSync(path.join(exifSrc, c), { recursive: true });
      fs.copyFileSync(corpus.cases.exif!.path, path.join(exifSrc, c, 'e.jpg'));
    }
    const v = await validateSource({ kind: 'labeled', path: exifSrc });
    // Stored 48x32 with orientation 6: upright 32x48.
    expect(v.report.size.sizes).toEqual([{ width: 32, height: 48, count: 2 }]);
    const e = await importDataset(ws, { kind: 'labeled', path: exifSrc, name: 'exif', testFraction: 0 });
    expect(e.dataset.image).toMatchObject({ width: 32, height: 48 });
  });

  it('refuses an existing name unless replace', async () => {
    const greySrc = path.join(tmp, 'grey-src');
    await expect(importDataset(ws, { kind: 'labeled', path: greySrc, name: 'grey' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(importDataset(ws, { kind: 'labeled', path: greySrc, name: 'grey', replace: true })).resolves.toMatchObject({ imported: 4 });
  });
});
