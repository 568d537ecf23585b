/**
 * 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016):
 * each 2x2 output tile takes 16 multiplies per (input, output) channel pair instead of 36.
 *
 * CycleGAN's ResNet generator spends most of its step in 3x3 convolutions at 256 channels on
 * small maps (16x16 at 64 px: forward, input gradient), where im2col + product runs near the
 * 128-bit SIMD ceiling; fewer multiplies is the remaining lever. For T tiles:
 *
 *   V[xi] [T, CI]  = B^T d B     per 4x4 input patch d and channel (16 planes xi)
 *   U[xi] [CI, CO] = G g G^T     per channel pair
 *   M[xi] [T, CO]  = V[xi] . U[xi]                  (16 products, gemm-simd.ts nnR)
 *   y 2x2          = A^T m A     per tile and output channel
 *
 * The input gradient of a stride-1 convolution is the forward convolution of dy (padded by
 * K - 1 - pad) with the filter rotated 180 degrees and its channels swapped: the product reads
 * the forward's U as its transpose (nnRT), or, for many tiles, that filter is built and
 * transformed once per filter tensor and cached beside the forward's U.
 *
 * The filter gradient is the transpose of the forward map: with dM = A dy A^T per 2x2 dy tile,
 *   dU[xi] [CI, CO] = V[xi]^T . dM[xi]    (16 products over the T tiles, gemm-simd.ts nn)
 *   dw 3x3          = G^T du G            per channel pair
 * 16 multiply-adds per tile and channel pair instead of the im2col product's 36.
 *
 * Every transform runs as SIMD code (winograd-simd.ts), four channels per vector.
 *
 * The transforms are exact in real arithmetic; in float32 they add rounding of the order of
 * 1e-6 relative to the sums (tests hold them to 1e-4 of the cpu backend).
 */
import type { GemmSimd } from './gemm-simd';
import { type WinogradSimd, createWinogradSimd } from './winograd-simd';
import { type BackendWasm, type TensorInfo, heapF32 as f32, heapMemory, heapOffset as off, release } from './wasm-util';

/** The conv the transform computes: x [B, H, W, CI] -> [B, OH, OW, CO], pad top/left, 3x3, stride 1. */
export interface WinogradShape {
  B: number;
  H: number;
  W: number;
  CI: number;
  OH: number;
  OW: number;
  CO: number;
  padTop: number;
  padLeft: number;
}

export const winogradOptions = {
  enabled: process.env.ATELIER_WINOGRAD !== '0',
  /** The filter gradient too (ATELIER_WINOGRAD_DW=0: im2col + product; the bench compares both). */
  backpropFilter: process.env.ATELIER_WINOGRAD_DW !== '0',
  /** Input gradients with at least this many tiles (x4) use a transform of the rotated filter (see winogradConv). */
  flipOwnMinTiles: 256,
  /** Both channel counts at least this (the filter transform is CI*CO work per call). */
  minChannels: 64,
  /** Bound on the V and M buffers (floats). */
  maxFloats: 1 << 24,
};
export const winogradCalls = { forward: 0, backpropInput: 0, backpropFilter: 0 };

/** The SIMD transforms on this backend's heap, or null (then Winograd is not taken). */
export function winogradTransforms(backend: BackendWasm): WinogradSimd | null {
  return createWinogradSimd(heapMemory(backend));
}

export function winogradApplies(s: WinogradShape): boolean {
  const T = s.B * Math.ceil(s.OH / 2) * Math.ceil(s.OW / 2);
  const T4 = Math.ceil(T / 4) * 4;
  return (
    winogradOptions.enabled && s.CI >= winogradOptions.minChannels && s.CO >= winogradOptions.minChannels &&
    s.CO % 8 === 0 && s.CI % 8 === 0 && s.OH >= 2 && s.OW >= 2 && 16 * T4 * Math.max(s.CI, s.CO) <= winogradOptions.maxFloats
  );
}

