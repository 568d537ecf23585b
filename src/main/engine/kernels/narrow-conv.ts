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
import { BLOCK, END, I32, LOOP, V128, countDown, get, instantiateOn, isSharedMemory, set, simd, uleb, vec, perMemory, fnType, wasmModule } from './wasm-asm';
import { CallList, registerPoolModule } from './pool-calls';
import { type BackendWasm, type TensorInfo, fillOutput, heapF32 as f32, heapMemory, heapOffset as off } from './wasm-util';

export const narrowConvOptions = {
  enabled: process.env.ATELIER_NARROW_WGRAD !== '0',
  maxNarrow: 4,
  /** Stride-1 input gradients to <= maxNarrow channels by narrowForward (conv2d-backprop-input.ts); ATELIER_NARROW_DX=0 for A/B. */
  narrowDx: process.env.ATELIER_NARROW_DX !== '0',
};
/** Calls that took this path (tests check it). */
export const narrowConvCalls = { backpropFilter: 0, forward: 0, wideForward: 0 };

/** Groups of 4 wide channels per call for n narrow channels (G * n accumulators <= 10). */
export const groupsFor = (n: number) => Math.min(4, Math.floor(10 / n));

type TapFn = (...args: number[]) => void;

// v128 memory access at a constant offset (alignment hint 0), shared by the generated functions.
const load = (o: number) => [...simd(0x00), 0, ...uleb(o)];
const store = (o: number) => [...simd(0x0b), 0, ...uleb(o)];
const splat = (o: number) => [...simd(0x09), 0, ...uleb(o)]; // v128.load32_splat
const ZERO = [...simd(0x0c), ...new Array<number>(16).fill(0)];
/** acc += x * w (f32x4 locals), fused where relaxed SIMD has it. */
const macLocals = (fma: boolean, acc: number, x: number, w: number) =>
  fma ? [...get(x), ...get(w), ...get(acc), ...simd(0x105), ...set(acc)] : [...get(acc), ...get(x), ...get(w), ...simd(0xe6), ...simd(0xe4), ...set(acc)];

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
  const mac = (acc: number) => macLocals(fma, A(Math.floor(acc / n), acc % n), V, D(acc % n));
  const add = (l: number, by: number) => [...get(l), ...get(by), 0x6a, ...set(l)];
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

/**
 * Forward convolution with a narrow input (CI = m <= 4) and CO % 4 == 0: used for the input
 * gradient of the generator's 7x7 64 -> 3 last layer (a convolution of dy, 3 channels, with the
 * rotated filter): 27-29 -> 21-25 ms CPU per call at 128 px, 1 thread, wall about even with the
 * XNNPACK phase path on 2 threads. (For the 7x7 3 -> 64 forward it saved ~10% CPU on one thread
 * but XNNPACK's two threads were as fast or faster in wall time, so that layer stays there.) For fixed ky the taps of an output pixel are a contiguous run of
 * L = KW*m floats of x; each is broadcast and multiplies the filter row W[ky][l][co0 .. co0+4G).
 *
 * wide<pb>_<G>(x, xRow, xPix, inRow, w, wStride, y, yPix, rows, cols, KH, L): for pixel (r, c),
 * y + (r*cols + c)*yPix + 16g (f32x4, g < G) = sum_ky sum_l x[r*xRow + c*xPix + ky*inRow + 4l] * w[(ky*L + l)*wStride + 16g]
 */
