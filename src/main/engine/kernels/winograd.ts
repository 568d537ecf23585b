/**
 * 3x3 stride-1 convolutions by Winograd's minimal filtering (Lavin & Gray 2016), F(2x2, 3x3) or
 * F(4x4, 3x3): each m x m output tile (m = 2 or 4) takes (m + 2)^2 multiplies per (input, output)
 * channel pair instead of 9 m^2, i.e. 16 instead of 36 for F(2x2) and 36 instead of 144 for
 * F(4x4) (1.78x fewer than F(2x2)). 4x4 stride-1 convolutions (PatchGAN's 256 -> 512 layer) by
 * F(3x3, 4x4): 36 instead of 144 per 3x3 tile, the same six points and input map as F(4x4, 3x3);
 * below, r = 3 or 4 is the filter size and every 3x3 generalises to r x r. 2x2 filters (the
 * input phases of a 3x3 stride-2 convolution, stride2-winograd.ts) by F(5x5, 2x2), same points.
 *
 * CycleGAN's ResNet generator spends most of its step in 3x3 convolutions at 256 channels on
 * small maps (16x16 at 64 px: forward, input gradient), where im2col + product runs near the
 * 128-bit SIMD ceiling; fewer multiplies is the remaining lever. With a = m + 2, for T tiles:
 *
 *   V[xi] [T, CI]  = B^T d B     per a x a input patch d and channel (a^2 planes xi)
 *   U[xi] [CI, CO] = G g G^T     per channel pair
 *   M[xi] [T, CO]  = V[xi] . U[xi]                  (a^2 products, gemm-simd.ts nnR)
 *   y m x m        = A^T m A     per tile and output channel
 *
 * The input gradient of a stride-1 convolution is the forward convolution of dy (padded by
 * K - 1 - pad) with the filter rotated 180 degrees and its channels swapped: for F(2x2) with few
 * tiles the product reads the forward's U as its transpose (nnRT); otherwise that filter is built
 * and transformed once per filter tensor and cached beside the forward's U (F(4x4)'s points are
 * not symmetric under the rotation, so it always has its own).
 *
 * The filter gradient is the transpose of the forward map: with dM = A dy A^T per m x m dy tile,
 *   dU[xi] [CI, CO] = V[xi]^T . dM[xi]    (a^2 products over the T tiles, gemm-simd.ts nn)
 *   dw 3x3          = G^T du G            per channel pair
 *
 * Every transform runs as SIMD code (winograd-simd.ts), four channels per vector.
 *
 * The transforms are exact in real arithmetic; in float32 F(2x2) adds rounding of the order of
 * 1e-6 relative to the sums, F(4x4) (larger constants) a few times more (tests hold both to 1e-4
 * of the cpu backend and print the measured error).
 */
import type { GemmSimd } from './gemm-simd';
import { STAGED_FN, type StagedGroup, pooledMaps, stagedRunner } from './gemm-pool';
import { type MapFn, type MapName, type WinogradSimd, createTranspose, createWinogradSimd } from './winograd-simd';
import { type BackendWasm, type TensorInfo, fillOutput, heapF32 as f32, heapMemory, heapOffset as off, release } from './wasm-util';

/** The conv the transform computes: x [B, H, W, CI] -> [B, OH, OW, CO], pad top/left, K x K (3 if absent), stride 1. */
export interface WinogradShape {
  K?: 2 | 3 | 4;
  B: number;
  H: number;
  W: number;
  CI: number;
  OH: number;
  OW: number;
  CO: number;
  padTop: number;
  padLeft: number;
  /**
   * 2x2 filters only: the 2x2 convolution's 4 CI input channels (forward, filter gradient) or 4 CO
   * output channels (`flip`: the input gradient) are a 3x3 stride-2 filter's 4 phases in blocks
   * of this many, ordered (0, 1), (0, 0), (1, 0), (1, 1) (row and column parity), so that the
   * planes where some phases' transformed filter is zero take a contiguous range (phaseRange).
   */
  phaseC?: number;
}

/**
 * The phase blocks [lo, hi) of plane xi whose transformed filter is not zero, for a 3x3 stride-2
 * filter's phases (WinogradShape.phaseC). Phases of odd row (column) parity have one tap along
 * that axis, u = 0 (v = 0): G g is then G's first column times the tap, zero at the point where
 * G's row is [0, g] (infinity, the last point of F42 and F52). The input gradient's rotated filter
 * has that tap at u = 1: zero at the point whose row is [g, 0] (0, the first). A plane on that
 * row and column of points needs only phase (0, 0) (1 of 4 blocks); on the row only (0, 1) and
 * (0, 0); on the column (0, 0) and (1, 0): with the blocks ordered as phaseC says, a contiguous
 * range each, 81 of the 100 block products of F(4x4,2x2) (5.06 instead of 6.25 multiplies per
 * output and channel pair), 121 of 144 of F(5x5,2x2).
 */
export function phaseRange(a: number, xi: number, flip: boolean): [number, number] {
  const d = flip ? 0 : a - 1;
  const rowDead = Math.floor(xi / a) === d, colDead = xi % a === d;
  return rowDead ? (colDead ? [1, 2] : [0, 2]) : colDead ? [1, 3] : [0, 4];
}