/**
 * Transformed filters, per backend, by the filter's data id. A filter is constant for a training
 * step but meets the transform up to six times (CycleGAN applies each generator three times,
 * forward and input gradient): at paper width 3x3x256x256 the transform is ~1-4 ms, as much as
 * the products. The buffers are malloc'ed on the heap outside tfjs's data ids and freed as soon
 * as their filter's data is gone (checked at every call, and by winogradCacheSweep()); optimizer
 * steps make new filter tensors, so at most one set of a network's filters is held.
 */
interface CachedU {
  ptr: number;
  floats: number;
}
/** Per backend: forward transforms [16, CI, CO], and the input gradient's [16, CO, CI] (`flip`). */
const uCaches = new WeakMap<BackendWasm, Map<object, CachedU>>();
const uCachesFlip = new WeakMap<BackendWasm, Map<object, CachedU>>();
interface WasmMalloc {
  _malloc(n: number): number;
  _free(p: number): void;
}

/** Free the cached transforms whose filter was disposed; returns how many stay. */
export function winogradCacheSweep(backend: BackendWasm): number {
  let n = 0;
  for (const cache of [uCaches.get(backend), uCachesFlip.get(backend)]) {
    if (!cache) continue;
    const wasm = backend.wasm as unknown as WasmMalloc;
    for (const [id, c] of cache) {
      if (!backend.dataIdMap.has(id)) {
        wasm._free(c.ptr);
        cache.delete(id);
      }
    }
    n += cache.size;
  }
  return n;
}

/**
 * Byte offset of U [16, CI, CO] for filter w [3, 3, CI, CO] (transformed now, or cached). `flip`:
 * the transform of the input gradient's filter, w rotated 180 degrees with channels swapped
 * ([3, 3, CO, CI]), so its products read U row-major (nnR) like the forward's: reading the forward
 * U as its transpose (nnRT gathers 8 floats K apart per strip row) made the input gradient ~1.2x
 * the forward's time at 3x3x256.
 */
function transformedFilter(backend: BackendWasm, tw: WinogradSimd, w: TensorInfo, pairs: number, flip = false): number {
  winogradCacheSweep(backend);
  const caches = flip ? uCachesFlip : uCaches;
  let cache = caches.get(backend);
  if (!cache) caches.set(backend, (cache = new Map()));
  const hit = cache.get(w.dataId);
  if (hit && hit.floats === 16 * pairs) return hit.ptr;
  const wasm = backend.wasm as unknown as WasmMalloc;
  const ptr = wasm._malloc(16 * pairs * 4) >>> 0;
  if (ptr === 0) throw new Error('winograd: out of wasm memory');
  const tmp = flip ? backend.makeOutput([9 * pairs], 'float32') : null;
  try {
    let src = off(backend, w);
    if (tmp) {
      // wf[ky, kx, co, ci] = w[2 - ky, 2 - kx, ci, co]; views after both allocations
      const [, , CI, CO] = w.shape as [number, number, number, number];
      const wv = f32(backend, w), o = f32(backend, tmp);
      for (let k = 0; k < 9; k++) {
        const from = (8 - k) * pairs;
        let d = k * pairs;
        for (let co = 0; co < CO; co++) for (let ci = 0, q = from + co; ci < CI; ci++, q += CO) o[d++] = wv[q]!;
      }
      src = off(backend, tmp);
    }
    // g[ky][kx] at src + (3 ky + kx) * pairs, plane xi = 4 i + j at ptr + xi * pairs; 4 pairs per vector
    const pb = pairs * 4;
    tw.filter(src, ptr, 1, pairs >> 2, 3 * pb, pb, 4 * pb, pb, 0, 0, 16, 16);
  } catch (e) {
    wasm._free(ptr);
    throw e;
  } finally {
    release(backend, tmp);
  }
  if (hit) wasm._free(hit.ptr);
  cache.set(w.dataId, { ptr, floats: 16 * pairs });
  return ptr;
}

