/**
 * 3x3 stride-1 convolutions by Winograd F(2x2, 3x3) and F(4x4, 3x3), 4x4 ones by F(3x3, 4x4) (kernels/winograd.ts) on wasm
 * against the cpu backend: forward (Conv2D, FusedConv2D), input gradient (Conv2DBackpropInput)
 * and filter gradient (Conv2DBackpropFilter), sizes that are and are not multiples of the tile,
 * every padding, batch > 1; the path taken is checked and nothing leaks. The SIMD transforms
 * (winograd-simd.ts) against the same maps on numbers, and those against their matrices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { winogradApplies, winogradCacheSweep, winogradCalls, winogradOptions, winogradTile, winogradTransforms } from '../../../../src/main/engine/kernels/winograd';
import { MAPS, MATRICES, type MapName, applyMap, createTranspose } from '../../../../src/main/engine/kernels/winograd-simd';
import { heapF32, heapMemory, heapOffset } from '../../../../src/main/engine/kernels/wasm-util';
import type { BackendWasm } from '../../../../src/main/engine/kernels/wasm-util';
import { type ConvCase as Case, convFilterGrad, convInputGrad, convOutShape as outShape, counts, expectClose, initWasm, on, rand, relDiff, size, tf } from './helpers';

const cases: Case[] = [
  { x: [1, 18, 18, 64], k: [3, 3], co: 64, s: 1, pad: 'valid' }, // ResNet block (after reflection padding), narrow
  { x: [1, 10, 10, 256], k: [3, 3], co: 256, s: 1, pad: 'valid' }, // ResNet block at paper width: 8x8 out
  { x: [2, 7, 9, 64], k: [3, 3], co: 72, s: 1, pad: 'same' }, // odd sizes: partial tiles
  { x: [1, 5, 6, 128], k: [3, 3], co: 64, s: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  { x: [3, 3, 3, 64], k: [3, 3], co: 64, s: 1, pad: 'same' },
  { x: [2, 14, 13, 64], k: [3, 3], co: 64, s: 1, pad: 'valid' }, // 12x11: rows a multiple of 4, columns not
  { x: [1, 34, 34, 64], k: [3, 3], co: 64, s: 1, pad: 'valid' }, // 32x32 (CycleGAN 128 px residual maps, narrow)
  { x: [3, 10, 10, 64], k: [3, 3], co: 64, s: 1, pad: 'valid' }, // a batch read in place (no padded copy)
];
/** 4x4 stride 1: PatchGAN's layer after its zero padding ('valid'), narrow; odd sizes, 'same' (pads 1 and 2), batches. */
const cases4: Case[] = [
  { x: [1, 18, 18, 64], k: [4, 4], co: 64, s: 1, pad: 'valid' }, // 15x15 (PatchGAN at 128 px): 5x5 tiles, x read in place
  { x: [1, 34, 34, 64], k: [4, 4], co: 64, s: 1, pad: 'valid' }, // 31x31 (256 px): partial tiles, padded copy
  { x: [2, 11, 12, 64], k: [4, 4], co: 72, s: 1, pad: 'valid' }, // 8x9, batch 2
  { x: [1, 9, 10, 128], k: [4, 4], co: 64, s: 1, pad: 'same' }, // tfjs 'same' for an even filter: 1 before, 2 after
  { x: [1, 8, 8, 64], k: [4, 4], co: 64, s: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] }, // the zero padding inside the conv
  { x: [3, 6, 6, 64], k: [4, 4], co: 64, s: 1, pad: 'valid' }, // one tile per image, batch 3 read in place
];

const variants = [
  { label: 'F(2x2,3x3)', tile: 2, cases },
  { label: 'F(4x4,3x3)', tile: 4, cases },
  { label: 'F(3x3,4x4)', tile: 0, cases: cases4 },
] as const;

