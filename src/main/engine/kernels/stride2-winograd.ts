/**
 * 3x3 stride-2 convolutions (CycleGAN's down-sampling layers, and as their input gradients the
 * transposed up-sampling ones) by Winograd F(4x4, 2x2) or F(5x5, 2x2) on the input's phases. 4x4
 * stride-2 ones (pix2pix's U-Net encoder and PatchGAN, as input gradients its decoder) the same
 * way: there every one of the 16 blocks is a tap, 5.8-6.25 instead of 16 multiplies per output and
 * channel pair.
 *
 * Split x by row and column parity ("space to depth"): xs[b, i, j, (2 a + c) CI + ci] =
 * x[b, 2 i + a - pt, 2 j + c - pl, ci] (zero outside x). Tap (ky, kx) = (2 u + a, 2 v + c) of the
 * filter then reads phase (a, c) at xs pixel (y + u, x + v), so the stride-2 3x3 convolution is a
 * stride-1 2x2 convolution of xs (4 CI channels) with ws[u, v, (2 a + c) CI + ci, co] =
 * w[2 u + a, 2 v + c, ci, co], zero where 2 u + a or 2 v + c is 3 (7 of the 16 CI x CO blocks).
 * Direct, that is 16 instead of 9 multiplies per output and channel pair; by F(4x4, 2x2) (25 per
 * 4x4 tile) it is 25 * 4 / 16 = 6.25, by F(5x5, 2x2) (36 per 5x5 tile) 36 * 4 / 25 = 5.8, i.e.
 * 1.44-1.56x fewer than the 3x3's 9, less the partial tiles (winogradTile takes 5x5 tiles only
 * where they save a tenth of the multiplies: odd sizes).
 *
 * For 3x3 filters only phase (0, 0) has 2x2 taps; (0, 1) and (1, 0) have 2x1 and 1x2, (1, 1) one,
 * and a one-tap axis's transform is zero on one point (stride2WinogradOptions.phaseBlocks): the
 * products skip those blocks, 81 of F(4x4,2x2)'s 100 (5.06 multiplies per output and channel pair).
 *
 *   forward        y  = conv2x2(xs, ws)                         winogradConv
 *   input gradient dxs = its input gradient (rotated ws), dx = the phases of dxs put back
 *   filter gradient dws = winogradFilterGrad(xs, dy), dw = the 9 real taps of dws
 *
 * The copies into and out of the phase layout are runs of CI floats (runs-simd.ts). Results are
 * within ~1e-5 of the direct sums (F(5x5)'s A^T has entries up to 16; the tests hold them to 1e-4
 * of the cpu backend).
 */
import * as tf from '@tensorflow/tfjs';
import type { GemmSimd } from './gemm-simd';
import { type RunList, runList } from './runs-simd';
import { type WinogradShape, k2Work, winogradApplies, winogradConv, winogradFilterGrad, winogradTile, winogradTransforms } from './winograd';
import { type BackendWasm, type TensorInfo, fillOutput, heapF32 as f32, release } from './wasm-util';

type ConvInfo = tf.backend_util.Conv2DInfo;

/**
 * ATELIER_S2_WINOGRAD=0: the im2col / nnRT paths (A/B). `maxWork`: taken only where the 5x5
 * tiles' multiplies (partial tiles included) are at most this share of the direct 3x3's. Same
 * process, 128 px CycleGAN step (2 threads, load ~3), CPU ms per step direct -> Winograd: the
 * 64x64-output layer (share 0.66) forward 199 -> 174, input gradient 224 -> 163, filter gradient
 * 243 -> 160; the 32x32-output one (share 0.77: 7x7 tiles cover 35x35) 187 -> 199, 207 -> 225,
 * 204 -> 214, i.e. slower (the transforms and phase copies cost more than the 23% fewer
 * multiplies save), hence 0.7.
 */