function wideFunc(pb: number, G: number, fma: boolean): number[] {
  const [X, XROW, XPIX, INROW, Wp, WSTR, Y, YPIX, ROWS, COLS, KH, L] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const XQ = 12, YQ = 13, C = 14, KY = 15, LL = 16, XP = 17, WP = 18; // i32
  const S = (p: number) => 19 + p; // broadcast x values
  const WV = 19 + pb;
  const A = (p: number, g: number) => 20 + pb + p * G + g;
  const add = (l: number, by: number[]) => [...get(l), ...by, 0x6a, ...set(l)];
  const mac = (acc: number, x: number) => macLocals(fma, acc, x, WV);
  const b: number[] = [...vec([[7, I32], [pb + 1 + pb * G, V128]])];
  b.push(...BLOCK, ...get(ROWS), 0x45, 0x0d, 0, ...get(COLS), 0x45, 0x0d, 0, ...LOOP); // rows
  b.push(...get(X), ...set(XQ), ...get(Y), ...set(YQ), ...get(COLS), ...set(C));
  b.push(...LOOP); // pixel groups
  for (let p = 0; p < pb; p++) for (let g = 0; g < G; g++) b.push(...ZERO, ...set(A(p, g)));
  b.push(...get(XQ), ...set(XP), ...get(Wp), ...set(WP), ...get(KH), ...set(KY));
  b.push(...LOOP); // ky
  b.push(...get(L), ...set(LL));
  b.push(...LOOP); // l
  for (let p = 0; p < pb; p++) {
    b.push(...get(XP));
    if (p > 0) b.push(...get(XPIX), ...(p > 1 ? [0x41, ...uleb(p), 0x6c] : []), 0x6a);
    b.push(...splat(0), ...set(S(p)));
  }
  for (let g = 0; g < G; g++) {
    b.push(...get(WP), ...load(16 * g), ...set(WV));
    for (let p = 0; p < pb; p++) b.push(...mac(A(p, g), S(p)));
  }
  b.push(...add(XP, [0x41, 4]), ...add(WP, get(WSTR)), ...countDown(LL), ...END);
  b.push(...add(XP, [...get(INROW), ...get(L), 0x41, 2, 0x74, 0x6b]), ...countDown(KY), ...END);
  for (let p = 0; p < pb; p++) {
    for (let g = 0; g < G; g++) {
      b.push(...get(YQ));
      if (p > 0) b.push(...get(YPIX), ...(p > 1 ? [0x41, ...uleb(p), 0x6c] : []), 0x6a);
      b.push(...get(A(p, g)), ...store(16 * g));
    }
  }
  b.push(...add(YQ, [...get(YPIX), ...(pb > 1 ? [0x41, ...uleb(pb), 0x6c] : [])]), ...add(XQ, [...get(XPIX), ...(pb > 1 ? [0x41, ...uleb(pb), 0x6c] : [])]));
  b.push(...get(C), 0x41, ...uleb(pb), 0x6b, 0x22, ...uleb(C), 0x0d, 0, ...END);
  b.push(...add(X, get(XROW)), ...add(Y, [...get(COLS), ...get(YPIX), 0x6c]), ...countDown(ROWS), ...END, ...END);
  b.push(...END);
  return b;
}

/** Module exporting t<n>_<G> for n = 1..maxNarrow and G = 1..groupsFor(n), and f<n>_<1|2> (forward). */
export function narrowModule(shared: boolean, fma: boolean, maxNarrow: number): { bytes: Uint8Array; names: string[] } {
  const fns: number[][] = [];
  const names: string[] = [];
  for (let n = 1; n <= maxNarrow; n++) {
    for (let G = 1; G <= groupsFor(n); G++) {
      fns.push(tapFunc(n, G, fma));
      names.push(`t${n}_${G}`);
    }
  }
  const types: number[] = [];
  for (let i = 0; i < fns.length; i++) types.push(0);
  for (let n = 1; n <= maxNarrow; n++) {
    for (const pb of [1, 2]) {
      fns.push(fwdFunc(n, pb, fma));
      names.push(`f${n}_${pb}`);
      types.push(1);
    }
  }
  for (const pb of [1, 2]) {
    for (let G = 1; G <= 4; G++) {
      fns.push(wideFunc(pb, G, fma));
      names.push(`w${pb}_${G}`);
      types.push(2);
    }
  }
  const i32s = (n: number) => fnType(new Array(n).fill(I32));
  const bytes = wasmModule(shared, [i32s(9), i32s(10), i32s(12)], names.map((name, i) => ({ name, type: types[i], body: fns[i]! })));
  return { bytes, names };
}

