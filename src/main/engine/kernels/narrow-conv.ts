/**
 * Conv2DBackpropFilter when one side has very few channels: the 7x7 64 -> 3 output layer of the
 * ResNet generator (CO = 3) and its 3 -> 64 input layer (CI = 3), PatchGAN's 512 -> 1 last layer.
 *
 * The product path (small-conv.ts) needs CO % 8 == 0 and writes KH*KW*CI x P patches: for the
 * 64 -> 3 layer at 128 px that is 51M floats, so it took XNNPACK's path (x and dy transposed, dy
 * packed as a 3-channel filter): ~70 ms per call at ~2 GMAC/s, 427 ms of a 128 px step.
 *
 * Here each tap is accumulated in place, without patches:
 *
 *   dW[ky, kx, c, co] = sum_{b, oy, ox} x[b, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c] * dy[b, oy, ox, co]
 *
 * One side is "wide" (a multiple of 4 channels, read as f32x4 lanes), the other "narrow" (n <= 4
 * channels, each broadcast): for each tap and each chunk of G groups of 4 wide channels, one
 * generated SIMD function runs over the rectangle of output pixels whose tap lands inside x,
 * keeping G*n accumulators in registers (G*n <= 10: with 12 for n = 3, V8 spilled and the loop
 * ran ~2x slower). With CO narrow, x is the wide side (read at
 * the tap's offset); with CI narrow, dy is. Sums run over pixels in order (b, oy, ox).
 */
import * as tf from '@tensorflow/tfjs';
import { gemmOptions, relaxedSimd } from './gemm-simd';
import { I32, V128, get, instantiateOn, isSharedMemory, memoryImport, section, set, simd, str, uleb, vec } from './wasm-asm';
import { type BackendWasm, type TensorInfo, heapF32 as f32, heapMemory, heapOffset as off, release } from './wasm-util';

export const narrowConvOptions = { enabled: process.env.ATELIER_NARROW_WGRAD !== '0', maxNarrow: 4 };
/** Calls that took this path (tests check it). */
export const narrowConvCalls = { backpropFilter: 0 };

/** Groups of 4 wide channels per call for n narrow channels (G * n accumulators <= 10). */
export const groupsFor = (n: number) => Math.min(4, Math.floor(10 / n));

type TapFn = (w: number, wRow: number, wPix: number, nq: number, nRow: number, nPix: number, rows: number, cols: number, acc: number) => void;

/**
 * acc[g][j] (f32x4, at acc + (g*n + j)*16) += sum over rows x cols pixels of
 * wide[pixel][g] (f32x4 at w + 16g) * narrow[pixel][j] (f32 at nq + 4j, broadcast);
 * pixel (r, c) is at w + r*wRow + c*wPix and nq + r*nRow + c*nPix (bytes).
 */
function tapFunc(n: number, G: number, fma: boolean): number[] {
  const [W, WROW, WPIX, N, NROW, NPIX, ROWS, COLS, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const WQ = 9, NQ = 10, C = 11; // i32
  const D = (j: number) => 12 + j; // v128: broadcast narrow values
  const V = 12 + n; // v128: wide group
  const A = (g: number, j: number) => 13 + n + g * n + j;
  const load = (o: number) => [...simd(0x00), 0, ...uleb(o)];
  const store = (o: number) => [...simd(0x0b), 0, ...uleb(o)];
  const splat = (o: number) => [...simd(0x09), 0, ...uleb(o)]; // v128.load32_splat
  const mac = (acc: number) =>
    fma ? [...get(V), ...get(D(acc % n)), ...get(A(Math.floor(acc / n), acc % n)), ...simd(0x105), ...set(A(Math.floor(acc / n), acc % n))]
      : [...get(A(Math.floor(acc / n), acc % n)), ...get(V), ...get(D(acc % n)), ...simd(0xe6), ...simd(0xe4), ...set(A(Math.floor(acc / n), acc % n))];
  const add = (l: number, by: number) => [...get(l), ...get(by), 0x6a, ...set(l)];
  const LOOP = [0x03, 0x40], BLOCK = [0x02, 0x40], END = [0x0b];
  const countDown = (l: number) => [...get(l), 0x41, 1, 0x6b, 0x22, ...uleb(l), 0x0d, 0];
  const b: number[] = [...vec([[3, I32], [n + 1 + G * n, V128]])];
  for (let g = 0; g < G; g++) for (let j = 0; j < n; j++) b.push(...get(ACC), ...load((g * n + j) * 16), ...set(A(g, j)));
  b.push(...BLOCK, ...get(ROWS), 0x45, 0x0d, 0, ...get(COLS), 0x45, 0x0d, 0, ...LOOP);
  b.push(...get(W), ...set(WQ), ...get(N), ...set(NQ), ...get(COLS), ...set(C));
  b.push(...LOOP);
  for (let j = 0; j < n; j++) b.push(...get(NQ), ...splat(4 * j), ...set(D(j)));
  for (let g = 0; g < G; g++) {
    b.push(...get(WQ), ...load(16 * g), ...set(V));
    for (let j = 0; j < n; j++) b.push(...mac(g * n + j));
  }
  b.push(...add(WQ, WPIX), ...add(NQ, NPIX), ...countDown(C), ...END);
  b.push(...add(W, WROW), ...add(N, NROW), ...countDown(ROWS), ...END, ...END);
  for (let g = 0; g < G; g++) for (let j = 0; j < n; j++) b.push(...get(ACC), ...get(A(g, j)), ...store((g * n + j) * 16));
  b.push(...END);
  return b;
}

/** Module exporting t<n>_<G> for n = 1..maxNarrow and G = 1..groupsFor(n). */
export function narrowModule(shared: boolean, fma: boolean, maxNarrow: number): { bytes: Uint8Array; names: string[] } {
  const fns: number[][] = [];
  const names: string[] = [];
  for (let n = 1; n <= maxNarrow; n++) {
    for (let G = 1; G <= groupsFor(n); G++) {
      fns.push(tapFunc(n, G, fma));
      names.push(`t${n}_${G}`);
    }
  }
  const type = [0x60, ...vec(new Array(9).fill([I32])), 0];
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...memoryImport(shared),
    ...section(3, vec(fns.map(() => [0]))),
    ...section(7, vec(names.map((nm, i) => [...str(nm), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((f) => [...uleb(f.length), ...f]))),
  ]);
  return { bytes, names };
}

const cache = new WeakMap<object, Record<string, TapFn> | null>();
function tapFns(backend: BackendWasm): Record<string, TapFn> | null {
  const memory = heapMemory(backend);
  if (!memory) return null;
  if (!cache.has(memory)) {
    let fns: Record<string, TapFn> | null = null;
    try {
      fns = instantiateOn(memory, narrowModule(isSharedMemory(memory), gemmOptions.fma && relaxedSimd(), narrowConvOptions.maxNarrow).bytes) as Record<string, TapFn>;
    } catch {
      fns = null;
    }
    cache.set(memory, fns);
  }
  return cache.get(memory)!;
}

/** Output pixels o in [lo, hi) whose tap offset o*s + t lands in [0, n). */
function validRange(out: number, s: number, t: number, n: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-t / s));
  const hi = Math.min(out, Math.floor((n - 1 - t) / s) + 1);
  return [lo, Math.max(lo, hi)];
}

