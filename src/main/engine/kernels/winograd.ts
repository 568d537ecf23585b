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
 * K - 1 - pad) with the filter rotated 180 degrees and its channels swapped; here U is the
 * transform of the tap-flipped filter in its own [CI, CO] layout and the product reads it as
 * the transpose (nnRT), so the rotated, swapped copy is never built.
 *
 * The transforms are exact in real arithmetic; in float32 they add rounding of the order of
 * 1e-6 relative to the sums (tests hold them to 1e-4 of the cpu backend).
 */
import type { GemmSimd } from './gemm-simd';
import { type BackendWasm, type TensorInfo, heapF32 as f32, heapOffset as off, release } from './wasm-util';

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
  /** Both channel counts at least this (the filter transform is CI*CO work per call). */
  minChannels: 64,
  /** Bound on the V and M buffers (floats). */
  maxFloats: 1 << 24,
};
export const winogradCalls = { forward: 0, backpropInput: 0 };

export function winogradApplies(s: WinogradShape): boolean {
  const T = s.B * Math.ceil(s.OH / 2) * Math.ceil(s.OW / 2);
  const T4 = Math.ceil(T / 4) * 4;
  return (
    winogradOptions.enabled && s.CI >= winogradOptions.minChannels && s.CO >= winogradOptions.minChannels &&
    s.CO % 8 === 0 && s.CI % 8 === 0 && s.OH >= 2 && s.OW >= 2 && 16 * T4 * Math.max(s.CI, s.CO) <= winogradOptions.maxFloats
  );
}

/**
 * U[xi][ci][co] = (G g G^T)[xi] with g[ky][kx] = w[ky, kx, ci, co], w [3, 3, CI, CO]. Pairs
 * (ci, co) are contiguous in w and in U. Written through a
 * small staging block: writing the 16 planes directly is 16 concurrent store streams 4 MB apart
 * (plus 9 read streams), which measured ~70 ns per pair inside a training step.
 */