export const winogradOptions = {
  enabled: process.env.ATELIER_WINOGRAD !== '0',
  /** The filter gradient too (ATELIER_WINOGRAD_DW=0: im2col + product; the bench compares both). */
  backpropFilter: process.env.ATELIER_WINOGRAD_DW !== '0',
  /** F(4x4,3x3) where it applies (winogradTile); ATELIER_WINOGRAD_F4=0: F(2x2) everywhere. */
  f4: process.env.ATELIER_WINOGRAD_F4 !== '0',
  /** Force the tile size (tests): 2 or 4; 0 lets winogradTile choose. */
  tile: 0 as 0 | 2 | 4,
  /** F(4x4) only up to this many tiles per call (Infinity: no bound). */
  f4MaxTiles: Infinity,
  /**
   * F(4x4)'s filter transforms are cached per filter tensor only up to this many tiles per call:
   * they are 36 CI*CO floats (9.4 MB at 3x3x256x256, twice per filter with the input gradient's),
   * ~0.45 GB over CycleGAN's 24 residual filters; at 256 px (9 blocks, 64x64 maps, 256 tiles) that
   * would push the step's ~3 GB heap towards wasm's 4 GB. Above it each call transforms the filter
   * into a buffer of its own (~0.5-1 ms at 3x3x256x256 against ~25 ms of products at 256 tiles).
   */
  f4CacheMaxTiles: 128,
  /**
   * ... and from this many: F(4x4)'s filter transforms (forward and rotated, 36 planes each, made
   * again after every optimizer step) cost more than its products save on few tiles. One residual
   * conv's step (new filter, 3 forwards, 3 input and 3 filter gradients), 1 thread, CPU ms, F(2x2)
   * vs F(4x4): 16x16 (16 tiles) 38 vs 43, 32x32 (64 tiles) 133 vs 100 while the filter transforms
   * thrashed one cache set. With their planes skewed, F(4x4) wins at 16x16 too: the CycleGAN 64 px
   * step's residual convolutions ~1.1-1.2 s -> ~0.85-0.96 s CPU (kernels/README.md, fifth pass).
   */
  f4MinTiles: 16,
  /**
   * 4x4 filters (PatchGAN's stride-1 layers) by F(3x3,4x4) (ATELIER_WINOGRAD_K4=0: im2col + product):
   * forward and input gradient from k4MinTiles 3x3 tiles per call, the filter gradient with
   * k4BackpropFilter. Figures in kernels/README.md (seventh pass).
   */
  k4: process.env.ATELIER_WINOGRAD_K4 !== '0',
  k4MinTiles: 9,
  k4BackpropFilter: process.env.ATELIER_WINOGRAD_K4_DW !== '0',
  /** Input gradients with at least this many tiles (x4) use a transform of the rotated filter (see winogradConv). */
  flipOwnMinTiles: 256,
  /** Both channel counts at least this (the filter transform is CI*CO work per call). */
  minChannels: 64,
  /** Bound on the V and M buffers (floats). */
  maxFloats: 1 << 24,
  /**
   * Floats between consecutive planes beyond their size: the transforms touch all a^2 planes per
   * tile, and planes a power of two apart (T4 * C = 64K floats at 32x32x256) fall into one cache
   * set (the input transform took 3-4x longer). 0 for A/B.
   */
  planeSkew: 16,
  /**
   * With two threads, split the 16 or 36 products of a call by planes (gemm-pool.ts batch: one
   * hand-over per call) rather than each product by rows; false for A/B.
   */
  batchPlanes: process.env.ATELIER_WINOGRAD_BATCH !== '0',
  /**
   * With two threads, a whole call (input transforms, products, output transform; the filter
   * gradient's G^T dU G) as one staged hand-over (gemm-pool.ts stagedRun) instead of one per
   * phase, each transform then in groups of rows both threads take from a counter rather than
   * fixed halves. ATELIER_WINOGRAD_STAGED=0 for A/B.
   */
  staged: process.env.ATELIER_WINOGRAD_STAGED !== '0',
  /**
   * The input gradient's tap transpositions (rotated filter, reflect-conv.ts's ring taps) in the
   * staged list's first stage (an extra stage before the rotated filter's transform) rather than
   * serially before it (~0.85 ms per new filter at 256 channels). Off by default: with the other
   * core busy it measured slower (128 px step, 6 steps each, others using ~1 core: step wall 4612
   * -> 4951 ms, residual rows' CPU 2212 -> 2346) and it was not measured quiet
   * (kernels/README.md, tenth pass). ATELIER_WINOGRAD_STAGED_T=1 turns it on.
   */
  stagedTranspose: process.env.ATELIER_WINOGRAD_STAGED_T === '1',
  /** Groups per transform stage of a staged call (about: rows of tiles, then tiles, then channel vectors). */
  stagedParts: 8,
};
/**
 * Process CPU ms per phase of the Winograd calls (filter transform, input padding, input
 * transform, products, output transform, ...), summed while `on` (scripts measure with it; off in
 * steps: process.cpuUsage costs ~1 us a call).
 */
export const winogradPhases = { on: false, ms: {} as Record<string, number>, wall: {} as Record<string, number> };
let wall0 = 0;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** Add the time since t0 to phase k; returns now (0 when not profiling). */
function phase(k: string, t0: number): number {
  if (!winogradPhases.on) return 0;
  const t = cpuMs(), w = performance.now();
  if (k) {
    winogradPhases.ms[k] = (winogradPhases.ms[k] ?? 0) + t - t0;
    winogradPhases.wall[k] = (winogradPhases.wall[k] ?? 0) + w - wall0;
  }
  wall0 = w;
  return t;
}
export const winogradCalls = { forward: 0, backpropInput: 0, backpropFilter: 0, f4: 0, k4: 0 };

const pooledTransforms = new WeakMap<object, WinogradSimd>();

/**
 * The SIMD transforms on this backend's heap, split over the products' helper thread where there
 * is one (gemm-pool.ts pooledMaps; call after createGemmSimd, which starts it), or null (then
 * Winograd is not taken).
 */
export function winogradTransforms(backend: BackendWasm): WinogradSimd | null {
  const memory = heapMemory(backend);
  const tw = createWinogradSimd(memory);
  if (!tw || !memory) return tw;
  let p = pooledTransforms.get(tw);
  if (!p) pooledTransforms.set(tw, (p = pooledMaps(tw, memory)));
  return p;
}