/**
 * G flip(g) is G g with rows 0 and 3 swapped, so the rotated filter's plane (i, j) is the forward
 * plane (SIGMA[i], SIGMA[j]).
 */
const SIGMA = [3, 1, 2, 0];

/** Bytes of a tile row's layout: the map functions' strides (winograd-simd.ts). */
interface Tiles {
  B: number;
  TY: number;
  TX: number;
  T: number;
}
function tilesOf(s: WinogradShape): Tiles {
  const TY = Math.ceil(s.OH / 2), TX = Math.ceil(s.OW / 2);
  return { B: s.B, TY, TX, T: s.B * TY * TX };
}

/**
 * x [B, H, W, C] zero-padded to xp [B, 2TY + 2, 2TX + 2, C], x[b, iy, ix] at
 * xp[b, iy + padTop, ix + padLeft], clipped to the tiles' reach: every 4x4 patch is inside.
 */
function padInput(xp: Float32Array, xv: Float32Array, s: WinogradShape, t: Tiles): void {
  const { H, W, CI, padTop, padLeft } = s;
  const HP = 2 * t.TY + 2, WP = 2 * t.TX + 2;
  xp.fill(0);
  const ix0 = Math.max(0, -padLeft);
  const ix1 = Math.min(W, WP - padLeft);
  if (ix1 <= ix0) return;
  for (let b = 0; b < s.B; b++) {
    for (let iy = Math.max(0, -padTop); iy < H && iy + padTop < HP; iy++) {
      const src = ((b * H + iy) * W + ix0) * CI;
      xp.set(xv.subarray(src, src + (ix1 - ix0) * CI), ((b * HP + iy + padTop) * WP + ix0 + padLeft) * CI);
    }
  }
}

/**
 * V[xi] = B^T d B for every tile's 4x4 patch of xp (byte offset) into v (byte offset), plane xi
 * `plane` bytes apart. Row-major [T, C] (`interleaved` false: tile t, channel c at (t C + c) * 4)
 * or interleaved by 4 channels [C/4, T, 4] (the nn product's A layout for V^T).
 */
function inputTransform(tw: WinogradSimd, xp: number, v: number, t: Tiles, C: number, plane: number, interleaved: boolean): void {
  const HP = 2 * t.TY + 2, WP = 2 * t.TX + 2;
  const colB = C * 4, rowB = WP * colB;
  let tile = 0;
  for (let b = 0; b < t.B; b++) {
    for (let ty = 0; ty < t.TY; ty++, tile += t.TX) {
      const src = xp + (b * HP + 2 * ty) * rowB;
      if (interleaved) tw.input(src, v + tile * 16, t.TX, C >> 2, rowB, colB, 4 * plane, plane, 2 * colB, 16, 16, t.T * 16);
      else tw.input(src, v + tile * colB, t.TX, C >> 2, rowB, colB, 4 * plane, plane, 2 * colB, colB, 16, 16);
    }
  }
}

/** Rows [b, 2ty .. 2ty+1] of a [B, 2TY, 2TX, C] map: byte offset of tile row (b, ty). */
const tileRow = (base: number, t: Tiles, C: number, b: number, ty: number) => base + ((b * t.TY + ty) * 2 * 2 * t.TX) * C * 4;

/**
 * y = A^T m A per tile, m row-major [T, CO] planes `plane` bytes apart (byte offset), into y
 * [B, 2TY, 2TX, CO] (byte offset; the caller crops odd sizes).
 */
function outputTransform(tw: WinogradSimd, m: number, y: number, t: Tiles, CO: number, plane: number): void {
  const colB = CO * 4, rowB = 2 * t.TX * colB;
  let tile = 0;
  for (let b = 0; b < t.B; b++) {
    for (let ty = 0; ty < t.TY; ty++, tile += t.TX) {
      tw.output(m + tile * colB, tileRow(y, t, CO, b, ty), t.TX, CO >> 2, 4 * plane, plane, rowB, colB, colB, 2 * colB, 16, 16);
    }
  }
}