for (const { label, tile, cases } of variants) describe(`Winograd ${label} convolutions on wasm`, () => {
  const saved = { ...winogradOptions };
  const k4 = cases === cases4;
  beforeAll(async () => {
    await initWasm();
    winogradOptions.tile = tile;
    winogradOptions.k4MinTiles = 0; // every case, however few its tiles
    winogradOptions.k4BackpropFilter = true;
  });
  afterAll(() => Object.assign(winogradOptions, saved));

  for (const c of cases) {
    const name = `x ${c.x} co ${c.co} pad ${JSON.stringify(c.pad)}`;
    const wShape = [...c.k, c.x[3], c.co];

    it(`Conv2D and FusedConv2D match cpu: ${name}`, async () => {
      winogradOptions.enabled = true;
      const xv = rand(size(c.x), 1);
      const wv = rand(size(wShape), 2, 0.1);
      const bv = rand(c.co, 3);
      const run = () => {
        const x = tf.tensor4d(xv, c.x);
        const w = tf.tensor4d(wv, wShape as [number, number, number, number]);
        return [
          tf.conv2d(x, w, 1, c.pad as 'same'),
          tf.fused.conv2d({ x, filter: w, strides: 1, pad: c.pad as 'same', bias: tf.tensor1d(bv), activation: 'relu' }),
        ];
      };
      const before = counts();
      const n = winogradCalls.forward, n4 = winogradCalls.f4, nk = winogradCalls.k4;
      const ours = await on('wasm', run);
      expect(winogradCalls.forward - n).toBe(2);
      expect(winogradCalls.f4 - n4).toBe(tile === 4 ? 2 : 0);
      expect(winogradCalls.k4 - nk).toBe(k4 ? 2 : 0);
      expect(counts()).toEqual(before);
      expectClose(ours, await on('cpu', run), 1e-4);
    });

    it(`Conv2DBackpropInput matches cpu: ${name}`, async () => {
      winogradOptions.enabled = true;
      const dyv = rand(size(outShape(c)), 4);
      const wv = rand(size(wShape), 5, 0.1);
      const run = () => convInputGrad(c, tf.tensor(dyv, outShape(c)), tf.tensor(wv, wShape));
      const before = counts();
      const n = winogradCalls.backpropInput, nk = winogradCalls.k4;
      const ours = await on('wasm', run);
      expect(winogradCalls.backpropInput - n).toBe(1);
      expect(winogradCalls.k4 - nk).toBe(k4 ? 1 : 0);
      expect(counts()).toEqual(before);
      const cpu = await on('cpu', run);
      expectClose(ours, cpu, 1e-4);
      // with its own transform of the rotated, swapped filter (taken from flipOwnMinTiles tiles)
      winogradOptions.flipOwnMinTiles = 0;
      const own = await on('wasm', run);
      winogradOptions.flipOwnMinTiles = saved.flipOwnMinTiles;
      expect(counts()).toEqual(before);
      expectClose(own, cpu, 1e-4);
      // and the same as the direct product on wasm
      winogradOptions.enabled = false;
      const direct = await on('wasm', run);
      winogradOptions.enabled = true;
      expectClose(ours, direct, 1e-4);
    });

    it(`Conv2DBackpropFilter matches cpu: ${name}`, async () => {
      winogradOptions.enabled = true;
      const xv = rand(size(c.x), 11);
      const dyv = rand(size(outShape(c)), 12);
      const run = () => convFilterGrad(c, tf.tensor(xv, c.x), tf.tensor(dyv, outShape(c)));
      const before = counts();
      const n = winogradCalls.backpropFilter, n4 = winogradCalls.f4, nk = winogradCalls.k4;
      const ours = await on('wasm', run);
      expect(winogradCalls.backpropFilter - n).toBe(1);
      expect(winogradCalls.f4 - n4).toBe(tile === 4 ? 1 : 0);
      expect(winogradCalls.k4 - nk).toBe(k4 ? 1 : 0);
      expect(counts()).toEqual(before);
      // the cpu backend's filter gradient is a scalar loop (minutes for the large cases on a busy
      // machine): the large cases compare with the im2col path, itself held to cpu in small-conv.test.ts
      if (size(c.x) * c.co * c.k[0] * c.k[1] < 1 << 22) expectClose(ours, await on('cpu', run), 1e-4);
      winogradOptions.enabled = false;
      const direct = await on('wasm', run);
      winogradOptions.enabled = true;
      expectClose(ours, direct, 1e-4);
    });
  }

});