export const stride2WinogradOptions = {
  enabled: process.env.ATELIER_S2_WINOGRAD !== '0',
  maxWork: 0.7,
  minTiles: 64,
  /**
   * 4x4 filters from this many tiles (16x16 outputs): with the filter transforms kept per filter
   * (cacheFilters) a filter used three times a step pays them once. CycleGAN 128 px, PatchGAN's
   * 128 -> 256 layer (16x16 outputs), kernel CPU ms per step, 64 -> 16 tiles (same process,
   * load ~3): forward 38.8 -> 25.9, input gradient 40.4 -> 36.0, filter gradient 35.3 -> 13.9.
   * 3x3 filters at 16 tiles stayed slower (64 px, the generator's 128 -> 256 layer: 42.4 -> 46.1,
   * 43.5 -> 53.8, 49.5 -> 63.7): only 9 of their 16 phase blocks are taps. Below 64 tiles only up
   * to `k4MaxPairs` phase channel pairs (4 CI x CO): 16-row plane products are thin, and at the
   * 256 px U-Net's 256 -> 1024 layer (1M pairs: 25 planes of 4 MB for the filter, dU and the
   * transforms) the input and filter gradients went 54.5 -> 162 and 87 -> 253 ms CPU a step.
   */
  k4MinTiles: 16,
  k4MaxPairs: 256 * 1024,
  /**
   * 4x4 filters too (ATELIER_S2_WINOGRAD_K4=0: off). Process CPU ms per call (2 threads), new
   * filter every 3 calls, direct -> phases (load 6): 128x128x64 -> 128 forward 26.4 -> 12.9, input
   * gradient 30.6 -> 12.6, filter gradient 29.3 -> 13.2; 64x64x128 -> 256 25.9 -> 16.4, 28.2 ->
   * 16.0, 30.4 -> 14.9; 32x32x256 -> 512 (16x16 outputs, under minTiles) 26.6 -> 26.3, 27.7 ->
   * 33.7, 28.7 -> 20.1: the same minTiles rule holds.
   */
  k4: process.env.ATELIER_S2_WINOGRAD_K4 !== '0',
  /**
   * xs laid out over the tiles' whole reach (m * ceil(OH / m) + 1 rows and columns, the margin
   * zero), so that the forward and the filter gradient read it in place instead of copying it
   * once more, tile-padded, on the calling thread (winograd.ts padInput: ~0.4-1 ms a call at 128
   * px). ATELIER_S2_REACH=0: xs just covers x (A/B).
   */
  reach: process.env.ATELIER_S2_REACH !== '0',
  /**
   * Keep each filter's phase filter ws while the filter lives (up to `cacheMaxBytes` of ws and its
   * estimated transforms, forward and rotated), so that winograd.ts's transform cache, keyed by
   * ws, serves the filter's later calls: CycleGAN applies each generator three times, forward and
   * input gradient, so 4 of a filter's 6 transforms a step were made again (0.3-1.7 ms each at 128
   * px). ATELIER_S2_FILTER_CACHE=0: a ws of its own per call (A/B).
   */
  cacheFilters: process.env.ATELIER_S2_FILTER_CACHE !== '0',
  cacheMaxBytes: 384 * 2 ** 20,
  /**
   * 3x3 filters: the products take only the phase blocks whose transformed filter is not zero on
   * each plane (winograd.ts phaseRange: the one-tap phases vanish on the point at infinity, or
   * at 0 for the rotated filter), 81 of F(4x4,2x2)'s 100 block products, 5.06 instead of 6.25
   * multiplies per output and channel pair; xs's phases ordered (0, 1), (0, 0), (1, 0), (1, 1)
   * so that every plane's blocks are one range. ATELIER_S2_PHASE_BLOCKS=0: every block (A/B).
   */
  phaseBlocks: process.env.ATELIER_S2_PHASE_BLOCKS !== '0',
};

/** Block of phase (a, c) (index 2 a + c) in xs and ws: with phaseBlocks (3x3), (0, 1) first and (0, 0) second. */
const PHASE_ORDER = [1, 0, 2, 3], PLAIN_ORDER = [0, 1, 2, 3];

/** Phase filters kept per backend, by their filter's data id (see cacheFilters). */
interface CachedWs {
  ws: TensorInfo;
  bytes: number;
  /** ws's phase order (Phases.order): an A/B that switches phaseBlocks between steps must not reuse it. */
  order: number[];
}
const wsCaches = new WeakMap<BackendWasm, Map<object, CachedWs>>();

/** Release the kept phase filters whose filter was disposed; returns how many stay (tests). */
export function stride2CacheSweep(backend: BackendWasm): number {
  const cache = wsCaches.get(backend);
  if (!cache) return 0;
  for (const [id, c] of cache) {
    if (!backend.dataIdMap.has(id)) {
      release(backend, c.ws);
      cache.delete(id);
    }
  }
  return cache.size;
}
/** Calls that took this path (tests check it). */
export const stride2WinogradCalls = { forward: 0, backpropInput: 0, backpropFilter: 0 };

