import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_FASHION_DIR, DEMO_IDS, edgeMap, ensureDemoDatasets, pad32, selectFirstPerClass } from '../../../../src/main/engine/data/demo';
import { FASHION_FILES } from '../../../../src/main/engine/data/idx';
import { readManifest } from '../../../../src/main/engine/data/store';
import { openWorkspace } from '../../../../src/main/engine/core/workspace';

const hasDebian = fs.existsSync(path.join(DEBIAN_FASHION_DIR, `${FASHION_FILES.trainImages}.gz`));
let tmp: string;
const savedFrom = process.env.ATELIER_DEMO_FROM;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-demo-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  if (savedFrom === undefined) delete process.env.ATELIER_DEMO_FROM;
  else process.env.ATELIER_DEMO_FROM = savedFrom;
});

const hashes = async (root: string) => {
  const ws = openWorkspace(root);
  const out: Record<string, string> = {};
  for (const id of DEMO_IDS) out[id] = (await readManifest(path.join(ws.datasets, id))).contentHash;
  return out;
};

describe('demo datasets', () => {
  it('builds from the shipped subset with the expected kinds and counts, deterministically', async () => {
    process.env.ATELIER_DEMO_FROM = 'resources';
    const ws1 = openWorkspace(path.join(tmp, 'one'));
    const r = await ensureDemoDatasets(ws1);
    expect(r.from).toBe('resources');
    expect(r.built).toEqual([...DEMO_IDS]);
    const byId = Object.fromEntries(r.datasets.map((d) => [d.id, d]));
    expect(byId['demo-fashion']).toMatchObject({ kind: 'labeled', image: { width: 28, height: 28, channels: 1 }, counts: { train: 1800, test: 200 } });
    expect(byId['demo-fashion']!.classes).toHaveLength(10);
    expect(byId['demo-edges2fashion']).toMatchObject({ kind: 'paired', image: { width: 32, height: 32, channels: 1 }, counts: { train: 450, test: 50 } });
    expect(byId['demo-sneaker2boot']).toMatchObject({ kind: 'unpaired', image: { width: 32, height: 32 }, counts: { a: 500, b: 500 } });
    // Small on disk.
    expect(r.datasets.reduce((s, d) => s + d.bytes, 0)).toBeLessThan(3 * 2 ** 20);

    // Same code, another workspace: same bytes, same hash.
    await ensureDemoDatasets(openWorkspace(path.join(tmp, 'two')));
    expect(await hashes(path.join(tmp, 'two'))).toEqual(await hashes(path.join(tmp, 'one')));

    // Present already: nothing rebuilt.
    const again = await ensureDemoDatasets(ws1);
    expect(again.built).toEqual([]);
  });

  it.skipIf(!hasDebian)(`gives the same datasets from the Debian package as from the shipped subset${hasDebian ? '' : " (skipped: Debian's dataset-fashion-mnist is not installed)"}`, async () => {
    delete process.env.ATELIER_DEMO_FROM;
    const r = await ensureDemoDatasets(openWorkspace(path.join(tmp, 'deb')));
    expect(r.from).toBe('debian');
    expect(await hashes(path.join(tmp, 'deb'))).toEqual(await hashes(path.join(tmp, 'one')));
  });

  it('selects the first images of each class in order', () => {
    const labels = Uint8Array.from([1, 0, 1, 1, 0, 2, 0]);
    expect(selectFirstPerClass(labels, [2, 1, 1])).toEqual([0, 1, 4, 5]);
  });

  it('pads to 32x32 and draws edges on the outline of a square', () => {
    const sq = new Uint8Array(784);
    for (let y = 10; y < 18; y++) for (let x = 10; x < 18; x++) sq[y * 28 + x] = 255;
    const p = pad32(sq);
    expect(p[12 * 32 + 12]).toBe(255);
    expect(p[0]).toBe(0);
    const e = edgeMap(p, 32);
    expect(e[(12 + 3) * 32 + 12]).toBe(255); // on the left edge
    expect(e[16 * 32 + 16]).toBe(0); // inside: flat
    expect(e[2 * 32 + 2]).toBe(0); // far outside
  });
});