const makeModule = (shared: boolean) => narrowModule(shared, gemmOptions.fma && relaxedSimd(), narrowConvOptions.maxNarrow);
/** The helper thread gets the same module: calls are shared out as lists (pool-calls.ts). */
const POOL_MODULE = registerPoolModule({ make: makeModule });

interface Fns {
  /** Function number (the list's index) by name, and the caller's functions by number. */
  index: Record<string, number>;
  own: TapFn[];
}
const tapsOn = perMemory((memory): Fns => {
  const { bytes, names } = makeModule(isSharedMemory(memory));
  const ex = instantiateOn(memory, bytes) as Record<string, TapFn>;
  return { index: Object.fromEntries(names.map((n, i) => [n, i])), own: names.map((n) => ex[n]!) };
});
const tapFns = (backend: BackendWasm): Fns | null => tapsOn(heapMemory(backend));

/** Row bands per image for the forward functions' call lists (groups the two threads share out). */
const BANDS = 8;
/** Add `fn` over rows [0, rows) in bands, one group each: row r's arguments are args with `at` shifted by r * step (index -> step). */
function bands(list: CallList, fn: number, args: number[], rowsAt: number, shifts: [number, number][]): void {
  const rows = args[rowsAt]!;
  const per = Math.max(1, Math.ceil(rows / BANDS));
  for (let r0 = 0; r0 < rows; r0 += per) {
    const a = args.slice();
    a[rowsAt] = Math.min(per, rows - r0);
    for (const [i, step] of shifts) a[i] = args[i]! + r0 * step;
    list.group().call(fn, ...a);
  }
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
  return fillOutput(backend, out, [accT], () => {
    f32(backend, accT).fill(0);
    const xp = off(backend, x), dp = off(backend, dy), ap = off(backend, accT);
    const pt = info.padInfo.top, pl = info.padInfo.left;
    // one group per tap and chunk of wide groups (its own accumulators), the images in order
    const list = new CallList(heapMemory(backend), POOL_MODULE, fns.own);
    for (let ky = 0; ky < KH; ky++) {
      const ty = ky * dh - pt;
      const [oy0, oy1] = validRange(OH, sh, ty, H);
      if (oy1 <= oy0) continue;
      for (let kx = 0; kx < KW; kx++) {
        const tx = kx * dw - pl;
        const [ox0, ox1] = validRange(OW, sw, tx, W);
        if (ox1 <= ox0) continue;
        const tapAcc = ap + (ky * KW + kx) * groups * n * 16;
        for (let g0 = 0; g0 < groups; g0 += G) {
          const g = Math.min(G, groups - g0);
          list.group();
          for (let b = 0; b < B; b++) {
            const xAt = xp + ((b * H + oy0 * sh + ty) * W + ox0 * sw + tx) * CI * 4;
            const xRow = sh * W * CI * 4, xPix = sw * CI * 4;
            const dAt = dp + ((b * OH + oy0) * OW + ox0) * CO * 4;
            const dRow = OW * CO * 4, dPix = CO * 4;
            const [w, wRow, wPix, nq, nRow, nPix] = coNarrow ? [xAt, xRow, xPix, dAt, dRow, dPix] : [dAt, dRow, dPix, xAt, xRow, xPix];
            list.call(fns.index[`t${n}_${g}`]!, w + g0 * 16, wRow, wPix, nq, nRow, nPix, oy1 - oy0, ox1 - ox0, tapAcc + g0 * n * 16);
          }
        }
      }
    }
    list.run();
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
  });
}

/**
 * Forward convolution with a narrow output (CO = n <= 4) and no padding (CycleGAN's 7x7 64 -> 3
 * layer reads a reflection-padded input): XNNPACK packs such a filter into 8-wide output tiles, 5
 * of them zero (~5 GMAC/s). Here, for fixed ky, the taps kx = 0..KW-1 of an output pixel are one
 * contiguous run of L = KW*CI floats of x, so each output value is a sum over ky of dot products
 * of that run with Wt[j][ky] (the filter transposed to [n][KH][KW*CI] once per call). Two pixels
 * per iteration share the weight loads; the lanes are summed once per pixel.
 *
 * fwd<n>_<pb>(x, xRow, xPix, inRow, w, y, rows, cols, KH, L4): y pixel (r, c) at
 * y + (r*cols + c)*n*4 = sum_ky dot(x + r*xRow + c*xPix + ky*inRow [L4 f32x4], w + (j*KH + ky)*L4*16)
 */