/** The phase grid of x for `info`, or null where this path does not apply. */
interface Phases {
  B: number;
  H: number;
  W: number;
  CI: number;
  CO: number;
  pt: number;
  pl: number;
  /** The filter size, 3 or 4. */
  K: number;
  /** The phases of x: HS x WS pixels of 4 CI channels. */
  HS: number;
  WS: number;
  /** xs as laid out: XH x XW pixels (>= HS x WS; the tiles' reach with `reach`). */
  XH: number;
  XW: number;
  OH: number;
  OW: number;
  /** Block of phase 2 a + c in xs and ws (PHASE_ORDER with phaseBlocks and 3x3 filters). */
  order: number[];
}

function phasesOf(info: ConvInfo): Phases | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outChannels: CO, outHeight: OH, outWidth: OW } = info;
  const K = info.filterHeight;
  if (!stride2WinogradOptions.enabled || (K !== 3 && !(K === 4 && stride2WinogradOptions.k4)) || info.filterWidth !== K || info.strideHeight !== 2 || info.strideWidth !== 2) return null;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || CI % 8 !== 0 || CO % 8 !== 0) return null;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  if (pt < 0 || pt > 1 || pl < 0 || pl > 1) return null;
  const HS = Math.ceil((H + pt) / 2), WS = Math.ceil((W + pl) / 2);
  // output y reads xs rows y and y + 1 (zero beyond HS): OH <= HS always holds for these pads
  if (OH > HS || OW > WS) return null;
  // the tiles' multiplies (4 phase channels per input channel) against K^2 per output
  const work = (4 * Math.min(k2Work({ B, OH, OW }, 4), k2Work({ B, OH, OW }, 5))) / (K * K * B * OH * OW);
  // few tiles: the per-call filter transforms (36 or 25 planes of 4 CI x CO) outweigh the products
  // saved (64 px step, 16x16 outputs, 16 tiles: kernel CPU ms per step 55-57 -> 61-80)
  const tiles = B * Math.ceil(OH / 4) * Math.ceil(OW / 4);
  const o = stride2WinogradOptions;
  const fewTilesOk = K === 4 && tiles >= o.k4MinTiles && 4 * CI * CO <= o.k4MaxPairs;
  if (work > o.maxWork || (tiles < o.minTiles && !fewTilesOk)) return null;
  const order = K === 3 && o.phaseBlocks ? PHASE_ORDER : PLAIN_ORDER;
  const p: Phases = { B, H, W, CI, CO, K, pt, pl, HS, WS, XH: HS, XW: WS, OH, OW, order };
  if (stride2WinogradOptions.reach) {
    // the 2x2 convolution's m x m output tiles read m + 1 rows and columns each
    const m = winogradTile(forwardShape(p));
    p.XH = Math.max(HS, m * Math.ceil(OH / m) + 1);
    p.XW = Math.max(WS, m * Math.ceil(OW / m) + 1);
  }
  return winogradApplies(forwardShape(p)) && winogradApplies(inputGradShape(p)) ? p : null;
}

/** The stride-1 2x2 convolution of xs. */
const forwardShape = (p: Phases): WinogradShape => ({ K: 2, B: p.B, H: p.XH, W: p.XW, CI: 4 * p.CI, OH: p.OH, OW: p.OW, CO: p.CO, padTop: 0, padLeft: 0, ...phaseC(p) });
/** Its input gradient as a convolution of dy (padded by 1 at the top and left) with the rotated filter, onto xs. */
const inputGradShape = (p: Phases): WinogradShape => ({ K: 2, B: p.B, H: p.OH, W: p.OW, CI: p.CO, OH: p.HS, OW: p.WS, CO: 4 * p.CI, padTop: 1, padLeft: 1, ...phaseC(p) });
/** The phase blocks for winograd.ts (WinogradShape.phaseC) where xs is laid out for them. */
const phaseC = (p: Phases) => (p.order === PHASE_ORDER ? { phaseC: p.CI } : {});

