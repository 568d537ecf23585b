import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { importDataset } from '../../../../src/main/engine/data/import';
import { DatasetLoader, type Batch } from '../../../../src/main/engine/data/loader';
import { DataRng } from '../../../../src/main/engine/data/rng';
import type { Workspace } from '../../../../src/main/engine/core/workspace';
import { writePairedFolders } from '../../../fixtures/bad-images';
import { useDemoWorkspace } from '../demo-workspace';

let tmp: string;
let ws: Workspace;
const dsDir = (id: string) => path.join(ws.datasets, id);
useDemoWorkspace('atelier-loader-', initBackend, (d, w) => ((tmp = d), (ws = w)));

const dispose = (b: Batch) => tf.dispose(b.kind === 'labeled' ? [b.x, b.label] : [b.a, b.b]);
const values = (b: Batch) => (b.kind === 'labeled' ? [Array.from(b.x.dataSync()), Array.from(b.label.dataSync())] : [Array.from(b.a.dataSync()), Array.from(b.b.dataSync())]);

describe('DataRng', () => {
  it('resumes from a saved state', () => {
    const r = new DataRng(42);
    r.nextUint32();
    const s = r.state();
    const seq = [r.nextUint32(), r.nextUint32(), r.nextUint32()];
    const r2 = new DataRng(s);
    expect([r2.nextUint32(), r2.nextUint32(), r2.nextUint32()]).toEqual(seq);
  });
});

