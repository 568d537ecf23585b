/**
 * The colour photo demos, built from small generated photos (so the test runs without the
 * mate-backgrounds package); the real package's licences are checked when it is installed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildPhotoDemos,
  EXTRA_COLORIZE_SOURCES,
  extraSourcesMissing,
  heldOutSets,
  listPhotos,
  NATURE_COPYRIGHT,
  NATURE_DIR,
  parseDebianCopyright,
  photoSourceMissing,
  PHOTO_DEMO_IDS,
  validationSet,
  type PhotoSource,
} from '../../../../src/main/engine/data/demo-photos';
import { readIdx } from '../../../../src/main/engine/data/idx';
import { readManifest } from '../../../../src/main/engine/data/store';
import { foliageDomain, hueShares } from '../../../../src/main/engine/analysis/colour';
import { openWorkspace } from '../../../../src/main/engine/core/workspace';

let tmp: string;
let photos: string;
const COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: nature/Leaf.png
       nature/Meadow.png
Copyright: 2008, A Person <a@example.org>
           2009, Another
License: GPL-2+
Comment: test

Files: nature/Flame.png
Copyright: 2010, Someone
License: CC-BY-SA-4.0
`;

/** A 320x240 photo: a colour gradient with stripes, so crops differ. */
async function photo(file: string, rgb: [number, number, number]): Promise<void> {
  const w = 320;
  const h = 240;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const k = 0.7 + 0.3 * Math.sin(x / 9) * Math.cos(y / 13);
      for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = Math.round(rgb[c]! * k);
    }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-photos-'));
  photos = path.join(tmp, 'nature');
  fs.mkdirSync(photos);
  await photo(path.join(photos, 'Leaf.png'), [70, 190, 40]);
  await photo(path.join(photos, 'Flame.png'), [240, 120, 20]);
  await photo(path.join(photos, 'Meadow.png'), [80, 200, 60]);
  await photo(path.join(photos, 'Sunset.png'), [250, 150, 30]);
  fs.writeFileSync(path.join(tmp, 'copyright'), COPYRIGHT);
  // An extra package laid out like plasma-workspace-wallpapers: <Name>/contents/images/<size>.jpg,
  // a metadata.json per wallpaper, and a copyright file naming the files under a prefix.
  extra = path.join(tmp, 'extra');
  for (const [n, rgb] of [['Forest', [40, 140, 50]], ['Dusk', [200, 90, 60]], ['Pond', [60, 110, 200]], ['Render', [250, 0, 250]]] as const) {
    fs.mkdirSync(path.join(extra, n, 'contents', 'images'), { recursive: true });
    await photo(path.join(extra, n, 'contents', 'images', '640x480.png'), [...rgb]);
    fs.writeFileSync(path.join(extra, n, 'metadata.json'), JSON.stringify({ KPlugin: { Authors: [{ Name: `${n} Author` }], License: 'LGPLv3' } }));
  }
  fs.writeFileSync(path.join(tmp, 'extra-copyright'), 'Files: pkg/*\nCopyright: 2014 A Group\nLicense: GPL-2+\n\nFiles: pkg/Pond/*\nCopyright: 2015 Pond Person\nLicense: CC0-1.0\n');
});
let extra: string;
const extraSource = (): PhotoSource => ({
  package: 'fake-wallpapers',
  dir: extra,
  copyright: path.join(tmp, 'extra-copyright'),
  prefix: 'pkg/',
  // Render is an illustration: left out by not being listed.
  files: ['Forest', 'Dusk', 'Pond'].map((n) => `${n}/contents/images/640x480.png`),
  kdeMetadata: true,
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const small = () => ({ dir: photos, copyright: path.join(tmp, 'copyright'), heldOut: ['Meadow.png', 'Sunset.png'], size: 32, minCrop: 32, maxCrop: 160, colorizeTrain: 6, colorizeTest: 3, foliageCandidates: 20, foliageTrain: 5, foliageTest: 2 });

describe('colour photo demo datasets', () => {
  it('says what to install when the photos are absent', async () => {
    const miss = photoSourceMissing(path.join(tmp, 'nowhere'));
    expect(miss?.hint).toContain('apt-get install mate-backgrounds');
    await expect(buildPhotoDemos(openWorkspace(path.join(tmp, 'none')), { dir: path.join(tmp, 'nowhere') })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('cuts grey/colour pairs and green/autumn crops, holds out whole photos, records licences, deterministically', async () => {
    const ws = openWorkspace(path.join(tmp, 'one'));
    expect(await buildPhotoDemos(ws, small())).toEqual([...PHOTO_DEMO_IDS]);
    const col = await readManifest(path.join(ws.datasets, 'demo-nature-colorize'));
    expect(col).toMatchObject({ kind: 'paired', image: { width: 32, height: 32, channels: 3 }, counts: { train: 12, test: 6 } });
    const src = Object.fromEntries(col.sources!.map((s) => [s.file, s]));
    expect(src['Meadow.png']).toMatchObject({ split: 'test', items: 3, license: 'GPL-2+', copyright: '2008, A Person <a@example.org>; 2009, Another' });
    expect(src['Flame.png']).toMatchObject({ split: 'train', items: 6, license: 'CC-BY-SA-4.0' });
    expect(src['Sunset.png']!.license).toBe('unknown');

    // A is the grey of B (R = G = B, close to the luma of B's pixels).
    const a = await readIdx(path.join(ws.datasets, 'demo-nature-colorize', 'train', 'a-images-idx3-ubyte.gz'));
    const b = await readIdx(path.join(ws.datasets, 'demo-nature-colorize', 'train', 'b-images-idx3-ubyte.gz'));
    expect(a.dims).toEqual([12, 32, 32, 3]);
    let worst = 0;
    for (let p = 0; p < 12 * 32 * 32; p++) {
      expect(a.data[p * 3]).toBe(a.data[p * 3 + 1]);
      expect(a.data[p * 3]).toBe(a.data[p * 3 + 2]);
      const luma = 0.2126 * b.data[p * 3]! + 0.7152 * b.data[p * 3 + 1]! + 0.0722 * b.data[p * 3 + 2]!;
      worst = Math.max(worst, Math.abs(luma - a.data[p * 3]!));
    }
    expect(worst).toBeLessThan(40); // sharp's b-w works in linear light; luma is a loose check

    const fol = await readManifest(path.join(ws.datasets, 'demo-green2autumn'));
    expect(fol.kind).toBe('unpaired');
    // Green crops come from the green photos only, autumn from the warm ones; test from held-out ones.
    expect(fol.packed!.train.count).toEqual({ a: 5, b: 5 });
    expect(fol.packed!.test.count).toEqual({ a: 2, b: 2 });
    const ga = await readIdx(path.join(ws.datasets, 'demo-green2autumn', 'train', 'a-images-idx3-ubyte.gz'));
    const gb = await readIdx(path.join(ws.datasets, 'demo-green2autumn', 'train', 'b-images-idx3-ubyte.gz'));
    const per = 32 * 32 * 3;
    for (let i = 0; i < 5; i++) {
      expect(foliageDomain(hueShares({ data: ga.data.subarray(i * per, (i + 1) * per), channels: 3, scale: 255 }))).toBe('green');
      expect(foliageDomain(hueShares({ data: gb.data.subarray(i * per, (i + 1) * per), channels: 3, scale: 255 }))).toBe('autumn');
    }

    // Same photos and seed, another workspace: the same bytes.
    const ws2 = openWorkspace(path.join(tmp, 'two'));
    await buildPhotoDemos(ws2, small());
    for (const id of PHOTO_DEMO_IDS) expect((await readManifest(path.join(ws2.datasets, id))).contentHash).toBe((await readManifest(path.join(ws.datasets, id))).contentHash);
    // Another seed: other crops.
    const ws3 = openWorkspace(path.join(tmp, 'three'));
    await buildPhotoDemos(ws3, { ...small(), seed: 1 });
    expect((await readManifest(path.join(ws3.datasets, 'demo-nature-colorize'))).contentHash).not.toBe(col.contentHash);
    // Present already: nothing rebuilt.
    expect(await buildPhotoDemos(ws, small())).toEqual([]);

    // The held-out crops alone (what the shipped-model checks use) are the stored test splits.
    const held = await heldOutSets(small());
    const flat = (l: Uint8Array[]) => Buffer.concat(l.map((x) => Buffer.from(x)));
    const stored = async (id: string, r: string) => Buffer.from((await readIdx(path.join(ws.datasets, id, 'test', `${r}-images-idx3-ubyte.gz`))).data);
    expect(flat(held.colorize.colour).equals(await stored('demo-nature-colorize', 'b'))).toBe(true);
    expect(flat(held.colorize.grey).equals(await stored('demo-nature-colorize', 'a'))).toBe(true);
    expect(flat(held.foliage.a).equals(await stored('demo-green2autumn', 'a'))).toBe(true);
    expect(flat(held.foliage.b).equals(await stored('demo-green2autumn', 'b'))).toBe(true);
  });

  it('adds the photos of extra packages to the colouriser only, with their licences, a validation split, and mate crops unchanged', async () => {
    const ws = openWorkspace(path.join(tmp, 'extras'));
    const pond = 'Pond/contents/images/640x480.png';
    const lines: string[] = [];
    const opts = { ...small(), validation: [pond, 'Leaf.png'], colorizeVal: 2, extraSources: [extraSource(), { ...extraSource(), package: 'absent-wallpapers', dir: path.join(tmp, 'nowhere') }], progress: (m: string) => lines.push(m) };
    await buildPhotoDemos(ws, opts);
    // The absent package is named with what to install; the build goes on without it.
    expect(lines.some((l) => l.includes('absent-wallpapers') && l.includes('apt-get install absent-wallpapers'))).toBe(true);
    const col = await readManifest(path.join(ws.datasets, 'demo-nature-colorize'));
    // train: Flame (main) + Forest, Dusk (extra) x 6; test: Meadow, Sunset x 3; val: Leaf, Pond x 2.
    expect(col.counts).toMatchObject({ train: 18, test: 6, val: 4 });
    expect(col.packed!.val!.count).toEqual({ a: 4, b: 4 });
    expect(col.source.from).toContain('fake-wallpapers');
    const src = Object.fromEntries(col.sources!.map((x) => [x.file, x]));
    expect(src['Render/contents/images/640x480.png']).toBeUndefined();
    expect(src['Dusk/contents/images/640x480.png']).toMatchObject({ split: 'train', items: 6, package: 'fake-wallpapers', license: 'GPL-2+', copyright: 'Dusk Author (metadata.json: LGPLv3); 2014 A Group' });
    expect(src[pond]).toMatchObject({ split: 'val', items: 2, license: 'CC0-1.0' });
    expect(src['Leaf.png']).toMatchObject({ split: 'val', items: 2 });

    // The main folder's crops do not move: test crops identical to the build without extras,
    // and its training photo's crops are the same stream (Flame's 6 come first in both).
    const base = path.join(tmp, 'one', 'datasets', 'demo-nature-colorize');
    const idx = async (root: string, rel: string) => Buffer.from((await readIdx(path.join(root, rel))).data);
    const here = path.join(ws.datasets, 'demo-nature-colorize');
    for (const r of ['a', 'b']) expect((await idx(here, `test/${r}-images-idx3-ubyte.gz`)).equals(await idx(base, `test/${r}-images-idx3-ubyte.gz`))).toBe(true);
    const per = 32 * 32 * 3;
    // Without extras the train split is Flame then Leaf; with them Flame then the extras (Leaf is val here).
    const baseTrain = await idx(base, 'train/b-images-idx3-ubyte.gz');
    const hereTrain = await idx(here, 'train/b-images-idx3-ubyte.gz');
    expect(hereTrain.subarray(0, 6 * per).equals(baseTrain.subarray(0, 6 * per))).toBe(true);
    // No validation or test crop is a training crop.
    const val = await idx(here, 'val/b-images-idx3-ubyte.gz');
    for (let i = 0; i < 4; i++) for (let j = 0; j < 18; j++) expect(val.subarray(i * per, (i + 1) * per).equals(hereTrain.subarray(j * per, (j + 1) * per))).toBe(false);

    // green2autumn stays on the main folder's train/test photos (as shipped): no extra, no val photo.
    const fol = await readManifest(path.join(ws.datasets, 'demo-green2autumn'));
    expect(fol.sources!.map((x) => x.file).sort()).toEqual(['Flame.png', 'Meadow.png', 'Sunset.png']);
    expect(fol.packed!.val).toBeUndefined();

    // validationSet cuts the same crops without the training photos.
    const v = await validationSet(opts);
    expect(v.photos.sort()).toEqual(['Leaf.png', pond].sort());
    expect(Buffer.concat(v.colour.map((x) => Buffer.from(x))).equals(val)).toBe(true);
  });

  const extrasInstalled = extraSourcesMissing().length === 0;
  it.skipIf(!extrasInstalled)(
    extrasInstalled ? 'finds a licence for every photo of the installed extra packages' : `finds a licence for every photo of the installed extra packages — SKIPPED: ${extraSourcesMissing().map((m) => m.package).join(', ')} not installed`,
    () => {
      for (const s of EXTRA_COLORIZE_SOURCES) {
        const paras = parseDebianCopyright(fs.readFileSync(s.copyright, 'utf8'));
        expect(listPhotos(s.dir, s.files)).toHaveLength(s.files!.length);
        for (const f of s.files!) {
          const hit = paras.filter((p) => p.files.some((g) => g === `${s.prefix}${f}` || g === '*'));
          expect(hit.length, f).toBeGreaterThan(0);
          expect(hit[hit.length - 1]!.license, f).toMatch(/GPL|CC/);
        }
      }
    },
  );

  const installed = listPhotos(NATURE_DIR).length > 0 && fs.existsSync(NATURE_COPYRIGHT);
  it.skipIf(!installed)(installed ? 'finds a licence for every installed nature photo' : 'finds a licence for every installed nature photo — SKIPPED: mate-backgrounds is not installed', () => {
    const paras = parseDebianCopyright(fs.readFileSync(NATURE_COPYRIGHT, 'utf8'));
    for (const f of listPhotos(NATURE_DIR)) {
      const hit = paras.filter((p) => p.files.includes(`nature/${f}`));
      expect(hit.length, f).toBeGreaterThan(0);
      expect(hit[hit.length - 1]!.license, f).toMatch(/GPL|CC/);
    }
  });
});