const STAGE = 256;
let stage = new Float32Array(16 * STAGE);
function filterTransform(w: Float32Array, u: Float32Array, pairs: number): void {
  const t = (k: number) => k * pairs;
  const [o0, o1, o2, o3, o4, o5, o6, o7, o8] = [t(0), t(1), t(2), t(3), t(4), t(5), t(6), t(7), t(8)];
  if (stage.length < 16 * STAGE) stage = new Float32Array(16 * STAGE);
  const s = stage;
  for (let i0 = 0; i0 < pairs; i0 += STAGE) {
    const n = Math.min(STAGE, pairs - i0);
    for (let j = 0; j < n; j++) {
      const i = i0 + j;
      const g00 = w[o0 + i]!, g01 = w[o1 + i]!, g02 = w[o2 + i]!;
      const g10 = w[o3 + i]!, g11 = w[o4 + i]!, g12 = w[o5 + i]!;
      const g20 = w[o6 + i]!, g21 = w[o7 + i]!, g22 = w[o8 + i]!;
      // rows of G g: r0 = g0, r1 = (g0 + g1 + g2) / 2, r2 = (g0 - g1 + g2) / 2, r3 = g2
      const a0 = g00, a1 = g01, a2 = g02;
      const b0 = 0.5 * (g00 + g10 + g20), b1 = 0.5 * (g01 + g11 + g21), b2 = 0.5 * (g02 + g12 + g22);
      const c0 = 0.5 * (g00 - g10 + g20), c1 = 0.5 * (g01 - g11 + g21), c2 = 0.5 * (g02 - g12 + g22);
      const d0 = g20, d1 = g21, d2 = g22;
      // columns: (r0, (r0 + r1 + r2) / 2, (r0 - r1 + r2) / 2, r2) for each row r
      s[j] = a0;
      s[STAGE + j] = 0.5 * (a0 + a1 + a2);
      s[2 * STAGE + j] = 0.5 * (a0 - a1 + a2);
      s[3 * STAGE + j] = a2;
      s[4 * STAGE + j] = b0;
      s[5 * STAGE + j] = 0.5 * (b0 + b1 + b2);
      s[6 * STAGE + j] = 0.5 * (b0 - b1 + b2);
      s[7 * STAGE + j] = b2;
      s[8 * STAGE + j] = c0;
      s[9 * STAGE + j] = 0.5 * (c0 + c1 + c2);
      s[10 * STAGE + j] = 0.5 * (c0 - c1 + c2);
      s[11 * STAGE + j] = c2;
      s[12 * STAGE + j] = d0;
      s[13 * STAGE + j] = 0.5 * (d0 + d1 + d2);
      s[14 * STAGE + j] = 0.5 * (d0 - d1 + d2);
      s[15 * STAGE + j] = d2;
    }
    for (let xi = 0; xi < 16; xi++) u.set(s.subarray(xi * STAGE, xi * STAGE + n), xi * pairs + i0);
  }
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
const uCaches = new WeakMap<BackendWasm, Map<object, CachedU>>();
interface WasmMalloc {
  _malloc(n: number): number;
  _free(p: number): void;
}

/** Free the cached transforms whose filter was disposed; returns how many stay. */
export function winogradCacheSweep(backend: BackendWasm): number {
  const cache = uCaches.get(backend);
  if (!cache) return 0;
  const wasm = backend.wasm as unknown as WasmMalloc;
  for (const [id, c] of cache) {
    if (!backend.dataIdMap.has(id)) {
      wasm._free(c.ptr);
      cache.delete(id);
    }
  }
  return cache.size;
}

/** Byte offset of U [16, CI, CO] for filter w (transformed now, or cached). */
function transformedFilter(backend: BackendWasm, w: TensorInfo, pairs: number): number {
  winogradCacheSweep(backend);
  let cache = uCaches.get(backend);
  if (!cache) uCaches.set(backend, (cache = new Map()));
  const hit = cache.get(w.dataId);
  if (hit && hit.floats === 16 * pairs) return hit.ptr;
  const wasm = backend.wasm as unknown as WasmMalloc;
  const ptr = wasm._malloc(16 * pairs * 4) >>> 0;
  if (ptr === 0) throw new Error('winograd: out of wasm memory');
  // views after the allocation (it may grow the heap)
  const buf = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer;
  filterTransform(f32(backend, w), new Float32Array(buf, ptr, 16 * pairs), pairs);
  if (hit) wasm._free(hit.ptr);
  cache.set(w.dataId, { ptr, floats: 16 * pairs });
  return ptr;
}

/**
 * Input gradient: the filter rotated 180 degrees. G flip(g) is G g with rows 0 and 3 swapped, so
 * the rotated filter's plane (i, j) is the forward plane (SIGMA[i], SIGMA[j]).
 */
const SIGMA = [3, 1, 2, 0];

/**
 * V[xi][t][c] = (B^T d B)[xi] for tile t's 4x4 patch of xp (x zero-padded to [B, HP, WP, C] so
 * that every patch is inside). Rows T..T4 of each plane are left zero by the caller.
 */
function inputTransform(xp: Float32Array, v: Float32Array, B: number, TY: number, TX: number, HP: number, WP: number, C: number, plane: number): void {
  const row = WP * C;
  let t = 0;
  for (let b = 0; b < B; b++) {
    for (let ty = 0; ty < TY; ty++) {
      for (let tx = 0; tx < TX; tx++, t++) {
        const p0 = ((b * HP + 2 * ty) * WP + 2 * tx) * C;
        const p1 = p0 + row, p2 = p1 + row, p3 = p2 + row;
        const vt = t * C;
        for (let c = 0; c < C; c++) {
          const d00 = xp[p0 + c]!, d01 = xp[p0 + C + c]!, d02 = xp[p0 + 2 * C + c]!, d03 = xp[p0 + 3 * C + c]!;
          const d10 = xp[p1 + c]!, d11 = xp[p1 + C + c]!, d12 = xp[p1 + 2 * C + c]!, d13 = xp[p1 + 3 * C + c]!;
          const d20 = xp[p2 + c]!, d21 = xp[p2 + C + c]!, d22 = xp[p2 + 2 * C + c]!, d23 = xp[p2 + 3 * C + c]!;
          const d30 = xp[p3 + c]!, d31 = xp[p3 + C + c]!, d32 = xp[p3 + 2 * C + c]!, d33 = xp[p3 + 3 * C + c]!;
          // rows of B^T d: (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
          const a0 = d00 - d20, a1 = d01 - d21, a2 = d02 - d22, a3 = d03 - d23;
          const b0 = d10 + d20, b1 = d11 + d21, b2 = d12 + d22, b3 = d13 + d23;
          const e0 = d20 - d10, e1 = d21 - d11, e2 = d22 - d12, e3 = d23 - d13;
          const f0 = d10 - d30, f1 = d11 - d31, f2 = d12 - d32, f3 = d13 - d33;
          // then the same on the columns of each row
          let k = vt + c;
          v[k] = a0 - a2; k += plane;
          v[k] = a1 + a2; k += plane;
          v[k] = a2 - a1; k += plane;
          v[k] = a1 - a3; k += plane;
          v[k] = b0 - b2; k += plane;
          v[k] = b1 + b2; k += plane;
          v[k] = b2 - b1; k += plane;
          v[k] = b1 - b3; k += plane;
          v[k] = e0 - e2; k += plane;
          v[k] = e1 + e2; k += plane;
          v[k] = e2 - e1; k += plane;
          v[k] = e1 - e3; k += plane;
          v[k] = f0 - f2; k += plane;
          v[k] = f1 + f2; k += plane;
          v[k] = f2 - f1; k += plane;
          v[k] = f1 - f3;
        }
      }
    }
  }
}

/** y[b, 2ty + i, 2tx + j, co] = (A^T m A)[i][j], inside [OH, OW]. */
function outputTransform(m: Float32Array, y: Float32Array, B: number, TY: number, TX: number, OH: number, OW: number, CO: number, plane: number): void {
  let t = 0;
  for (let b = 0; b < B; b++) {
    for (let ty = 0; ty < TY; ty++) {
      for (let tx = 0; tx < TX; tx++, t++) {
        const oy = 2 * ty, ox = 2 * tx;
        const y00 = ((b * OH + oy) * OW + ox) * CO;
        const y01 = y00 + CO, y10 = y00 + OW * CO, y11 = y10 + CO;
        const right = ox + 1 < OW, down = oy + 1 < OH;
        const mt = t * CO;
        for (let co = 0; co < CO; co++) {
          let k = mt + co;
          const m00 = m[k]!; k += plane; const m01 = m[k]!; k += plane; const m02 = m[k]!; k += plane; const m03 = m[k]!; k += plane;
          const m10 = m[k]!; k += plane; const m11 = m[k]!; k += plane; const m12 = m[k]!; k += plane; const m13 = m[k]!; k += plane;
          const m20 = m[k]!; k += plane; const m21 = m[k]!; k += plane; const m22 = m[k]!; k += plane; const m23 = m[k]!; k += plane;
          const m30 = m[k]!; k += plane; const m31 = m[k]!; k += plane; const m32 = m[k]!; k += plane; const m33 = m[k]!;
          // rows of A^T m: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3
          const s00 = m00 + m10 + m20, s01 = m01 + m11 + m21, s02 = m02 + m12 + m22, s03 = m03 + m13 + m23;
          const s10 = m10 - m20 - m30, s11 = m11 - m21 - m31, s12 = m12 - m22 - m32, s13 = m13 - m23 - m33;
          y[y00 + co] = s00 + s01 + s02;
          if (right) y[y01 + co] = s01 - s02 - s03;
          if (down) {
            y[y10 + co] = s10 + s11 + s12;
            if (right) y[y11 + co] = s11 - s12 - s13;
          }
        }
      }
    }
  }
}

/**
 * The convolution `s` of x with w by F(2x2, 3x3). Forward (`flip` false): w [3, 3, CI, CO].
 * Input gradient (`flip` true): x is dy, and the filter of the conv `s` is w rotated 180 degrees
 * with channels swapped, w given as the forward filter [3, 3, CO, CI] (s.CI = its CO).
 */
export function winogradConv(backend: BackendWasm, g: GemmSimd, x: TensorInfo, w: TensorInfo, s: WinogradShape, flip: boolean): TensorInfo {
  const { B, H, W, CI, OH, OW, CO, padTop, padLeft } = s;
  const TY = Math.ceil(OH / 2), TX = Math.ceil(OW / 2);
  const T = B * TY * TX;
  const T4 = Math.ceil(T / 4) * 4;
  const HP = 2 * TY + 2, WP = 2 * TX + 2;
  const out = backend.makeOutput([B, OH, OW, CO], 'float32');
  // xp, V, M and the product's strip scratch (2 * K * 8 floats, K = CI) in one buffer
  const nXp = B * HP * WP * CI, nV = 16 * T4 * CI, nM = 16 * T4 * CO;
  const buf = backend.makeOutput([nXp + nV + nM + 16 * CI + 16], 'float32');
  try {
    const uPtr = transformedFilter(backend, w, CI * CO);
    const all = f32(backend, buf);
    const xp = all.subarray(0, nXp);
    const v = all.subarray(nXp, nXp + nV);
    const xv = f32(backend, x);
    xp.fill(0);
    // zero-padded copy: x[b, iy, ix] at xp[b, iy + padTop, ix + padLeft], clipped to the tiles' reach
    for (let b = 0; b < B; b++) {
      for (let iy = Math.max(0, -padTop); iy < H && iy + padTop < HP; iy++) {
        const ix0 = Math.max(0, -padLeft);
        const ix1 = Math.min(W, WP - padLeft);
        if (ix1 <= ix0) continue;
        const src = ((b * H + iy) * W + ix0) * CI;
        xp.set(xv.subarray(src, src + (ix1 - ix0) * CI), ((b * HP + iy + padTop) * WP + ix0 + padLeft) * CI);
      }
    }
    const planeV = T4 * CI;
    if (T4 > T) for (let xi = 0; xi < 16; xi++) v.fill(0, xi * planeV + T * CI, (xi + 1) * planeV);
    inputTransform(xp, v, B, TY, TX, HP, WP, CI, planeV);
    const base = off(backend, buf);
    const vOff = base + nXp * 4, mOff = vOff + nV * 4, scr = mOff + nM * 4;
    for (let xi = 0; xi < 16; xi++) {
      const uPlane = flip ? SIGMA[xi >> 2]! * 4 + SIGMA[xi & 3]! : xi;
      const a = vOff + xi * T4 * CI * 4, bm = uPtr + uPlane * CI * CO * 4, c = mOff + xi * T4 * CO * 4;
      // forward: M = V . U (U [CI, CO]); input gradient: U is [CO, CI] of the forward filter, read as its transpose
      if (flip) g.nnRT(a, bm, c, T4 >> 2, CI, CO, scr);
      else g.nnR(a, bm, c, T4 >> 2, CI, CO, scr);
    }
    outputTransform(f32(backend, buf).subarray(nXp + nV, nXp + nV + nM), f32(backend, out), B, TY, TX, OH, OW, CO, T4 * CO);
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