describe('DatasetLoader', () => {
  it('resizes greyscale images as greyscale (no channel stripes)', async () => {
    const same = await DatasetLoader.open(dsDir('demo-fashion'), { batchSize: 4, seed: 3, shuffle: false });
    const up = await DatasetLoader.open(dsDir('demo-fashion'), { batchSize: 4, seed: 3, shuffle: false, size: 32, preprocess: 'none' });
    const a = await same.next();
    const b = await up.next();
    if (a.kind !== 'labeled' || b.kind !== 'labeled') throw new Error('expected labeled');
    expect(b.x.shape).toEqual([4, 32, 32, 1]);
    // The 32 px batch is the 28 px one resized: compare against tfjs's own bilinear resize.
    const ref = tf.image.resizeBilinear(a.x as tf.Tensor4D, [32, 32]);
    const diff = tf.mean(tf.abs(tf.sub(ref, b.x))).dataSync()[0]!;
    // sharp resizes bicubic, tfjs bilinear: ~0.1 apart; striped channels measured 0.65.
    expect(diff).toBeLessThan(0.2);
    tf.dispose([ref]);
    dispose(a);
    dispose(b);
  });

  it('labeled: NHWC float32 in [-1, 1] with int32 labels matching the data', async () => {
    const l = await DatasetLoader.open(dsDir('demo-fashion'), { batchSize: 16, seed: 1 });
    expect(l.length).toBe(1800);
    expect(l.batchesPerEpoch).toBe(113);
    const b = await l.next();
    if (b.kind !== 'labeled') throw new Error('expected labeled');
    expect(b.x.shape).toEqual([16, 28, 28, 1]);
    expect(b.x.dtype).toBe('float32');
    expect(b.label.dtype).toBe('int32');
    const x = b.x.dataSync();
    expect(Math.min(...x)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
    expect(Math.min(...x)).toBe(-1); // black background
    const labels = Array.from(b.label.dataSync());
    expect(labels.every((v) => v >= 0 && v <= 9)).toBe(true);
    dispose(b);
  });

  it('paired: same crop and flip on A and B (checked on A == B data)', async () => {
    const src = path.join(tmp, 'same');
    await writePairedFolders(src, { n: 6, size: 32 });
    // Make B identical to A so any difference in augmentation shows.
    for (const f of fs.readdirSync(path.join(src, 'A')).filter((n) => n.endsWith('.png'))) {
      fs.rmSync(path.join(src, 'B', f.replace('.png', '.jpg')), { force: true });
      fs.copyFileSync(path.join(src, 'A', f), path.join(src, 'B', f));
    }
    await importDataset(ws, { kind: 'paired', path: src, name: 'same', acceptPartial: true, testFraction: 0 });
    const l = await DatasetLoader.open(dsDir('same'), { batchSize: 4, seed: 5, size: 16, preprocess: 'resize_and_crop', loadSize: 24 });
    const b = await l.next();
    if (b.kind === 'labeled') throw new Error('expected paired');
    expect(b.a.shape).toEqual([4, 16, 16, 3]);
    expect(Array.from(b.a.dataSync())).toEqual(Array.from(b.b.dataSync()));
    dispose(b);
  });

  it('paired BtoA swaps the sides; unpaired sides are shuffled independently', async () => {
    const ab = await DatasetLoader.open(dsDir('demo-edges2fashion'), { batchSize: 4, seed: 2 });
    const ba = await DatasetLoader.open(dsDir('demo-edges2fashion'), { batchSize: 4, seed: 2, direction: 'BtoA' });
    const x = await ab.next();
    const y = await ba.next();
    if (x.kind === 'labeled' || y.kind === 'labeled') throw new Error('expected paired');
    expect(Array.from(y.a.dataSync())).toEqual(Array.from(x.b.dataSync()));
    dispose(x);
    dispose(y);
    const u = await DatasetLoader.open(dsDir('demo-sneaker2boot'), { batchSize: 8, seed: 2 });
    const b = await u.next();
    if (b.kind === 'labeled') throw new Error('expected unpaired');
    expect(b.kind).toBe('unpaired');
    expect(b.a.shape).toEqual([8, 32, 32, 1]);
    expect(b.indicesB).not.toEqual(b.indices);
    dispose(b);
  });

  it('a loader opened at a saved cursor yields exactly the next batch (across an epoch boundary too)', async () => {
    const opts = { batchSize: 7, seed: 9, size: 24, preprocess: 'crop' as const };
    const a = await DatasetLoader.open(dsDir('demo-edges2fashion'), opts);
    for (let i = 0; i < 3; i++) dispose(await a.next());
    const cur = JSON.parse(JSON.stringify(a.cursor()));
    const next1 = await a.next();
    const b = await DatasetLoader.open(dsDir('demo-edges2fashion'), { ...opts, cursor: cur });
    const again = await b.next();
    expect(values(again)).toEqual(values(next1));
    dispose(next1);
    dispose(again);
    // A different seed gives a different batch (the comparison above can fail).
    const c = await DatasetLoader.open(dsDir('demo-edges2fashion'), { ...opts, seed: 10 });
    const other = await c.next();
    const first = await (await DatasetLoader.open(dsDir('demo-edges2fashion'), opts)).next();
    expect(values(other)).not.toEqual(values(first));
    dispose(other);
    dispose(first);
    // Epoch boundary: 450 items, batch 7 -> the 65th batch is the last (2 items), then epoch 1.
    const e = await DatasetLoader.open(dsDir('demo-edges2fashion'), { ...opts, cursor: { epoch: 0, index: 448, rng: cur.rng } });
    const last = await e.next();
    expect(last.indices).toHaveLength(2);
    expect(last.epoch).toBe(0);
    const saved = e.cursor();
    const firstOfNext = await e.next();
    expect(firstOfNext.epoch).toBe(1);
    const g = await DatasetLoader.open(dsDir('demo-edges2fashion'), { ...opts, cursor: saved });
    const gb = await g.next();
    expect(gb.indices).toEqual(firstOfNext.indices);
    expect(values(gb)).toEqual(values(firstOfNext));
    dispose(last);
    dispose(firstOfNext);
    dispose(gb);
  });

  it('flip augmentation mirrors some samples horizontally and leaves the others as they are', async () => {
    const plain = await DatasetLoader.open(dsDir('demo-fashion'), { batchSize: 32, seed: 4, augment: false });
    const aug = await DatasetLoader.open(dsDir('demo-fashion'), { batchSize: 32, seed: 4, augment: true, flip: true });
    const p = await plain.next();
    const q = await aug.next();
    if (p.kind !== 'labeled' || q.kind !== 'labeled') throw new Error('expected labeled');
    expect(q.indices).toEqual(p.indices);
    const P = p.x.arraySync();
    const Q = q.x.arraySync();
    let flipped = 0;
    let same = 0;
    for (let k = 0; k < 32; k++) {
      const s = JSON.stringify(Q[k]);
      if (s === JSON.stringify(P[k])) same++;
      else if (s === JSON.stringify(P[k]!.map((row) => [...row].reverse()))) flipped++;
    }
    expect(flipped + same).toBe(32);
    expect(flipped).toBeGreaterThan(4);
    expect(same).toBeGreaterThan(4);
    dispose(p);
    dispose(q);
  });

  it('packed 28x28 resized to 32 (preprocess none), the same on a second epoch from the cache', async () => {
    const l = await DatasetLoader.open(dsDir('demo-fashion'), { batchSize: 900, seed: 8, size: 32, augment: false, shuffle: false });
    const b1 = await l.next();
    dispose(await l.next());
    const b2 = await l.next(); // epoch 1, first batch: same items, now from the cache
    if (b1.kind !== 'labeled' || b2.kind !== 'labeled') throw new Error('expected labeled');
    expect(b1.x.shape).toEqual([900, 32, 32, 1]);
    expect(b2.epoch).toBe(1);
    expect(Array.from(b2.x.dataSync())).toEqual(Array.from(b1.x.dataSync()));
    dispose(b1);
    dispose(b2);
  });

  it('every epoch visits every item once', async () => {
    const l = await DatasetLoader.open(dsDir('demo-edges2fashion'), { batchSize: 64, seed: 3 });
    const seen: number[] = [];
    for (let i = 0; i < l.batchesPerEpoch; i++) {
      const b = await l.next();
      seen.push(...b.indices);
      dispose(b);
    }
    expect(seen).toHaveLength(450);
    expect(new Set(seen).size).toBe(450);
  });

  it('file datasets: resize_and_crop, scale_width and none put the pixels each mode promises; no tensors leak across steps', async () => {
    // 48 x 32 images (wider than high, so the modes differ) holding linear ramps: red = 40 + 3x,
    // green = 30 + 5y. Resizing keeps a ramp linear away from the borders, so each output pixel
    // has a value that follows from the mode's resize and centre crop alone.
    const W = 48;
    const H = 32;
    const raw = Buffer.alloc(W * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) raw.set([40 + 3 * x, 30 + 5 * y, 128], (y * W + x) * 3);
    const src = path.join(tmp, 'ramps');
    for (const cls of ['p', 'q']) {
      fs.mkdirSync(path.join(src, cls), { recursive: true });
      for (let i = 0; i < 3; i++) await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).png().toFile(path.join(src, cls, `${i}.png`));
    }
    await importDataset(ws, { kind: 'labeled', path: src, name: 'ramps', testFraction: 0 });
    const size = 16;
    const loadSize = 24;
    // [resized width, resized height, crop x, crop y] per mode.
    const geometry = {
      resize_and_crop: [loadSize, loadSize, 4, 4], // 24 x 24, centre 16 x 16
      scale_width: [loadSize, 16, 4, 0], // width 24, height 32 * 24 / 48 = 16, centre crop
      none: [size, size, 0, 0], // straight to 16 x 16
    } as const;
    const seen: number[][] = [];
    for (const [preprocess, [rw, rh, cx, cy]] of Object.entries(geometry)) {
      const l = await DatasetLoader.open(dsDir('ramps'), { batchSize: 3, size, loadSize, preprocess: preprocess as keyof typeof geometry, seed: 1, augment: false, shuffle: false });
      const before = tf.memory().numTensors;
      for (let step = 0; step < 2; step++) {
        const b = await l.next();
        if (b.kind !== 'labeled') throw new Error('expected labeled');
        expect(b.x.shape).toEqual([3, size, size, 3]);
        const x = b.x.dataSync();
        if (step === 0) seen.push(Array.from(x.subarray(0, size * size * 3)));
        let checked = 0;
        for (let oy = 0; oy < size; oy++)
          for (let ox = 0; ox < size; ox++) {
            const ry = cy + oy;
            const rx = cx + ox;
            // Only where the resize kernel stays inside the image (3 resized pixels from a border).
            if (rx < 3 || rx > rw - 4 || ry < 3 || ry > rh - 4) continue;
            const sx = (rx + 0.5) * (W / rw) - 0.5;
            const sy = (ry + 0.5) * (H / rh) - 0.5;
            const at = (oy * size + ox) * 3;
            expect(Math.abs((x[at]! + 1) * 127.5 - (40 + 3 * sx)), `${preprocess} red at ${ox},${oy}`).toBeLessThan(1.6);
            expect(Math.abs((x[at + 1]! + 1) * 127.5 - (30 + 5 * sy)), `${preprocess} green at ${ox},${oy}`).toBeLessThan(1.6);
            checked++;
          }
        expect(checked, preprocess).toBeGreaterThan(20);
        dispose(b);
        expect(tf.memory().numTensors).toBe(before);
      }
    }
    // The three modes give three different images.
    expect(seen[0]).not.toEqual(seen[1]);
    expect(seen[1]).not.toEqual(seen[2]);
    expect(seen[0]).not.toEqual(seen[2]);
  });
});