/** One algorithm: r x r filters, output tiles m x m, input patches a x a (a = m + r - 1), a^2 planes, and its maps. */
interface Variant {
  m: 2 | 3 | 4 | 5;
  r: 2 | 3 | 4;
  a: number;
  planes: number;
  input: MapName;
  filter: MapName;
  output: MapName;
  dyTile: MapName;
  filterGrad: MapName;
}
const F2: Variant = { m: 2, r: 3, a: 4, planes: 16, input: 'input', filter: 'filter', output: 'output', dyTile: 'dyTile', filterGrad: 'filterGrad' };
const F4: Variant = { m: 4, r: 3, a: 6, planes: 36, input: 'input4', filter: 'filter4', output: 'output4', dyTile: 'dyTile4', filterGrad: 'filterGrad4' };
/** F(3x3,4x4): the same points as F4, so the same input map (winograd-simd.ts). */
const F34: Variant = { m: 3, r: 4, a: 6, planes: 36, input: 'input4', filter: 'filter34', output: 'output34', dyTile: 'dyTile34', filterGrad: 'filterGrad34' };
/** F(5x5,2x2): 2x2 filters (the phases of a stride-2 3x3 convolution, stride2-winograd.ts), the same points and input map. */
const F52: Variant = { m: 5, r: 2, a: 6, planes: 36, input: 'input4', filter: 'filter52', output: 'output52', dyTile: 'dyTile52', filterGrad: 'filterGrad52' };
/** F(4x4,2x2): 2x2 filters where 4x4 tiles need fewer multiplies than 5x5 ones (fewer partial tiles). */
const F42: Variant = { m: 4, r: 2, a: 5, planes: 25, input: 'input42', filter: 'filter42', output: 'output42', dyTile: 'dyTile42', filterGrad: 'filterGrad42' };

/** Multiplies per channel pair of 2x2 filters in (m + 1)^2-point tiles of m x m outputs. */
export const k2Work = (s: Pick<WinogradShape, 'B' | 'OH' | 'OW'>, m: 4 | 5) => (m + 1) ** 2 * tileCount(s, m);

function tileCount(s: Pick<WinogradShape, 'B' | 'OH' | 'OW'>, m: number): number {
  return s.B * Math.ceil(s.OH / m) * Math.ceil(s.OW / m);
}

/**
 * F(4x4) where the output is at least 4x4 and its tile count within [f4MinTiles, f4MaxTiles] (at
 * paper widths: CycleGAN's residual blocks at 64, 128 and 256 px, 16x16 to 64x64 maps), else
 * F(2x2). Figures in kernels/README.md.
 */
export function winogradTile(s: WinogradShape): 2 | 3 | 4 | 5 {
  if (s.K === 4) return 3;
  // F(4x4,2x2) unless 5x5 tiles save over a tenth of the multiplies (odd sizes): at 64x64 outputs
  // (5x5: 5% fewer) F(4x4) measured as fast or faster (128 px CycleGAN step, kernel CPU ms per
  // step F(5x5) -> F(4x4), two runs: filter gradient 186 -> 161 and 189 -> 170, forward and input
  // gradient within +-8), and its exact tiles and smaller constants are more accurate
  if (s.K === 2) return k2Work(s, 5) < 0.9 * k2Work(s, 4) ? 5 : 4;
  if (winogradOptions.tile) return winogradOptions.tile;
  const T = tileCount(s, 4);
  return winogradOptions.f4 && s.OH >= 4 && s.OW >= 4 && T >= winogradOptions.f4MinTiles && T <= winogradOptions.f4MaxTiles ? 4 : 2;
}
const variantOf = (s: WinogradShape) => {
  const m = winogradTile(s);
  if (s.K === 2) return m === 4 ? F42 : F52;
  return m === 5 ? F52 : m === 3 ? F34 : m === 4 ? F4 : F2;
};

/**
 * Whether `s` goes by Winograd: both channel counts from minChannels, multiples of 8 (the
 * products' strips), V and M within maxFloats; 4x4 filters (k4) from k4MinTiles tiles (on fewer
 * the filter transform, 36 CI*CO floats made per optimizer step, outweighs the products saved).
 * `filterGrad`: the question is asked for a filter gradient (k4BackpropFilter).
 */
export function winogradApplies(s: WinogradShape, filterGrad = false): boolean {
  const K = s.K ?? 3;
  if (K === 4 && (!winogradOptions.k4 || (filterGrad && !winogradOptions.k4BackpropFilter) || tileCount(s, 3) < winogradOptions.k4MinTiles)) return false;
  // the buffers' bound: for 3x3, F(2x2)'s (16 T) are larger than F(4x4)'s (~36 T / 4)
  const T4 = Math.ceil(tileCount(s, K === 4 ? 3 : 2) / 4) * 4;
  return (
    winogradOptions.enabled && s.CI >= winogradOptions.minChannels && s.CO >= winogradOptions.minChannels &&
    s.CO % 8 === 0 && s.CI % 8 === 0 && s.OH >= 2 && s.OW >= 2 && (K === 4 ? 36 : 16) * T4 * Math.max(s.CI, s.CO) <= winogradOptions.maxFloats
  );
}

/**
 * Transformed filters, per backend and kind (tile size, forward or rotated), by the filter's data
 * id. A filter is constant for a training step but meets the transform up to six times (CycleGAN
 * applies each generator three times, forward and input gradient): at paper width 3x3x256x256 the
 * transform is ~1-4 ms, as much as the products. The buffers are malloc'ed on the heap outside
 * tfjs's data ids and freed as soon as their filter's data is gone (checked at every call, and by
 * winogradCacheSweep()); optimizer steps make new filter tensors, so at most one set of a
 * network's filters is held.
 */
interface CachedU {
  ptr: number;
  floats: number;
}
const uCaches = new WeakMap<BackendWasm, Map<string, Map<object, CachedU>>>();
interface WasmMalloc {
  _malloc(n: number): number;
  _free(p: number): void;
}