/** dM = A e A^T per tile, e the 2x2 tiles of dy [B, 2TY, 2TX, CO] (byte offset), into row-major [T, CO] planes. */
function dyTransform(tw: WinogradSimd, dy: number, m: number, t: Tiles, CO: number, plane: number): void {
  const colB = CO * 4, rowB = 2 * t.TX * colB;
  let tile = 0;
  for (let b = 0; b < t.B; b++) {
    for (let ty = 0; ty < t.TY; ty++, tile += t.TX) {
      tw.dyTile(tileRow(dy, t, CO, b, ty), m + tile * colB, t.TX, CO >> 2, rowB, colB, 4 * plane, plane, 2 * colB, colB, 16, 16);
    }
  }
}

/** Copy between [B, OH, OW, C] and its tile-padded [B, 2TY, 2TX, C] (rows of OW * C floats). */
function copyRows(from: Float32Array, to: Float32Array, s: WinogradShape, t: Tiles, C: number, toPadded: boolean): void {
  const n = s.OW * C;
  for (let b = 0; b < s.B; b++) {
    for (let oy = 0; oy < s.OH; oy++) {
      const o = (b * s.OH + oy) * n, p = (b * 2 * t.TY + oy) * 2 * t.TX * C;
      if (toPadded) to.set(from.subarray(o, o + n), p);
      else to.set(from.subarray(p, p + n), o);
    }
  }
}

const even = (s: WinogradShape) => s.OH % 2 === 0 && s.OW % 2 === 0;

/**
 * The convolution `s` of x with w by F(2x2, 3x3). Forward (`flip` false): w [3, 3, CI, CO].
 * Input gradient (`flip` true): x is dy, and the filter of the conv `s` is w rotated 180 degrees
 * with channels swapped, w given as the forward filter [3, 3, CO, CI] (s.CI = its CO).
 */
export function winogradConv(backend: BackendWasm, g: GemmSimd, tw: WinogradSimd, x: TensorInfo, w: TensorInfo, s: WinogradShape, flip: boolean): TensorInfo {
  const { B, OH, OW, CI, CO } = s;
  const t = tilesOf(s);
  const T4 = Math.ceil(t.T / 4) * 4;
  const HP = 2 * t.TY + 2, WP = 2 * t.TX + 2;
  const out = backend.makeOutput([B, OH, OW, CO], 'float32');
  // xp, V, M, the product's strip scratch (2 * K * 8 floats, K = CI) and, for odd sizes, the tile-padded y
  const nXp = B * HP * WP * CI, nV = 16 * T4 * CI, nM = 16 * T4 * CO, nS = 16 * CI + 16;
  const nY = even(s) ? 0 : B * 4 * t.TY * t.TX * CO;
  const buf = backend.makeOutput([nXp + nV + nM + nS + nY], 'float32');
  try {
    // Input gradient: a rotated, swapped filter of its own (built once per filter tensor, ~2 ms at
    // 3x3x256) read row-major pays off from ~256 tiles (1 thread, CPU ms per call at 17x17 tiles:
    // 16-17 vs 19); below, the forward's U read as its transpose (nnRT) costs less.
    const own = flip && T4 >= winogradOptions.flipOwnMinTiles;
    const uPtr = transformedFilter(backend, tw, w, CI * CO, own);
    const all = f32(backend, buf);
    padInput(all.subarray(0, nXp), f32(backend, x), s, t);
    const planeV = T4 * CI;
    if (T4 > t.T) for (let xi = 0; xi < 16; xi++) all.fill(0, nXp + xi * planeV + t.T * CI, nXp + (xi + 1) * planeV);
    const base = off(backend, buf);
    const vOff = base + nXp * 4, mOff = vOff + nV * 4, scr = mOff + nM * 4, yOff = scr + nS * 4;
    inputTransform(tw, base, vOff, t, CI, planeV * 4, false);
    for (let xi = 0; xi < 16; xi++) {
      const a = vOff + xi * T4 * CI * 4, c = mOff + xi * T4 * CO * 4;
      // M = V . U (U [CI, CO]); input gradient without its own U: the forward's U [CO, CI] plane
      // (SIGMA i, SIGMA j) read as its transpose
      if (flip && !own) g.nnRT(a, uPtr + (SIGMA[xi >> 2]! * 4 + SIGMA[xi & 3]!) * CI * CO * 4, c, T4 >> 2, CI, CO, scr);
      else g.nnR(a, uPtr + xi * CI * CO * 4, c, T4 >> 2, CI, CO, scr);
    }
    outputTransform(tw, mOff, nY ? yOff : off(backend, out), t, CO, T4 * CO * 4);
    if (nY) copyRows(f32(backend, buf).subarray(nXp + nV + nM + nS), f32(backend, out), s, t, CO, false);
    if (flip) winogradCalls.backpropInput++;
    else winogradCalls.forward++;
    return out;
  } catch (e) {
    release(backend, out);
    throw e;
  } finally {
    release(backend, buf);
  }
}