function fwdFunc(n: number, pb: number, fma: boolean): number[] {
  const [X, XROW, XPIX, INROW, Wp, Y, ROWS, COLS, KH, L4] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const XQ = 10, C = 12, KY = 13, Q = 14, XP = 15, WP = 16; // i32 (11 unused)
  const V = (p: number) => 17 + p; // x vectors
  const WV = 17 + pb; // weight vector
  const A = (p: number, j: number) => 18 + pb + p * n + j;
  const add = (l: number, by: number[]) => [...get(l), ...by, 0x6a, ...set(l)];
  const mac = (acc: number, x: number) => macLocals(fma, acc, x, WV);
  const b: number[] = [...vec([[7, I32], [pb + 1 + pb * n, V128]])];
  b.push(...BLOCK, ...get(ROWS), 0x45, 0x0d, 0, ...get(COLS), 0x45, 0x0d, 0, ...LOOP); // rows
  b.push(...get(X), ...set(XQ), ...get(COLS), ...set(C));
  b.push(...LOOP); // pixel groups of pb
  for (let p = 0; p < pb; p++) for (let j = 0; j < n; j++) b.push(...ZERO, ...set(A(p, j)));
  b.push(...get(XQ), ...set(XP), ...get(Wp), ...set(WP), ...get(KH), ...set(KY));
  b.push(...LOOP); // ky
  b.push(...get(L4), ...set(Q));
  b.push(...LOOP); // q: f32x4 groups of the run
  for (let p = 0; p < pb; p++) {
    b.push(...get(XP));
    if (p > 0) b.push(...get(XPIX), ...(p > 1 ? [0x41, ...uleb(p), 0x6c] : []), 0x6a);
    b.push(...load(0), ...set(V(p)));
  }
  for (let j = 0; j < n; j++) {
    // w + j*KH*L4*16 (+ the ky and q offsets carried in WP)
    b.push(...get(WP), ...get(KH), ...get(L4), 0x6c, 0x41, ...uleb(j * 16), 0x6c, 0x6a, ...load(0), ...set(WV));
    for (let p = 0; p < pb; p++) b.push(...mac(A(p, j), V(p)));
  }
  b.push(...add(XP, [0x41, 16]), ...add(WP, [0x41, 16]), ...countDown(Q), ...END);
  // next ky: x run starts inRow further (minus the L4*16 walked), weights continue
  b.push(...add(XP, [...get(INROW), ...get(L4), 0x41, 4, 0x74, 0x6b]), ...countDown(KY), ...END);
  // horizontal sums -> y
  for (let p = 0; p < pb; p++) {
    for (let j = 0; j < n; j++) {
      b.push(...get(Y), ...get(A(p, j)), ...simd(0x1f), 0, ...get(A(p, j)), ...simd(0x1f), 1, 0x92);
      b.push(...get(A(p, j)), ...simd(0x1f), 2, 0x92, ...get(A(p, j)), ...simd(0x1f), 3, 0x92);
      b.push(0x38, 2, ...uleb((p * n + j) * 4)); // f32.store
    }
  }
  b.push(...add(Y, [0x41, ...uleb(pb * n * 4)]), ...add(XQ, [...get(XPIX), ...(pb > 1 ? [0x41, ...uleb(pb), 0x6c] : [])]));
  b.push(...get(C), 0x41, ...uleb(pb), 0x6b, 0x22, ...uleb(C), 0x0d, 0, ...END);
  b.push(...add(X, get(XROW)), ...countDown(ROWS), ...END, ...END);
  b.push(...END);
  return b;
}