/** Free the cached transforms whose filter was disposed; returns how many stay. */
export function winogradCacheSweep(backend: BackendWasm): number {
  let n = 0;
  const wasm = backend.wasm as unknown as WasmMalloc;
  for (const cache of uCaches.get(backend)?.values() ?? []) {
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
 * Whether a call of shape `s` keeps its filter data cached per filter tensor (filterData's `keep`):
 * all but F(4x4,3x3) on many tiles, whose 36-plane transforms would cost memory per filter.
 */
export function keepsFilterData(s: WinogradShape): boolean {
  return variantOf(s) !== F4 || tileCount(s, 4) <= winogradOptions.f4CacheMaxTiles;
}

/**
 * Byte offset of `floats` floats derived from filter w by `fill` (given the buffer's byte offset),
 * cached per filter data id under `kind` (`keep`), or made for this call only (`keep` false: the
 * caller frees it with freeFilterData). The forward and rotated transforms below use it, and
 * reflect-conv.ts for its border's filter blocks.
 */
export function filterData(backend: BackendWasm, kind: string, w: TensorInfo, floats: number, keep: boolean, fill: (ptr: number) => void): number {
  winogradCacheSweep(backend);
  let kinds = uCaches.get(backend);
  if (!kinds) uCaches.set(backend, (kinds = new Map()));
  let cache = kinds.get(kind);
  if (!cache) kinds.set(kind, (cache = new Map()));
  const hit = keep ? cache.get(w.dataId) : undefined;
  if (hit && hit.floats === floats) return hit.ptr;
  const wasm = backend.wasm as unknown as WasmMalloc;
  const ptr = wasm._malloc(floats * 4) >>> 0;
  if (ptr === 0) throw new Error('winograd: out of wasm memory');
  try {
    fill(ptr);
  } catch (e) {
    wasm._free(ptr);
    throw e;
  }
  if (hit) wasm._free(hit.ptr);
  if (keep) cache.set(w.dataId, { ptr, floats });
  return ptr;
}

/** Drop filter w's cached buffer of `kind` (one whose deferred fill did not run). */
export function forgetFilterData(backend: BackendWasm, kind: string, w: TensorInfo): void {
  const cache = uCaches.get(backend)?.get(kind);
  const hit = cache?.get(w.dataId);
  if (!hit) return;
  (backend.wasm as unknown as WasmMalloc)._free(hit.ptr);
  cache!.delete(w.dataId);
}

/** Free a buffer filterData made with `keep` false. */
export function freeFilterData(backend: BackendWasm, ptr: number): void {
  (backend.wasm as unknown as WasmMalloc)._free(ptr);
}

/**
 * A filter transform left to a staged list (`calls`: its map call's arguments, after the rotated
 * filter's transpositions `pre`; the list runs them before the products), with the buffers it
 * reads (`tmp`, the rotated filter) to release after, and `undo` to drop the unfilled cache entry
 * if the list never ran.
 */
interface DeferredFilter {
  /** The rotated filter's tap transpositions [src, dst, R, C] (run before `calls`). */
  pre: number[][];
  calls: number[][];
  tmp: TensorInfo[];
  undo: (() => void) | null;
}

/**
 * Byte offset of U [a^2, CI, CO] for filter w [r, r, CI, CO] (transformed now, or cached). `flip`:
 * the transform of the input gradient's filter, w rotated 180 degrees with channels swapped
 * ([r, r, CO, CI]), so its products read U row-major (nnR) like the forward's: reading the forward
 * U as its transpose (nnRT gathers 8 floats K apart per strip row) made the input gradient ~1.2x
 * the forward's time at 3x3x256. `keep` false: not cached, the caller frees the buffer.
 */
function transformedFilter(backend: BackendWasm, tw: WinogradSimd, v: Variant, w: TensorInfo, pairs: number, flip: boolean, keep: boolean, defer?: DeferredFilter): number {
  const plane = uPlane(pairs);
  const kind = `${v.m}x${v.r}${flip ? 'r' : ''}`;
  return filterData(backend, kind, w, v.planes * plane, keep, (ptr) => {
    const taps = v.r * v.r;
    const tmp = flip ? backend.makeOutput([taps * pairs], 'float32') : null;
    try {
      let src = off(backend, w);
      if (tmp) {
        // wf[ky, kx, co, ci] = w[r-1 - ky, r-1 - kx, ci, co]: tap k is tap r*r-1 - k transposed
        const [, , CI, CO] = w.shape as [number, number, number, number];
        const to = off(backend, tmp);
        const transpose = createTranspose(heapMemory(backend));
        if (transpose && defer && winogradOptions.stagedTranspose) for (let k = 0; k < taps; k++) defer.pre.push([src + (taps - 1 - k) * pairs * 4, to + k * pairs * 4, CI, CO]);
        else if (transpose) for (let k = 0; k < taps; k++) transpose(src + (taps - 1 - k) * pairs * 4, to + k * pairs * 4, CI, CO);
        else {
          const wv = f32(backend, w), o = f32(backend, tmp);
          for (let k = 0; k < taps; k++) {
            const from = (taps - 1 - k) * pairs;
            let d = k * pairs;
            for (let co = 0; co < CO; co++) for (let ci = 0, q = from + co; ci < CI; ci++, q += CO) o[d++] = wv[q]!;
          }
        }
        src = to;
      }
      // g[ky][kx] at src + (r ky + kx) * pairs, plane xi = a i + j at ptr + xi * plane; 4 pairs per vector
      const pb = pairs * 4, qb = plane * 4;
      const call = [src, ptr, 1, pairs >> 2, v.r * pb, pb, v.a * qb, qb, 0, 0, 16, 16, 1, 0, 0];
      if (defer) {
        defer.calls.push(call);
        if (tmp) defer.tmp.push(tmp);
        if (keep) defer.undo = () => forgetFilterData(backend, kind, w);
        return;
      }
      tw[v.filter](...(call as Parameters<MapFn>));
    } finally {
      if (!tmp || !defer?.tmp.includes(tmp)) release(backend, tmp);
    }
  });
}

/**
 * Floats from one plane of a transformed filter to the next: CI * CO (a power of two at paper
 * widths, 256 KB at 256 channels) plus the skew, so that the transform's 16 or 36 output streams
 * do not all fall into one cache set.
 */
const uPlane = (pairs: number) => pairs + winogradOptions.planeSkew;

/**
 * F(2x2): G flip(g) is G g with rows 0 and 3 swapped, so the rotated filter's plane (i, j) is the
 * forward plane (SIGMA[i], SIGMA[j]).
 */
const SIGMA = [3, 1, 2, 0];

/** The tile grid of a shape for one variant. */
interface Tiles {
  B: number;
  TY: number;
  TX: number;
  T: number;
  /** Output tile size m and input patch size a = m + r - 1. */
  m: number;
  a: number;
  /** The tiles' reach in x: HP = m TY + r - 1 rows, WP columns. */
  HP: number;
  WP: number;
}
function tilesOf(s: WinogradShape, v: Variant): Tiles {
  const TY = Math.ceil(s.OH / v.m), TX = Math.ceil(s.OW / v.m);
  return { B: s.B, TY, TX, T: s.B * TY * TX, m: v.m, a: v.a, HP: v.m * TY + v.r - 1, WP: v.m * TX + v.r - 1 };
}

/**
 * x [B, H, W, C] zero-padded to xp [B, HP, WP, C], x[b, iy, ix] at
 * xp[b, iy + padTop, ix + padLeft], clipped to the tiles' reach: every a x a patch is inside.
 */
function padInput(xp: Float32Array, xv: Float32Array, s: WinogradShape, t: Tiles): void {
  const { H, W, CI, padTop, padLeft } = s;
  const { HP, WP } = t;
  const ix0 = Math.max(0, -padLeft);
  const ix1 = Math.min(W, WP - padLeft);
  if (ix1 <= ix0) {
    xp.fill(0);
    return;
  }
  // zeros only where no x lands (the border): filling the whole buffer first wrote it twice
  const row = WP * CI, c0 = (ix0 + padLeft) * CI, c1 = (ix1 + padLeft) * CI;
  const iy0 = Math.max(0, -padTop), iy1 = Math.min(H, HP - padTop);
  for (let b = 0; b < s.B; b++) {
    const img = b * HP * row;
    for (let r = 0; r < HP; r++) {
      const iy = r - padTop, o = img + r * row;
      if (iy < iy0 || iy >= iy1) {
        xp.fill(0, o, o + row);
        continue;
      }
      if (c0 > 0) xp.fill(0, o, o + c0);
      if (c1 < row) xp.fill(0, o + c1, o + row);
      const src = ((b * H + iy) * W + ix0) * CI;
      xp.set(xv.subarray(src, src + (ix1 - ix0) * CI), o + c0);
    }
  }
}

/**
 * V[xi] = B^T d B for every tile's a x a patch of xp (byte offset) into v (byte offset), plane xi
 * `plane` bytes apart. Row-major [T, C] (`interleaved` false: tile t, channel c at (t C + c) * 4)
 * or interleaved by 4 channels [C/4, T, 4] (the nn product's A layout for V^T).
 */
function inputTransform(tw: WinogradSimd, v: Variant, xp: number, vOff: number, t: Tiles, C: number, plane: number, interleaved: boolean): void {
  for (const a of inputCalls(xp, vOff, t, C, plane, interleaved)) tw[v.input](...(a as Parameters<MapFn>));
}
function inputCalls(xp: number, vOff: number, t: Tiles, C: number, plane: number, interleaved: boolean): number[][] {
  const { HP, WP } = t;
  const colB = C * 4, rowB = WP * colB;
  const calls: number[][] = [];
  // one call per image: its rows of tiles are m input rows apart (the images are HP rows apart)
  for (let b = 0, tile = 0; b < t.B; b++, tile += t.TY * t.TX) {
    const src = xp + b * HP * rowB;
    if (interleaved) calls.push([src, vOff + tile * 16, t.TX, C >> 2, rowB, colB, t.a * plane, plane, t.m * colB, 16, 16, t.T * 16, t.TY, t.m * rowB, t.TX * 16]);
    else calls.push([src, vOff + tile * colB, t.TX, C >> 2, rowB, colB, t.a * plane, plane, t.m * colB, colB, 16, 16, t.TY, t.m * rowB, t.TX * colB]);
  }
  return calls;
}

/**
 * One map call's arguments as about `parts` calls over disjoint parts of its output: by rows of
 * tiles (params 12 rows, 13 / 14 their source / destination strides), each of those by tiles (2 n,
 * 8 / 9), and a call of one row of one tile by channel vectors (3 c4, 10 / 11), as pooledMaps
 * splits in halves. Each group of the staged list gets one.
 */
export function splitMap(args: number[], parts: number): number[][] {
  const out: number[][] = [];
  const pieces = (count: number, k: number): [number, number][] => {
    const r: [number, number][] = [];
    const n = Math.max(1, Math.min(count, k));
    for (let i = 0; i < n; i++) r.push([Math.floor((i * count) / n), Math.floor(((i + 1) * count) / n)]);
    return r;
  };
  const [, , n, c4, , , , , sO, dO, sI, dI, rows, sR, dR] = args as [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
  if (rows === 1 && n === 1) {
    for (const [c0, c1] of pieces(c4, parts)) out.push(Object.assign(args.slice(), { 0: args[0]! + c0 * sI, 1: args[1]! + c0 * dI, 3: c1 - c0 }));
    return out;
  }
  const rp = pieces(rows, parts);
  for (const [r0, r1] of rp) {
    for (const [n0, n1] of pieces(n, Math.ceil(parts / rp.length))) {
      out.push(Object.assign(args.slice(), { 0: args[0]! + r0 * sR + n0 * sO, 1: args[1]! + r0 * dR + n0 * dO, 2: n1 - n0, 12: r1 - r0 }));
    }
  }
  return out;
}

/** The staged list's groups for map `fn` over `calls`, split into about `parts` groups in all, in stage `stage`. */
function mapGroups(fn: MapName, calls: number[][], stage: number, parts: number): StagedGroup[] {
  const f = STAGED_FN.map(fn);
  const each = Math.max(1, Math.ceil(parts / calls.length));
  // weight: ~0.1 us a map iteration (a tile's 4 channels) against ~4.5e-5 us a product's multiply-add (load rule's units)
  return calls.flatMap((c) => splitMap(c, each).map((a) => ({ stage, calls: [[f, ...a]], weight: 0.1 * a[2]! * a[3]! * a[12]! })));
}
/**
 * The a^2 products M = V . U of a forward or input-gradient call, each [a, b, c, K, N, lda, ldn]
 * (nnR's operands; lda / ldn 0: whole rows). With s.phaseC only the phase blocks phaseRange
 * keeps: the forward's K (V's columns, U's rows) or the input gradient's N (U's and M's columns,
 * M's other columns zeroed by the caller: zeroDeadColumns). Byte offsets and plane sizes.
 */
function convProducts(s: WinogradShape, v: Variant, flip: boolean, vOff: number, uPtr: number, mOff: number, planeV: number, planeU: number, planeM: number): number[][] {
  const out: number[][] = [];
  const c = s.phaseC ?? 0;
  for (let xi = 0; xi < v.planes; xi++) {
    const a = vOff + xi * planeV, b = uPtr + xi * planeU, m = mOff + xi * planeM;
    const [lo, hi] = c ? phaseRange(v.a, xi, flip) : [0, 4];
    if (hi - lo === 4) out.push([a, b, m, s.CI, s.CO, 0, 0]);
    else if (!flip) out.push([a + lo * c * 4, b + lo * c * s.CO * 4, m, (hi - lo) * c, s.CO, s.CI, 0]);
    else out.push([a, b + lo * c * 4, m + lo * c * 4, s.CI, (hi - lo) * c, 0, s.CO]);
  }
  return out;
}

/**
 * The scratch argument of a product with K of a call's products, the largest being KF: the
 * helper thread copies its strips to scratch + K * 32 bytes (gemm-pool.ts), so products of
 * different K in one staged list would overlap the caller's strips; ending the caller's at
 * scratch + KF * 32 keeps the two threads' strips apart.
 */
const scratchFor = (scr: number, KF: number, K: number) => scr + (KF - K) * 32;

/** Zero the columns of M [T, CO] planes (floats from `m0` in `all`, `planeM` apart) that an input gradient's phase-range products leave (phaseRange). */
function zeroDeadColumns(all: Float32Array, s: WinogradShape, v: Variant, T: number, m0: number, planeM: number): void {
  const c = s.phaseC ?? 0, CO = s.CO;
  if (!c) return;
  for (let xi = 0; xi < v.planes; xi++) {
    const [lo, hi] = phaseRange(v.a, xi, true);
    if (hi - lo === 4) continue;
    for (let t = 0, r = m0 + xi * planeM; t < T; t++, r += CO) {
      if (lo > 0) all.fill(0, r, r + lo * c);
      if (hi < 4) all.fill(0, r + hi * c, r + CO);
    }
  }
}

/**
 * y = A^T m A per tile, m row-major [T, CO] planes `plane` bytes apart (byte offset), into y
 * [B, m TY, m TX, CO] (byte offset; the caller crops odd sizes).
 */
function outputTransform(tw: WinogradSimd, v: Variant, mOff: number, y: number, t: Tiles, CO: number, plane: number): void {
  tw[v.output](...(outputCall(mOff, y, t, CO, plane) as Parameters<MapFn>));
}
function outputCall(mOff: number, y: number, t: Tiles, CO: number, plane: number): number[] {
  const colB = CO * 4, rowB = t.m * t.TX * colB;
  // every row of tiles of every image: y's tile rows are m rows apart throughout
  return [mOff, y, t.TX, CO >> 2, t.a * plane, plane, rowB, colB, colB, t.m * colB, 16, 16, t.B * t.TY, t.TX * colB, t.m * rowB];
}

/** dM = A e A^T per tile, e the m x m tiles of dy [B, m TY, m TX, CO] (byte offset), into row-major [T, CO] planes. */
function dyTransform(tw: WinogradSimd, v: Variant, dy: number, mOff: number, t: Tiles, CO: number, plane: number): void {
  tw[v.dyTile](...(dyCall(dy, mOff, t, CO, plane) as Parameters<MapFn>));
}
function dyCall(dy: number, mOff: number, t: Tiles, CO: number, plane: number): number[] {
  const colB = CO * 4, rowB = t.m * t.TX * colB;
  return [dy, mOff, t.TX, CO >> 2, rowB, colB, t.a * plane, plane, t.m * colB, colB, 16, 16, t.B * t.TY, t.m * rowB, t.TX * colB];
}

/** Copy between [B, OH, OW, C] and its tile-padded [B, m TY, m TX, C] (rows of OW * C floats). */
function copyRows(from: Float32Array, to: Float32Array, s: WinogradShape, t: Tiles, C: number, toPadded: boolean): void {
  const n = s.OW * C;
  for (let b = 0; b < s.B; b++) {
    for (let oy = 0; oy < s.OH; oy++) {
      const o = (b * s.OH + oy) * n, p = (b * t.m * t.TY + oy) * t.m * t.TX * C;
      if (toPadded) to.set(from.subarray(o, o + n), p);
      else to.set(from.subarray(p, p + n), o);
    }
  }
}


const fits = (s: WinogradShape, t: Tiles) => s.OH === t.m * t.TY && s.OW === t.m * t.TX;
/**
 * x is its own padded copy: no padding and exactly the tiles' reach (CycleGAN's residual convs on
 * their reflection-padded 34x34 or 18x18 maps), so the transforms read x in place.
 */
const inPlace = (s: WinogradShape, t: Tiles) => s.padTop === 0 && s.padLeft === 0 && s.H === t.HP && s.W === t.WP;

/**
 * Products another kernel needs beside a Winograd call and independent of it (reflect-conv.ts's
 * ring): run in the call's staged list with its products when it takes that path (`ran` set),
 * else left to the caller.
 */
export interface StagedExtra {
  groups: StagedGroup[];
  /** Work those products need first (stage 0: transpositions, `transposeGroups`). */
  pre: StagedGroup[];
  ran: boolean;
}

/** Staged groups (stage 0) of SIMD transpositions [src, dst, R, C] (winograd-simd.ts createTranspose), one each. */
export function transposeGroups(calls: number[][]): StagedGroup[] {
  // weight: ~0.8 ns a float (the load rule's units, as mapGroups)
  return calls.map((a) => ({ stage: 0, calls: [[STAGED_FN.transpose, ...a]], weight: 8e-4 * a[2]! * a[3]! }));
}

/**
 * The convolution `s` of x with w by F(2x2, 3x3), F(4x4, 3x3) or F(3x3, 4x4) (winogradTile). Forward (`flip`
 * false): w [r, r, CI, CO]. Input gradient (`flip` true): x is dy, and the filter of the conv `s`
 * is w rotated 180 degrees with channels swapped, w given as the forward filter [r, r, CO, CI]
 * (s.CI = its CO).
 */
export function winogradConv(backend: BackendWasm, g: GemmSimd, tw: WinogradSimd, x: TensorInfo, w: TensorInfo, s: WinogradShape, flip: boolean, extra?: StagedExtra): TensorInfo {
  let t0 = phase('', 0);
  const { B, OH, OW, CI, CO } = s;
  const v = variantOf(s);
  const t = tilesOf(s, v);
  const T4 = Math.ceil(t.T / 4) * 4;
  const { HP, WP } = t;
  const NP = v.planes;
  const out = backend.makeOutput([B, OH, OW, CO], 'float32');
  // xp, V, M, the product's strip scratch (2 * K * 8 floats, K = CI) and, for odd sizes, the tile-padded y
  const SKEW = winogradOptions.planeSkew;
  const planeV = T4 * CI + SKEW, planeM = T4 * CO + SKEW;
  const nXp = inPlace(s, t) ? 0 : B * HP * WP * CI, nV = NP * planeV, nM = NP * planeM, nS = 16 * CI + 16;
  const nY = fits(s, t) ? 0 : B * t.m * t.m * t.TY * t.TX * CO;
  const buf = backend.makeOutput([nXp + nV + nM + nS + nY], 'float32');
  t0 = phase(flip ? 'dx.alloc' : 'fwd.alloc', t0);
  const res = fillOutput(backend, out, [buf], () => {
    // Input gradient: a rotated, swapped filter of its own (built once per filter tensor, ~2 ms at
    // 3x3x256) read row-major pays off from ~256 tiles (1 thread, CPU ms per call at 17x17 tiles:
    // 16-17 vs 19); below, F(2x2) reads the forward's U as its transpose (nnRT), which costs less.
    const own = flip && (v !== F2 || T4 >= winogradOptions.flipOwnMinTiles);
    // cached per filter tensor, or (F(4x4,3x3) with many tiles: memory) this call's own, freed below
    const keep = keepsFilterData(s);
    // the whole call as one staged hand-over (not for F(2x2)'s transposed reads of the forward U),
    // a new filter's transform in its first stage
    const staged = winogradOptions.staged && winogradOptions.batchPlanes && (!flip || own) ? stagedRunner(heapMemory(backend)) : null;
    const defer: DeferredFilter | undefined = staged ? { pre: [], calls: [], tmp: [], undo: null } : undefined;
    const uPtr = transformedFilter(backend, tw, v, w, CI * CO, own, keep, defer);
    const planeU = uPlane(CI * CO);
    const base = off(backend, buf);
    const vOff = base + nXp * 4, mOff = vOff + nV * 4, scr = mOff + nM * 4, yOff = scr + nS * 4;
    t0 = phase(flip ? 'dx.filter' : 'fwd.filter', t0);
    try {
      const all = f32(backend, buf);
      if (nXp) padInput(all.subarray(0, nXp), f32(backend, x), s, t);
      if (T4 > t.T) for (let xi = 0; xi < NP; xi++) all.fill(0, nXp + xi * planeV + t.T * CI, nXp + (xi + 1) * planeV);
      const products = convProducts(s, v, flip, vOff, uPtr, mOff, planeV * 4, planeU * 4, planeM * 4);
      if (flip) zeroDeadColumns(all, s, v, t.T, nXp + nV, planeM);
      t0 = phase(flip ? 'dx.pad' : 'fwd.pad', t0);
      if (staged) {
        const parts = winogradOptions.stagedParts;
        // stage 0: transpositions (the rotated filter's, the ring's taps) and the input
        // transform; the filter transform after the transpositions it reads (else in stage 0 too);
        // stage 2: the products; stage 3: the output transform
        staged([
          ...transposeGroups(defer!.pre),
          ...(extra?.pre ?? []),
          ...mapGroups(v.input, inputCalls(nXp ? base : off(backend, x), vOff, t, CI, planeV * 4, false), 0, parts),
          ...mapGroups(v.filter, defer!.calls, defer!.pre.length ? 1 : 0, parts),
          ...products.map((p) => ({ stage: 2, calls: [[STAGED_FN.nnR, p[0]!, p[1]!, p[2]!, T4 >> 2, p[3]!, p[4]!, scratchFor(scr, CI, p[3]!), p[5]!, p[6]!]], weight: 4.5e-5 * T4 * p[3]! * p[4]! })),
          ...(extra?.groups.map((gr) => ({ ...gr, stage: 2 })) ?? []),
          ...mapGroups(v.output, [outputCall(mOff, nY ? yOff : off(backend, out), t, CO, planeM * 4)], 3, parts),
        ]);
        if (extra) extra.ran = true;
        defer!.undo = null;
        t0 = phase(flip ? 'dx.staged' : 'fwd.staged', t0);
      } else {
        inputTransform(tw, v, nXp ? base : off(backend, x), vOff, t, CI, planeV * 4, false);
        t0 = phase(flip ? 'dx.in' : 'fwd.in', t0);
        // M = V . U (U [CI, CO]) per plane; F(2x2) input gradient without its own U: the forward's U
        // [CO, CI] plane (SIGMA i, SIGMA j) read as its transpose
        if (s.phaseC) {
          // phase ranges: one product per plane (the ranged ones whole on the caller)
          for (const p of products) g.nnR(p[0]!, p[1]!, p[2]!, T4 >> 2, p[3]!, p[4]!, scratchFor(scr, CI, p[3]!), p[5]!, p[6]!);
        } else if (flip && !own) {
          for (let xi = 0; xi < NP; xi++) g.nnRT(vOff + xi * planeV * 4, uPtr + (SIGMA[xi >> 2]! * 4 + SIGMA[xi & 3]!) * planeU * 4, mOff + xi * planeM * 4, T4 >> 2, CI, CO, scr);
        } else if (g.batch && winogradOptions.batchPlanes) g.batch('nnR', NP, planeV * 4, planeU * 4, planeM * 4, vOff, uPtr, mOff, T4 >> 2, CI, CO, scr);
        else for (let xi = 0; xi < NP; xi++) g.nnR(vOff + xi * planeV * 4, uPtr + xi * planeU * 4, mOff + xi * planeM * 4, T4 >> 2, CI, CO, scr);
      }
    } finally {
      // a deferred transform that did not run must not stay cached
      defer?.undo?.();
      if (defer) release(backend, ...defer.tmp);
      if (!keep) (backend.wasm as unknown as WasmMalloc)._free(uPtr);
    }
    if (!staged) {
      t0 = phase(flip ? 'dx.prod' : 'fwd.prod', t0);
      outputTransform(tw, v, mOff, nY ? yOff : off(backend, out), t, CO, planeM * 4);
      t0 = phase(flip ? 'dx.out' : 'fwd.out', t0);
    }
    if (nY) copyRows(f32(backend, buf).subarray(nXp + nV + nM + nS), f32(backend, out), s, t, CO, false);
    t0 = phase(flip ? 'dx.crop' : 'fwd.crop', t0);
    if (flip) winogradCalls.backpropInput++;
    else winogradCalls.forward++;
    if (v === F4) winogradCalls.f4++;
    if (v === F34) winogradCalls.k4++;
  });
  phase(flip ? 'dx.free' : 'fwd.free', t0);
  return res;
}

/**
 * The filter gradient of the convolution `s` (x [B, H, W, CI], dy [B, OH, OW, CO]) by F(2x2,
 * 3x3), F(4x4, 3x3) or F(3x3, 4x4): dw [r, r, CI, CO].
 */
export function winogradFilterGrad(backend: BackendWasm, g: GemmSimd, tw: WinogradSimd, x: TensorInfo, dy: TensorInfo, s: WinogradShape): TensorInfo {
  const { B, CI, CO } = s;
  const v = variantOf(s);
  const t = tilesOf(s, v);
  const T = t.T;
  const NP = v.planes;
  const { HP, WP } = t;
  const out = backend.makeOutput([v.r, v.r, CI, CO], 'float32');
  // xp, V^T (interleaved by 4 channels), dM, dU (planes planeSkew floats apart beyond their size), the
  // product's strip scratch (2 * K * 8 floats, K = T), tile-padded dy for odd sizes
  const SKEW = winogradOptions.planeSkew;
  const planeV = T * CI + SKEW, planeM = T * CO + SKEW, planeU = CI * CO + SKEW;
  const nXp = inPlace(s, t) ? 0 : B * HP * WP * CI, nV = NP * planeV, nM = NP * planeM, nU = NP * planeU, nS = 16 * T + 16;
  const nDy = fits(s, t) ? 0 : B * t.m * t.m * t.TY * t.TX * CO;
  const buf = backend.makeOutput([nXp + nV + nM + nU + nS + nDy], 'float32');
  return fillOutput(backend, out, [buf], () => {
    let t0 = phase('', 0);
    const all = f32(backend, buf);
    if (nXp) padInput(all.subarray(0, nXp), f32(backend, x), s, t);
    const base = off(backend, buf);
    const vOff = base + nXp * 4, mOff = vOff + nV * 4, uOff = mOff + nM * 4, scr = uOff + nU * 4, dyOff = scr + nS * 4;
    if (nDy) {
      const dyp = all.subarray(nXp + nV + nM + nU + nS);
      dyp.fill(0);
      copyRows(f32(backend, dy), dyp, s, t, CO, true);
    }
    t0 = phase('dw.pad', t0);
    // phase ranges (s.phaseC): dU's rows of the blocks phaseRange keeps, the others zero (G^T dU
    // G reads them for the taps that are not in the filter: kept finite)
    const products: number[][] = [];
    const c = s.phaseC ?? 0;
    for (let xi = 0; xi < NP; xi++) {
      const [lo, hi] = c ? phaseRange(v.a, xi, false) : [0, 4];
      const u0 = nXp + nV + nM + xi * planeU;
      if (lo > 0) all.fill(0, u0, u0 + lo * c * CO);
      if (hi < 4) all.fill(0, u0 + hi * c * CO, u0 + CI * CO);
      // V^T interleaved [CI/4, T, 4]: a block of 4 channels is T * 16 bytes
      products.push([vOff + xi * planeV * 4 + lo * c * T * 4, mOff + xi * planeM * 4, uOff + xi * planeU * 4 + lo * c * CO * 4, c ? ((hi - lo) * c) >> 2 : CI >> 2]);
    }
    const pb = CI * CO * 4;
    const gtCall = [uOff, off(backend, out), 1, (CI * CO) >> 2, v.a * planeU * 4, planeU * 4, v.r * pb, pb, 0, 0, 16, 16, 1, 0, 0];
    const staged = winogradOptions.staged && winogradOptions.batchPlanes ? stagedRunner(heapMemory(backend)) : null;
    if (staged) {
      // one hand-over: V^T and dM, the products, G^T dU G (gemm-pool.ts stagedRun)
      const parts = winogradOptions.stagedParts;
      staged([
        ...mapGroups(v.input, inputCalls(nXp ? base : off(backend, x), vOff, t, CI, planeV * 4, true), 0, parts),
        ...mapGroups(v.dyTile, [dyCall(nDy ? dyOff : off(backend, dy), mOff, t, CO, planeM * 4)], 0, parts),
        ...products.map((p) => ({ stage: 1, calls: [[STAGED_FN.nn, p[0]!, p[1]!, p[2]!, p[3]!, T, CO, scr]], weight: 4.5e-5 * 4 * p[3]! * T * CO })),
        ...mapGroups(v.filterGrad, [gtCall], 2, 2 * parts),
      ]);
      phase('dw.staged', t0);
    } else {
      inputTransform(tw, v, nXp ? base : off(backend, x), vOff, t, CI, planeV * 4, true);
      t0 = phase('dw.in', t0);
      dyTransform(tw, v, nDy ? dyOff : off(backend, dy), mOff, t, CO, planeM * 4);
      t0 = phase('dw.dy', t0);
      // dU[xi] [CI, CO] = V[xi]^T . dM[xi]: A = V^T in nn's interleaved layout, K = T
      if (c) for (const p of products) g.nn(p[0]!, p[1]!, p[2]!, p[3]!, T, CO, scr);
      else if (g.batch && winogradOptions.batchPlanes) g.batch('nn', NP, planeV * 4, planeM * 4, planeU * 4, vOff, mOff, uOff, CI >> 2, T, CO, scr);
      else for (let xi = 0; xi < NP; xi++) g.nn(vOff + xi * planeV * 4, mOff + xi * planeM * 4, uOff + xi * planeU * 4, CI >> 2, T, CO, scr);
      // dw[ky][kx] = (G^T du G)[ky][kx]: planes a i + j of dU in, r ky + kx of dw out
      t0 = phase('dw.prod', t0);
      tw[v.filterGrad](...(gtCall as Parameters<MapFn>));
      phase('dw.gt', t0);
    }
    winogradCalls.backpropFilter++;
    if (v === F4) winogradCalls.f4++;
    if (v === F34) winogradCalls.k4++;
  });
}