/** dW [KH, KW, CI, CO] when CO or CI is narrow (<= maxNarrow) and the other a multiple of 4; else null. */
export function narrowBackpropFilter(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const max = narrowConvOptions.maxNarrow;
  const coNarrow = CO <= max && CI % 4 === 0;
  const ciNarrow = !coNarrow && CI <= max && CO % 4 === 0;
  if (!narrowConvOptions.enabled || !(coNarrow || ciNarrow) || x.dtype !== 'float32' || dy.dtype !== 'float32' || B * OH * OW === 0) return null;
  const fns = tapFns(backend);
  if (!fns) return null;
  const n = coNarrow ? CO : CI;
  const wideC = coNarrow ? CI : CO;
  const groups = wideC >> 2;
  const G = groupsFor(n);
  const taps = KH * KW;
  const accT = backend.makeOutput([taps * groups * n * 4], 'float32');
  const out = backend.makeOutput([KH, KW, CI, CO], 'float32');
  try {
    f32(backend, accT).fill(0);
    const xp = off(backend, x), dp = off(backend, dy), ap = off(backend, accT);
    const pt = info.padInfo.top, pl = info.padInfo.left;
    for (let b = 0; b < B; b++) {
      for (let ky = 0; ky < KH; ky++) {
        const ty = ky * dh - pt;
        const [oy0, oy1] = validRange(OH, sh, ty, H);
        if (oy1 <= oy0) continue;
        for (let kx = 0; kx < KW; kx++) {
          const tx = kx * dw - pl;
          const [ox0, ox1] = validRange(OW, sw, tx, W);
          if (ox1 <= ox0) continue;
          const xAt = xp + ((b * H + oy0 * sh + ty) * W + ox0 * sw + tx) * CI * 4;
          const xRow = sh * W * CI * 4, xPix = sw * CI * 4;
          const dAt = dp + ((b * OH + oy0) * OW + ox0) * CO * 4;
          const dRow = OW * CO * 4, dPix = CO * 4;
          const [w, wRow, wPix, nq, nRow, nPix] = coNarrow ? [xAt, xRow, xPix, dAt, dRow, dPix] : [dAt, dRow, dPix, xAt, xRow, xPix];
          const tapAcc = ap + (ky * KW + kx) * groups * n * 16;
          for (let g0 = 0; g0 < groups; g0 += G) {
            const g = Math.min(G, groups - g0);
            fns[`t${n}_${g}`]!(w + g0 * 16, wRow, wPix, nq, nRow, nPix, oy1 - oy0, ox1 - ox0, tapAcc + g0 * n * 16);
          }
        }
      }
    }
    // acc [tap][g][j][lane] -> dW [tap][ci][co]: lanes are ci (CO narrow) or co (CI narrow)
    const a = f32(backend, accT);
    const o = f32(backend, out);
    for (let t = 0; t < taps; t++) {
      for (let g = 0; g < groups; g++) {
        for (let j = 0; j < n; j++) {
          const s = ((t * groups + g) * n + j) * 4;
          for (let l = 0; l < 4; l++) {
            const wideIdx = g * 4 + l;
            o[t * CI * CO + (coNarrow ? wideIdx * CO + j : j * CO + wideIdx)] = a[s + l]!;
          }
        }
      }
    }
    narrowConvCalls.backpropFilter++;
    return out;
  } catch (e) {
    release(backend, out);
    throw e;
  } finally {
    release(backend, accT);
  }
}
