/**
 * The Winograd transforms split over the products' helper thread (gemm-pool.ts pooledMaps) on a
 * shared memory: every map, split by rows of tiles, by tiles and by channel vectors, equals the
 * whole call bit for bit and the maps on numbers (which also checks the rows loop of the
 * generated functions).
 */
import { describe, expect, it } from 'vitest';
import { pooledMaps, transformPoolOptions, transformPoolStats } from '../../../../src/main/engine/kernels/gemm-pool';
import { MAPS, type MapName, applyMap, createWinogradSimd } from '../../../../src/main/engine/kernels/winograd-simd';
import { rand, memoryWithPool } from './helpers';

describe('Winograd transforms on two threads', () => {
  it('split calls equal whole calls and the maps on numbers', async () => {
    const { mem } = await memoryWithPool();
    const tw = createWinogradSimd(mem)!;
    const pw = pooledMaps(tw, mem);
    expect(pw).not.toBe(tw);
    const saved = transformPoolOptions.minIterations;
    transformPoolOptions.minIterations = 0;
    try {
      const f = new Float32Array(mem.buffer);
      for (const name of Object.keys(MAPS) as MapName[]) {
        const r = MAPS[name].r;
        const nIn = r * r;
        const nOut = applyMap(name, new Array<number>(nIn).fill(0)).length;
        const mOut = Math.sqrt(nOut);
        for (const [rows, n, c4] of [[5, 3, 2], [1, 5, 2], [1, 1, 7]] as const) {
          const iters = rows * n * c4;
          // inputs of one channel vector contiguous (16 bytes apart), then channels, tiles, rows
          const src = 64, dstA = src + iters * nIn * 16 + 64, dstB = dstA + iters * nOut * 16 + 64;
          const xs = rand(iters * nIn * 4, 50 + nIn + iters);
          f.set(xs, src / 4);
          f.fill(0, dstA / 4, dstB / 4 + iters * nOut * 4);
          const args = (dst: number) =>
            [src, dst, n, c4, 16 * r, 16, 16 * mOut, 16, c4 * nIn * 16, c4 * nOut * 16, nIn * 16, nOut * 16, rows, n * c4 * nIn * 16, n * c4 * nOut * 16] as const;
          const before = transformPoolStats.split;
          tw[name](...args(dstA));
          pw[name](...args(dstB));
          expect(transformPoolStats.split - before, name).toBe(1);
          const a = f.slice(dstA / 4, dstA / 4 + iters * nOut * 4);
          const b = f.slice(dstB / 4, dstB / 4 + iters * nOut * 4);
          expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer)), `${name} ${rows}x${n}x${c4}`).toBe(true);
          for (let k = 0; k < iters; k++) {
            for (let lane = 0; lane < 4; lane++) {
              const want = applyMap(name, Array.from({ length: nIn }, (_, i) => xs[(k * nIn + i) * 4 + lane]!));
              const have = Array.from({ length: nOut }, (_, j) => a[(k * nOut + j) * 4 + lane]!);
              expect(have, `${name} iteration ${k} lane ${lane}`).toEqual(want);
            }
          }
        }
      }
    } finally {
      transformPoolOptions.minIterations = saved;
    }
  });
});