/** For every pixel of x [B, H, W, CI]: its float offset there and in xs [B, HS, WS, 4 CI] (phase 2 a + c). */
function eachPixel(p: Phases, HS: number, WS: number, f: (xAt: number, sAt: number) => void): void {
  const { B, H, W, CI, pt, pl, order } = p;
  for (let b = 0, q = 0; b < B; b++) {
    for (let iy = 0; iy < H; iy++) {
      const sy = iy + pt, rowS = (b * HS + (sy >> 1)) * WS, a2 = 2 * (sy & 1);
      for (let ix = 0; ix < W; ix++, q += CI) {
        const sx = ix + pl;
        f(q, ((rowS + (sx >> 1)) * 4 + order[a2 + (sx & 1)]!) * CI);
      }
    }
  }
}

/**
 * Copy x's pixels into xs (`toPhases`, xs laid out XH x XW) or xs's back into x (xs HS x WS: the
 * input gradient's dxs): runs of CI floats, listed for one SIMD call (runs-simd.ts; `runs` made
 * before the heap views here), else one `set` each. Pixels of xs outside x are left as they are.
 */
function copyPhases(backend: BackendWasm, p: Phases, x: TensorInfo, xs: TensorInfo, toPhases: boolean, runs: RunList | null): void {
  const xv = f32(backend, x), sv = f32(backend, xs);
  const CI = p.CI;
  const [rows, cols] = toPhases ? [p.XH, p.XW] : [p.HS, p.WS];
  if (runs) {
    const xB = xv.byteOffset, sB = sv.byteOffset;
    eachPixel(p, rows, cols, (q, at) => (toPhases ? runs.push(sB + at * 4, xB + q * 4, CI) : runs.push(xB + q * 4, sB + at * 4, CI)));
    runs.apply(backend, 'copy');
  } else {
    eachPixel(p, rows, cols, (q, at) => (toPhases ? sv.set(xv.subarray(q, q + CI), at) : xv.set(sv.subarray(at, at + CI), q)));
  }
}

/** ws [2, 2, 4 CI, CO] from w [K, K, CI, CO] (`toPhases`), or the K^2 taps of dws back into dw. */
function filterBlocks(wv: Float32Array, ws: Float32Array, K: number, CI: number, CO: number, toPhases: boolean, order: number[]): void {
  const blk = CI * CO;
  if (toPhases && K < 4) ws.fill(0);
  for (let ky = 0; ky < K; ky++) {
    for (let kx = 0; kx < K; kx++) {
      const w0 = (ky * K + kx) * blk;
      const s0 = (((ky >> 1) * 2 + (kx >> 1)) * 4 + order[2 * (ky & 1) + (kx & 1)]!) * blk;
      if (toPhases) ws.set(wv.subarray(w0, w0 + blk), s0);
      else wv.set(ws.subarray(s0, s0 + blk), w0);
    }
  }
}

/**
 * Zero the pixels of xs that x does not fill in all four phases: rows and columns outside
 * [r0, r1) x [c0, c1) (top or left padding, odd sizes, the tiles' margin); the copy then
 * overwrites the phases x has there.
 */
function zeroMargins(sv: Float32Array, p: Phases): void {
  const { B, H, W, pt, pl, XH, XW } = p;
  const px = 4 * p.CI, row = XW * px;
  // row i holds x rows 2 i - pt and 2 i + 1 - pt
  const r0 = pt, r1 = Math.min(XH, (H + pt) >> 1), c0 = pl, c1 = Math.min(XW, (W + pl) >> 1);
  for (let b = 0; b < B; b++) {
    const img = b * XH * row;
    if (r0 > 0) sv.fill(0, img, img + r0 * row);
    sv.fill(0, img + r1 * row, img + XH * row);
    for (let i = r0; i < r1; i++) {
      const at = img + i * row;
      if (c0 > 0) sv.fill(0, at, at + c0 * px);
      if (c1 < XW) sv.fill(0, at + c1 * px, at + row);
    }
  }
}

/** x in the phase layout (a new tensor: the caller releases it). */
function toPhaseLayout(backend: BackendWasm, x: TensorInfo, p: Phases): TensorInfo {
  const xs = backend.makeOutput([p.B, p.XH, p.XW, 4 * p.CI], 'float32');
  const runs = runList(backend, p.B * p.H * p.W);
  zeroMargins(f32(backend, xs), p);
  copyPhases(backend, p, x, xs, true, runs);
  return xs;
}