/** out [B, OH, OW, CO] of a convolution with CO <= maxNarrow, CI % 4 == 0, no padding or dilation; else null. */
export function narrowForward(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: n } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const p = info.padInfo;
  if (!narrowConvOptions.enabled || n > narrowConvOptions.maxNarrow || CI % 4 !== 0 || p.top || p.left || p.bottom || p.right || info.dilationHeight !== 1 || info.dilationWidth !== 1 || B * OH * OW === 0) return null;
  const fns = tapFns(backend);
  if (!fns) return null;
  const L = KW * CI;
  const wt = backend.makeOutput([n * KH * L], 'float32');
  const out = backend.makeOutput([B, OH, OW, n], 'float32');
  return fillOutput(backend, out, [wt], () => {
    // Wt[j][ky][kx*CI + c] = W[ky][kx][c][j]
    const w = f32(backend, filter);
    const t = f32(backend, wt);
    for (let j = 0, d = 0; j < n; j++) for (let k = 0; k < KH * L; k++) t[d++] = w[k * n + j]!;
    const pb = OW % 2 === 0 ? 2 : 1;
    const fn = fns.index[`f${n}_${pb}`]!;
    const xp = off(backend, x), yp = off(backend, out), wp = off(backend, wt);
    const list = new CallList(heapMemory(backend), POOL_MODULE, fns.own);
    for (let b = 0; b < B; b++) {
      const args = [xp + b * H * W * CI * 4, sh * W * CI * 4, sw * CI * 4, W * CI * 4, wp, yp + b * OH * OW * n * 4, OH, OW, KH, L >> 2];
      bands(list, fn, args, 6, [[0, sh * W * CI * 4], [5, OW * n * 4]]);
    }
    list.run();
    narrowConvCalls.forward++;
  });
}

/**
 * out [B, OH, OW, CO] of a stride-s convolution with CI <= maxNarrow, CO % 4 == 0, no dilation
 * (padding by a zero-padded copy of x, which is narrow); else null.
 */
export function wideForward(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo | null {
  const { batchSize: B, inHeight: H0, inWidth: W0, inChannels: m, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  if (!narrowConvOptions.enabled || m > narrowConvOptions.maxNarrow || CO % 4 !== 0 || info.dilationHeight !== 1 || info.dilationWidth !== 1 || B * OH * OW === 0) return null;
  const fns = tapFns(backend);
  if (!fns) return null;
  const { top, left } = info.padInfo;
  // rows / columns the windows reach, padded with zeros where outside x
  const H = Math.max(H0 + top, (OH - 1) * sh + KH), W = Math.max(W0 + left, (OW - 1) * sw + KW);
  const padded = top || left || H !== H0 || W !== W0 ? backend.makeOutput([B, H, W, m], 'float32') : null;
  const out = backend.makeOutput([B, OH, OW, CO], 'float32');
  return fillOutput(backend, out, [padded], () => {
    if (padded) {
      const xv = f32(backend, x);
      const pv = f32(backend, padded);
      pv.fill(0);
      for (let b = 0; b < B; b++) {
        for (let y = 0; y < H0; y++) {
          const src = (b * H0 + y) * W0 * m;
          pv.set(xv.subarray(src, src + W0 * m), ((b * H + y + top) * W + left) * m);
        }
      }
    }
    const src = padded ?? x;
    const L = KW * m;
    const pb = OW % 2 === 0 ? 2 : 1;
    const groups = CO >> 2;
    const xp = off(backend, src), yp = off(backend, out), wp = off(backend, filter);
    const list = new CallList(heapMemory(backend), POOL_MODULE, fns.own);
    for (let b = 0; b < B; b++) {
      for (let g0 = 0; g0 < groups; g0 += 4) {
        const G = Math.min(4, groups - g0);
        const args = [xp + b * H * W * m * 4, sh * W * m * 4, sw * m * 4, W * m * 4, wp + g0 * 16, CO * 4, yp + (b * OH * OW * CO + g0 * 4) * 4, CO * 4, OH, OW, KH, L];
        bands(list, fns.index[`w${pb}_${G}`]!, args, 8, [[0, sh * W * m * 4], [6, OW * CO * 4]]);
      }
    }
    list.run();
    narrowConvCalls.wideForward++;
  });
}