describe('Winograd transforms and choices', () => {
  const saved = { ...winogradOptions };
  beforeAll(initWasm);
  afterAll(() => Object.assign(winogradOptions, saved));

  it('every factorised map equals its matrix (float64 check of the algebra)', () => {
    for (const name of Object.keys(MAPS) as MapName[]) {
      const F = MATRICES[name]!;
      const r = F[0]!.length;
      const x = Array.from(rand(r * r, 40 + r));
      // (F x F^T)[i][j] in float64
      const ref: number[] = [];
      for (const rowI of F) for (const rowJ of F) ref.push(rowI.reduce((acc, fi, k) => acc + fi * rowJ.reduce((a2, fj, l) => a2 + fj * x[k * r + l]!, 0), 0));
      const got = applyMap(name, x);
      expect(got.length, name).toBe(ref.length);
      got.forEach((g, i) => expect(Math.abs(g - ref[i]!), `${name} ${i}`).toBeLessThan(1e-5 * (1 + Math.abs(ref[i]!))));
    }
  });

  it('F(4x4) holds paper-width 3x3x256x256 results to 1e-4 of cpu and im2col (measured error printed)', async () => {
    const c: Case = { x: [1, 18, 18, 256], k: [3, 3], co: 256, s: 1, pad: 'valid' };
    const xv = rand(size(c.x), 31);
    const wv = rand(9 * 256 * 256, 32, 0.1);
    const dyv = rand(size(outShape(c)), 33);
    const fwd = () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, [3, 3, 256, 256]), 1, 'valid');
    const bwd = () => convInputGrad(c, tf.tensor(dyv, outShape(c)), tf.tensor(wv, [3, 3, 256, 256]));
    const cpu = [...(await on('cpu', fwd)), ...(await on('cpu', bwd))];
    const errs: Record<string, number[]> = {};
    for (const tile of [2, 4] as const) {
      winogradOptions.tile = tile;
      const ours = [...(await on('wasm', fwd)), ...(await on('wasm', bwd))];
      errs[`F${tile}`] = ours.map((o, i) => relDiff(o, cpu[i]!));
      expectClose(ours, cpu, 1e-4);
    }
    // the filter gradient against the im2col path (the cpu backend's is a scalar loop: too slow here)
    const dw = () => convFilterGrad(c, tf.tensor(xv, c.x), tf.tensor(dyv, outShape(c)));
    winogradOptions.enabled = false;
    const direct = await on('wasm', dw);
    winogradOptions.enabled = true;
    for (const tile of [2, 4] as const) {
      winogradOptions.tile = tile;
      const ours = await on('wasm', dw);
      errs[`F${tile}`]!.push(relDiff(ours[0]!, direct[0]!));
      expectClose(ours, direct, 1e-4);
    }
    winogradOptions.tile = 0;
    console.log('winograd error at 3x3x256x256, 16x16 (forward, input gradient vs cpu; filter gradient vs im2col):', JSON.stringify(errs));
  });

  it("F(3x3,4x4) holds PatchGAN's 4x4x256x512 results to 1e-4 of cpu and im2col (measured error printed)", async () => {
    const c: Case = { x: [1, 18, 18, 256], k: [4, 4], co: 512, s: 1, pad: 'valid' };
    const wShape: [number, number, number, number] = [4, 4, 256, 512];
    const xv = rand(size(c.x), 34);
    const wv = rand(size(wShape), 35, 0.1);
    const dyv = rand(size(outShape(c)), 36);
    const fwd = () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, wShape), 1, 'valid');
    const bwd = () => convInputGrad(c, tf.tensor(dyv, outShape(c)), tf.tensor(wv, wShape));
    const dw = () => convFilterGrad(c, tf.tensor(xv, c.x), tf.tensor(dyv, outShape(c)));
    const cpu = [...(await on('cpu', fwd)), ...(await on('cpu', bwd))];
    winogradOptions.enabled = false;
    const direct = await on('wasm', dw);
    winogradOptions.enabled = true;
    const nk = winogradCalls.k4;
    const ours = [...(await on('wasm', fwd)), ...(await on('wasm', bwd))];
    const oursDw = await on('wasm', dw);
    expect(winogradCalls.k4 - nk).toBe(3);
    expectClose(ours, cpu, 1e-4);
    expectClose(oursDw, direct, 1e-4);
    const errs = [...ours.map((o, i) => relDiff(o, cpu[i]!)), relDiff(oursDw[0]!, direct[0]!)];
    console.log('F(3x3,4x4) error at 4x4x256x512, 15x15 (forward, input gradient vs cpu; filter gradient vs im2col):', JSON.stringify(errs));
  });

  it('chooses F(4x4) for mid-size maps, F(2x2) for few tiles and for large tile counts', () => {
    winogradOptions.tile = 0;
    winogradOptions.f4 = true;
    const s = (B: number, OH: number) => ({ B, H: OH + 2, W: OH + 2, CI: 256, OH, OW: OH, CO: 256, padTop: 0, padLeft: 0 });
    expect(winogradTile(s(1, 32))).toBe(4); // CycleGAN 128 px residual block: forward
    expect(winogradTile(s(1, 34))).toBe(4); // and its input gradient
    expect(winogradTile(s(1, 16))).toBe(4); // 64 px: 16 tiles
    expect(winogradTile(s(1, 8))).toBe(2); // 32 px: 4 tiles, the filter transforms outweigh the products
    expect(winogradTile(s(4, 8))).toBe(4); // a batch of 4 has the tiles
    expect(winogradTile(s(1, 64))).toBe(4); // 256 px: 256 tiles (filter transforms not cached: f4CacheMaxTiles)
    expect(winogradTile(s(1, 3))).toBe(2);
    winogradOptions.f4 = false;
    expect(winogradTile(s(1, 32))).toBe(2);
    winogradOptions.f4 = saved.f4;
  });

  it("takes F(3x3,4x4) for PatchGAN's stride-1 256 -> 512 layer from 64 px, not on fewer tiles or when switched off", () => {
    // the layer's input is the zero-padded map: S/8 + 2 square, output S/8 - 1; the input gradient a 'valid' conv of dy padded by 3
    const fwd = (S: number, CI = 256, CO = 512, B = 1) => ({ K: 4 as const, B, H: S / 8 + 2, W: S / 8 + 2, CI, OH: S / 8 - 1, OW: S / 8 - 1, CO, padTop: 0, padLeft: 0 });
    const dx = (S: number) => ({ K: 4 as const, B: 1, H: S / 8 - 1, W: S / 8 - 1, CI: 512, OH: S / 8 + 2, OW: S / 8 + 2, CO: 256, padTop: 3, padLeft: 3 });
    for (const S of [64, 128, 256]) {
      expect(winogradApplies(fwd(S)), `${S} px forward`).toBe(true);
      expect(winogradApplies(dx(S)), `${S} px input gradient`).toBe(true);
      expect(winogradApplies(fwd(S), true), `${S} px filter gradient`).toBe(true);
      expect(winogradTile(fwd(S))).toBe(3);
    }
    expect(winogradApplies(fwd(40))).toBe(false); // 4x4 output: 4 tiles, the filter transform outweighs the products
    expect(winogradApplies(fwd(40, 256, 512, 4))).toBe(true); // ... unless a batch brings the tiles
    expect(winogradApplies(fwd(128, 32, 64))).toBe(false); // narrow channels
    winogradOptions.k4BackpropFilter = false;
    expect(winogradApplies(fwd(128), true)).toBe(false);
    expect(winogradApplies(fwd(128))).toBe(true);
    winogradOptions.k4 = false;
    expect(winogradApplies(fwd(128))).toBe(false);
    Object.assign(winogradOptions, { k4: saved.k4, k4BackpropFilter: saved.k4BackpropFilter });
  });

  it('SIMD transforms compute the maps on every lane', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    const tw = winogradTransforms(backend)!;
    expect(tw).not.toBeNull();
    for (const name of Object.keys(MAPS) as MapName[]) {
      const r = MAPS[name].r;
      const nIn = r * r;
      const nOut = applyMap(name, new Array<number>(nIn).fill(0)).length;
      // 8 lanes (2 vectors) per input, inputs 8 floats apart; outputs likewise
      const buf = tf.zeros([8 * (nIn + nOut)]);
      const data = heapF32(backend, buf as unknown as tf.TensorInfo);
      const xs = rand(8 * nIn, 20 + nIn);
      data.set(xs);
      const base = heapOffset(backend, buf as unknown as tf.TensorInfo);
      tw[name](base, base + 32 * nIn, 1, 2, 32 * r, 32, 32 * Math.sqrt(nOut), 32, 0, 0, 16, 16, 1, 0, 0);
      const got = heapF32(backend, buf as unknown as tf.TensorInfo);
      for (let lane = 0; lane < 8; lane++) {
        const want = applyMap(name, Array.from({ length: nIn }, (_, i) => xs[8 * i + lane]!));
        const have = Array.from({ length: nOut }, (_, j) => got[8 * nIn + 8 * j + lane]!);
        expect(have, `${name} lane ${lane}`).toEqual(want);
      }
      buf.dispose();
    }
  });

  it('SIMD transposition equals the transpose (4x4 blocks, non-square)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    const transpose = createTranspose(heapMemory(backend))!;
    expect(transpose).not.toBeNull();
    for (const [R, C] of [[4, 4], [8, 12], [20, 8], [68, 24]] as const) {
      const buf = tf.zeros([2 * R * C]);
      const xs = rand(R * C, R + C);
      heapF32(backend, buf as unknown as tf.TensorInfo).set(xs);
      const base = heapOffset(backend, buf as unknown as tf.TensorInfo);
      transpose(base, base + 4 * R * C, R, C);
      const got = heapF32(backend, buf as unknown as tf.TensorInfo).subarray(R * C);
      for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) expect(got[c * R + r], `${R}x${C} [${r},${c}]`).toBe(xs[r * C + c]);
      buf.dispose();
    }
  });

  it('transforms a filter once for its forward and input-gradient uses, and frees it with the filter', async () => {
    winogradOptions.enabled = true;
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    winogradCacheSweep(backend);
    winogradOptions.tile = 2; // F(2x2): the input gradient can read the forward's transform
    const c: Case = { x: [1, 6, 6, 64], k: [3, 3], co: 64, s: 1, pad: 'valid' };
    const w = tf.tensor4d(rand(9 * 64 * 64, 7, 0.1), [3, 3, 64, 64]);
    const before = winogradCacheSweep(backend);
    const outs = [
      tf.conv2d(tf.tensor4d(rand(6 * 6 * 64, 8), c.x), w, 1, 'valid'),
      tf.conv2d(tf.tensor4d(rand(6 * 6 * 64, 9), c.x), w, 1, 'valid'),
      convInputGrad(c, tf.tensor(rand(4 * 4 * 64, 10), outShape(c)), w),
    ];
    // few tiles: the input gradient reads the forward's transform
    expect(winogradCacheSweep(backend)).toBe(before + 1);
    // the cached transform gives the same results as a fresh one (a clone has a new data id)
    const w2 = w.clone();
    const again = convInputGrad(c, tf.tensor(rand(4 * 4 * 64, 10), outShape(c)), w2);
    expectClose([again.dataSync() as Float32Array], [outs[2]!.dataSync() as Float32Array], 1e-7);
    tf.dispose([w, w2, again, ...outs]);
    expect(winogradCacheSweep(backend)).toBe(before);
    // F(4x4): forward and rotated transforms, both freed with the filter
    winogradOptions.tile = 4;
    const w4 = tf.tensor4d(rand(9 * 64 * 64, 7, 0.1), [3, 3, 64, 64]);
    const outs4 = [tf.conv2d(tf.tensor4d(rand(6 * 6 * 64, 8), c.x), w4, 1, 'valid'), convInputGrad(c, tf.tensor(rand(4 * 4 * 64, 10), outShape(c)), w4)];
    expect(winogradCacheSweep(backend)).toBe(before + 2);
    // above f4CacheMaxTiles each call transforms into its own buffer: nothing cached, same results
    winogradOptions.f4CacheMaxTiles = 0;
    const w5 = w4.clone();
    const outs5 = [tf.conv2d(tf.tensor4d(rand(6 * 6 * 64, 8), c.x), w5, 1, 'valid'), convInputGrad(c, tf.tensor(rand(4 * 4 * 64, 10), outShape(c)), w5)];
    expect(winogradCacheSweep(backend)).toBe(before + 2);
    outs5.forEach((o, i) => expect(Buffer.from((o.dataSync() as Float32Array).buffer).equals(Buffer.from((outs4[i]!.dataSync() as Float32Array).buffer))).toBe(true));
    winogradOptions.f4CacheMaxTiles = saved.f4CacheMaxTiles;
    tf.dispose([w4, w5, ...outs4, ...outs5]);
    expect(winogradCacheSweep(backend)).toBe(before);
    winogradOptions.tile = 0;
  });

  it('transforms a 4x4 filter once for each of its forward and input-gradient uses, and frees both with it', async () => {
    winogradOptions.enabled = true;
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    winogradCacheSweep(backend);
    const before = winogradCacheSweep(backend);
    const c: Case = { x: [1, 18, 18, 64], k: [4, 4], co: 64, s: 1, pad: 'valid' };
    const w = tf.tensor4d(rand(16 * 64 * 64, 17, 0.1), [4, 4, 64, 64]);
    const outs = [
      tf.conv2d(tf.tensor4d(rand(18 * 18 * 64, 18), c.x), w, 1, 'valid'),
      tf.conv2d(tf.tensor4d(rand(18 * 18 * 64, 19), c.x), w, 1, 'valid'),
      convInputGrad(c, tf.tensor(rand(15 * 15 * 64, 20), outShape(c)), w),
      convInputGrad(c, tf.tensor(rand(15 * 15 * 64, 21), outShape(c)), w),
    ];
    expect(winogradCacheSweep(backend)).toBe(before + 2);
    tf.dispose([w, ...outs]);
    expect(winogradCacheSweep(backend)).toBe(before);
  });

  it('is not taken for narrow channels or other kernels', async () => {
    winogradOptions.enabled = true;
    const n = { ...winogradCalls };
    await on('wasm', () => [
      tf.conv2d(tf.randomNormal([1, 8, 8, 16]) as tf.Tensor4D, tf.randomNormal([3, 3, 16, 64]) as tf.Tensor4D, 1, 'same'), // 16 input channels
      tf.conv2d(tf.randomNormal([1, 8, 8, 64]) as tf.Tensor4D, tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D, 2, 'same'), // stride 2
      tf.conv2d(tf.randomNormal([1, 6, 6, 64]) as tf.Tensor4D, tf.randomNormal([4, 4, 64, 64]) as tf.Tensor4D, 1, 'same'), // 4x4 on few tiles (4 < k4MinTiles)
      tf.conv2d(tf.randomNormal([1, 16, 16, 64]) as tf.Tensor4D, tf.randomNormal([4, 4, 64, 64]) as tf.Tensor4D, 2, 'same'), // 4x4 stride 2
      tf.conv2d(tf.randomNormal([1, 16, 16, 64]) as tf.Tensor4D, tf.randomNormal([4, 4, 64, 8]) as tf.Tensor4D, 1, 'same'), // 8 output channels
    ]);
    expect(winogradCalls).toEqual(n);
  });
});