/**
 * ws for `filter` and whether the caller releases it (false: kept in the cache for the filter's
 * later calls, released by stride2CacheSweep once the filter is gone).
 */
function phaseFilter(backend: BackendWasm, filter: TensorInfo, p: Phases): { ws: TensorInfo; own: boolean } {
  let cache: Map<object, CachedWs> | undefined;
  if (stride2WinogradOptions.cacheFilters) {
    stride2CacheSweep(backend);
    cache = wsCaches.get(backend);
    if (!cache) wsCaches.set(backend, (cache = new Map()));
    const hit = cache.get(filter.dataId);
    if (hit && hit.ws.shape[2] === 4 * p.CI && hit.ws.shape[3] === p.CO && hit.order === p.order) return { ws: hit.ws, own: false };
  }
  const ws = backend.makeOutput([2, 2, 4 * p.CI, p.CO], 'float32');
  filterBlocks(f32(backend, filter), f32(backend, ws), p.K, p.CI, p.CO, true, p.order);
  if (!cache || cache.has(filter.dataId)) return { ws, own: true };
  // ws and winograd.ts's transforms of it, forward and rotated: (m + 1)^2 planes of 4 CI x CO
  const pairs = 4 * p.CI * p.CO;
  const bytes = 4 * (4 * pairs + 2 * 36 * pairs);
  let held = 0;
  for (const c of cache.values()) held += c.bytes;
  if (held + bytes > stride2WinogradOptions.cacheMaxBytes) return { ws, own: true };
  cache.set(filter.dataId, { ws, bytes, order: p.order });
  return { ws, own: false };
}

/** y [B, OH, OW, CO] of the stride-2 3x3 convolution `info`, or null where this path does not apply. */
export function stride2Forward(backend: BackendWasm, g: GemmSimd, x: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo | null {
  const p = phasesOf(info);
  const tw = p ? winogradTransforms(backend) : null;
  if (!p || !tw) return null;
  const xs = toPhaseLayout(backend, x, p);
  let ws: { ws: TensorInfo; own: boolean } | null = null;
  try {
    ws = phaseFilter(backend, filter, p);
    const y = winogradConv(backend, g, tw, xs, ws.ws, forwardShape(p), false);
    stride2WinogradCalls.forward++;
    return y;
  } finally {
    release(backend, xs, ws?.own ? ws.ws : null);
  }
}

/** dx [B, H, W, CI] of the stride-2 3x3 convolution `info` for dy, or null where this path does not apply. */
export function stride2BackpropInput(backend: BackendWasm, g: GemmSimd, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo | null {
  const p = phasesOf(info);
  const tw = p ? winogradTransforms(backend) : null;
  if (!p || !tw) return null;
  const ws = phaseFilter(backend, filter, p);
  let dxs: TensorInfo | null = null;
  try {
    dxs = winogradConv(backend, g, tw, dy, ws.ws, inputGradShape(p), true);
    const dx = backend.makeOutput([p.B, p.H, p.W, p.CI], 'float32');
    const runs = runList(backend, p.B * p.H * p.W);
    const d = dxs;
    return fillOutput(backend, dx, [], () => {
      copyPhases(backend, p, dx, d, false, runs);
      stride2WinogradCalls.backpropInput++;
    });
  } finally {
    release(backend, ws.own ? ws.ws : null, dxs);
  }
}

/** dw [3, 3, CI, CO] of the stride-2 3x3 convolution `info`, or null where this path does not apply. */
export function stride2BackpropFilter(backend: BackendWasm, g: GemmSimd, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo | null {
  const p = phasesOf(info);
  const tw = p ? winogradTransforms(backend) : null;
  if (!p || !tw) return null;
  const xs = toPhaseLayout(backend, x, p);
  let dws: TensorInfo | null = null;
  try {
    dws = winogradFilterGrad(backend, g, tw, xs, dy, forwardShape(p));
    const dw = backend.makeOutput([p.K, p.K, p.CI, p.CO], 'float32');
    const d = dws;
    return fillOutput(backend, dw, [], () => {
      filterBlocks(f32(backend, dw), f32(backend, d), p.K, p.CI, p.CO, false, p.order);
      stride2WinogradCalls.backpropFilter++;
    });
  } finally {
    release(backend, xs, dws);
  }
}