/**
 * The filter gradient of the convolution `s` (x [B, H, W, CI], dy [B, OH, OW, CO]) by F(2x2,
 * 3x3): dw [3, 3, CI, CO].
 */
export function winogradFilterGrad(backend: BackendWasm, g: GemmSimd, tw: WinogradSimd, x: TensorInfo, dy: TensorInfo, s: WinogradShape): TensorInfo {
  const { B, CI, CO } = s;
  const t = tilesOf(s);
  const T = t.T;
  const HP = 2 * t.TY + 2, WP = 2 * t.TX + 2;
  const out = backend.makeOutput([3, 3, CI, CO], 'float32');
  // xp, V^T (interleaved by 4 channels), dM, dU, the product's strip scratch (2 * K * 8 floats, K = T), tile-padded dy for odd sizes
  const nXp = B * HP * WP * CI, nV = 16 * T * CI, nM = 16 * T * CO, nU = 16 * CI * CO, nS = 16 * T + 16;
  const nDy = even(s) ? 0 : B * 4 * t.TY * t.TX * CO;
  const buf = backend.makeOutput([nXp + nV + nM + nU + nS + nDy], 'float32');
  try {
    const all = f32(backend, buf);
    padInput(all.subarray(0, nXp), f32(backend, x), s, t);
    const base = off(backend, buf);
    const vOff = base + nXp * 4, mOff = vOff + nV * 4, uOff = mOff + nM * 4, scr = uOff + nU * 4, dyOff = scr + nS * 4;
    if (nDy) {
      const dyp = all.subarray(nXp + nV + nM + nU + nS);
      dyp.fill(0);
      copyRows(f32(backend, dy), dyp, s, t, CO, true);
    }
    inputTransform(tw, base, vOff, t, CI, T * CI * 4, true);
    dyTransform(tw, nDy ? dyOff : off(backend, dy), mOff, t, CO, T * CO * 4);
    // dU[xi] [CI, CO] = V[xi]^T . dM[xi]: A = V^T in nn's interleaved layout, K = T
    for (let xi = 0; xi < 16; xi++) g.nn(vOff + xi * T * CI * 4, mOff + xi * T * CO * 4, uOff + xi * CI * CO * 4, CI >> 2, T, CO, scr);
    // dw[ky][kx] = (G^T du G)[ky][kx]: planes 4 i + j of dU in, 3 ky + kx of dw out
    const pb = CI * CO * 4;
    tw.filterGrad(uOff, off(backend, out), 1, (CI * CO) >> 2, 4 * pb, pb, 3 * pb, pb, 0, 0, 16, 16);
    winogradCalls.backpropFilter++;
    return out;
  } catch (e) {
    release(backend, out);
    throw e;
  } finally {
    release(backend, buf);
  }
}
