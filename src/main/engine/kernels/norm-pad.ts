/**
 * Instance normalisation and the reflection-padding gradient as single kernels on wasm.
 *
 * CycleGAN's ResNet generator normalises after every convolution and reflection-pads before
 * most of them. As tf ops, instance norm is ~7 element-wise kernels forward and ~6 backward,
 * each a full pass (stock wasm Sub/Multiply with a [C] operand: ~0.6-0.9 ms per call on
 * [256, 256], 2 threads, i.e. slower than the memory traffic by ~10x), and the reflection-pad
 * gradient ~16 Slice / Reverse / Add / Concat calls: together ~15% of a 64 px CycleGAN step
 * (profile of 2026-12-06, 2 threads, 4.9 s CPU). Here each is one kernel:
 *
 *   AtelierInstanceNorm      x [B, H, W, C] -> xhat [B, H, W, C], rstd [B, 1, 1, C]
 *                            mean and variance per (b, c) over H*W (biased, as torch), sums in
 *                            float64; xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps)
 *   AtelierInstanceNormGrad  dy, xhat, rstd -> dx = rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
 *   AtelierInstanceNormAct   x -> y = max(xhat, alpha * xhat) (ReLU: alpha 0; LeakyReLU), mean and
 *                            rstd [B, 1, 1, C]: instance norm and the activation after it in one
 *                            write pass; xhat is not kept (the gradient makes it again from x)
 *   AtelierInstanceNormActGrad  dy, x, mean, rstd -> dx: the activation's and instance norm's
 *                            gradients in one kernel, g = xhat > 0 ? dy : alpha * dy, then as above
 *                            with g for dy (the same float32 operations as the two kernels)
 *   AtelierReflectPadGrad    dy [B, H+2p, W+2p, C] -> dx [B, H, W, C]: every padded pixel's
 *                            gradient added onto the pixel it reflects (torch's ReflectionPad2d
 *                            backward; tfjs-core's MirrorPad gradient drops these edges)
 *
 * Plain JS loops over the heap (channel-innermost, so each pass is sequential): one read pass per
 * statistic and one write pass, instead of a heap allocation and pass per op. layers/ calls them
 * only where the kernel is registered (wasm); other backends keep the op formulation.
 */
import * as tf from '@tensorflow/tfjs';
import { f32Bits, isSharedMemory, instantiateOn, perMemory } from './wasm-asm';
import { type NormSimd, normModule } from './norm-simd';
import { type BackendWasm, type TensorInfo, heapF32 as heap, heapMemory, heapOffset, release } from './wasm-util';

export const INSTANCE_NORM = 'AtelierInstanceNorm';
export const INSTANCE_NORM_GRAD = 'AtelierInstanceNormGrad';
export const REFLECT_PAD_GRAD = 'AtelierReflectPadGrad';
export const INSTANCE_NORM_ACT = 'AtelierInstanceNormAct';
export const INSTANCE_NORM_ACT_GRAD = 'AtelierInstanceNormActGrad';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Calls per kernel (tests check the fused path was taken); `simd`: instance-norm calls by norm-simd.ts. */
export const normPadCalls = { instanceNorm: 0, instanceNormGrad: 0, instanceNormAct: 0, instanceNormActGrad: 0, reflectPadGrad: 0, simd: 0 };

/** ATELIER_NORM_SIMD=0: the JS loops (A/B, and the fallback where the module cannot compile). */
export const normOptions = { simd: process.env.ATELIER_NORM_SIMD !== '0' };

const normOn = perMemory((memory) => instantiateOn(memory, normModule(isSharedMemory(memory))) as unknown as NormSimd);
function normSimd(backend: BackendWasm, C: number): NormSimd | null {
  if (!normOptions.simd || C % 4 !== 0) return null;
  return normOn(heapMemory(backend));
}

/**
 * Per-channel scratch on the heap: two float64 accumulators and three float32 [C] operands. A
 * backend buffer (released by the caller), so it lives on the same heap as the tensors.
 */
function scratch(backend: BackendWasm, C: number) {
  const t = backend.makeOutput([7 * C + 1], 'float32');
  const base = heapOffset(backend, t);
  const a1 = base + (base % 8); // float64 alignment (malloc gives 8 or 16; this is a guard)
  return { t, acc1: a1, acc2: a1 + 8 * C, p: a1 + 16 * C, q: a1 + 20 * C, r: a1 + 24 * C };
}
type Scratch = ReturnType<typeof scratch>;
const f64At = (backend: BackendWasm, ptr: number, n: number) => new Float64Array((heapMemory(backend) as { buffer: ArrayBuffer }).buffer, ptr, n);
const f32At = (backend: BackendWasm, ptr: number, n: number) => new Float32Array((heapMemory(backend) as { buffer: ArrayBuffer }).buffer, ptr, n);

/**
 * One sample's mean and rstd by the SIMD moments pass over x (at byte offset xAt): float64 sums,
 * handed to `set` per channel (the callers store them as float32; both forwards use this, so the
 * fused norm + activation has the same statistics as the plain norm).
 */
function sampleStatsSimd(g: NormSimd, backend: BackendWasm, s: Scratch, xAt: number, N: number, C: number, eps: number, set: (c: number, mean: number, rstd: number) => void): void {
  f64At(backend, s.acc1, 2 * C).fill(0);
  g.moments(xAt, xAt, s.acc1, s.acc2, N, C >> 2);
  const acc1 = f64At(backend, s.acc1, C), acc2 = f64At(backend, s.acc2, C);
  for (let c = 0; c < C; c++) {
    const mean = acc1[c]! / N;
    const v = Math.max(0, acc2[c]! / N - mean * mean);
    set(c, mean, 1 / Math.sqrt(v + eps));
  }
}

/**
 * The JS loops' mean and rstd of the sample starting at element `base` (float64 sums, the
 * variance about the float32 mean), into the float32 [C] arrays mean32 and rstd32.
 */
function sampleStatsJs(xv: Float32Array, base: number, N: number, C: number, eps: number, mean32: Float32Array, rstd32: Float32Array): void {
  const sum = new Float64Array(C);
  const m2 = new Float64Array(C);
  for (let i = 0, k = base; i < N; i++) for (let c = 0; c < C; c++, k++) sum[c] += xv[k]!;
  for (let c = 0; c < C; c++) mean32[c] = sum[c]! / N;
  for (let i = 0, k = base; i < N; i++) {
    for (let c = 0; c < C; c++, k++) {
      const d = xv[k]! - mean32[c]!;
      m2[c] += d * d;
    }
  }
  for (let c = 0; c < C; c++) rstd32[c] = 1 / Math.sqrt(m2[c]! / N + eps);
}

/**
 * The JS loops of both gradients: per sample, g = gAt(k, xhat) and xhat = xhAt(k, b * C + c)
 * (read from the saved xhat, or made again from x for the fused activation), the means of g and
 * g * xhat, then dx = (g - mean(g) - xhat * mean(g * xhat)) * rstd.
 */
function gradLoops(B: number, N: number, C: number, o: Float32Array, rv: Float32Array, xhAt: (k: number, bc: number) => number, gAt: (k: number, xhat: number) => number): void {
  const s1 = new Float64Array(C), s2 = new Float64Array(C), m1 = new Float32Array(C), m2 = new Float32Array(C);
  for (let b = 0; b < B; b++) {
    const base = b * N * C;
    s1.fill(0);
    s2.fill(0);
    for (let i = 0, k = base; i < N; i++) {
      for (let c = 0; c < C; c++, k++) {
        const h = xhAt(k, b * C + c), gk = gAt(k, h);
        s1[c] += gk;
        s2[c] += gk * h;
      }
    }
    for (let c = 0; c < C; c++) {
      m1[c] = s1[c]! / N;
      m2[c] = s2[c]! / N;
    }
    for (let i = 0, k = base; i < N; i++) {
      for (let c = 0; c < C; c++, k++) {
        const h = xhAt(k, b * C + c);
        o[k] = (gAt(k, h) - m1[c]! - h * m2[c]!) * rv[b * C + c]!;
      }
    }
  }
}

/** The SIMD forward: per sample, one moments pass (sum, sum of squares) and one combine pass. */
function instanceNormSimd(g: NormSimd, backend: BackendWasm, x: TensorInfo, out: TensorInfo, rs: TensorInfo, B: number, N: number, C: number, eps: number) {
  const s: Scratch = scratch(backend, C);
  const xp = heapOffset(backend, x), op = heapOffset(backend, out);
  for (let b = 0; b < B; b++) {
    const off = b * N * C * 4;
    f32At(backend, s.q, C).fill(0);
    const p = f32At(backend, s.p, C), r = f32At(backend, s.r, C), rv = heap(backend, rs);
    sampleStatsSimd(g, backend, s, xp + off, N, C, eps, (c, mean, rstd) => {
      p[c] = mean;
      r[c] = rstd;
      rv[b * C + c] = r[c]!;
    });
    g.combine(xp + off, xp + off, s.p, s.q, s.r, op + off, N, C >> 2);
  }
  release(backend, s.t);
  normPadCalls.simd++;
}

/** The SIMD gradient: per sample, one moments pass (sum dy, sum dy * xhat) and one combine pass. */
function instanceNormGradSimd(g: NormSimd, backend: BackendWasm, dy: TensorInfo, xhat: TensorInfo, rstd: TensorInfo, out: TensorInfo, B: number, N: number, C: number) {
  const s: Scratch = scratch(backend, C);
  const dp = heapOffset(backend, dy), xp = heapOffset(backend, xhat), op = heapOffset(backend, out);
  for (let b = 0; b < B; b++) {
    const off = b * N * C * 4;
    f64At(backend, s.acc1, 2 * C).fill(0);
    g.moments(dp + off, xp + off, s.acc1, s.acc2, N, C >> 2);
    const acc1 = f64At(backend, s.acc1, C), acc2 = f64At(backend, s.acc2, C);
    const p = f32At(backend, s.p, C), q = f32At(backend, s.q, C), r = f32At(backend, s.r, C), rv = heap(backend, rstd);
    for (let c = 0; c < C; c++) {
      p[c] = acc1[c]! / N;
      q[c] = acc2[c]! / N;
      r[c] = rv[b * C + c]!;
    }
    g.combine(dp + off, xp + off, s.p, s.q, s.r, op + off, N, C >> 2);
  }
  release(backend, s.t);
  normPadCalls.simd++;
}

function dims(shape: number[]): [number, number, number] {
  const [b, h, w, c] = shape as [number, number, number, number];
  return [b, h * w, c];
}

function instanceNormWasm(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const eps = (args.attrs as unknown as { epsilon: number }).epsilon;
  const [B, N, C] = dims(x.shape);
  const out = backend.makeOutput(x.shape, 'float32');
  const rs = backend.makeOutput([B, 1, 1, C], 'float32');
  const g = normSimd(backend, C);
  if (g) {
    instanceNormSimd(g, backend, x, out, rs, B, N, C, eps);
    normPadCalls.instanceNorm++;
    return [out, rs];
  }
  // views after the last allocation (a heap growth detaches earlier ones)
  const xv = heap(backend, x);
  const o = heap(backend, out);
  const r = heap(backend, rs);
  const mean32 = new Float32Array(C);
  const rstd32 = new Float32Array(C);
  for (let b = 0; b < B; b++) {
    const base = b * N * C;
    sampleStatsJs(xv, base, N, C, eps, mean32, rstd32);
    r.set(rstd32, b * C);
    for (let i = 0, k = base; i < N; i++) for (let c = 0; c < C; c++, k++) o[k] = (xv[k]! - mean32[c]!) * rstd32[c]!;
  }
  normPadCalls.instanceNorm++;
  return [out, rs];
}

function instanceNormGradWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, xhat, rstd } = args.inputs as { dy: TensorInfo; xhat: TensorInfo; rstd: TensorInfo };
  const [B, N, C] = dims(xhat.shape);
  const out = backend.makeOutput(xhat.shape, 'float32');
  const g = normSimd(backend, C);
  if (g) {
    instanceNormGradSimd(g, backend, dy, xhat, rstd, out, B, N, C);
    normPadCalls.instanceNormGrad++;
    return out;
  }
  const d = heap(backend, dy), xh = heap(backend, xhat);
  gradLoops(B, N, C, heap(backend, out), heap(backend, rstd), (k) => xh[k]!, (k) => d[k]!);
  normPadCalls.instanceNormGrad++;
  return out;
}

/** x -> [act(xhat), mean, rstd]: instance norm's moments pass, then one pass writing the activation of xhat. */
function instanceNormActWasm(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { epsilon: eps, alpha } = args.attrs as unknown as { epsilon: number; alpha: number };
  const [B, N, C] = dims(x.shape);
  const out = backend.makeOutput(x.shape, 'float32');
  const ms = backend.makeOutput([B, 1, 1, C], 'float32');
  const rs = backend.makeOutput([B, 1, 1, C], 'float32');
  const g = normSimd(backend, C);
  if (g) {
    const s: Scratch = scratch(backend, C);
    const xp = heapOffset(backend, x), op = heapOffset(backend, out), mp = heapOffset(backend, ms), rp = heapOffset(backend, rs);
    for (let b = 0; b < B; b++) {
      const off = b * N * C * 4;
      const mv = heap(backend, ms), rv = heap(backend, rs);
      sampleStatsSimd(g, backend, s, xp + off, N, C, eps, (c, mean, rstd) => {
        mv[b * C + c] = mean;
        rv[b * C + c] = rstd;
      });
      g.actCombine(xp + off, mp + b * C * 4, rp + b * C * 4, op + off, N, C >> 2, f32Bits(alpha));
    }
    release(backend, s.t);
    normPadCalls.simd++;
    normPadCalls.instanceNormAct++;
    return [out, ms, rs];
  }
  // the JS loops of instanceNormWasm, then the activation
  const xv = heap(backend, x), o = heap(backend, out), mv = heap(backend, ms), rv = heap(backend, rs);
  const mean32 = new Float32Array(C), rstd32 = new Float32Array(C);
  for (let b = 0; b < B; b++) {
    const base = b * N * C;
    sampleStatsJs(xv, base, N, C, eps, mean32, rstd32);
    mv.set(mean32, b * C);
    rv.set(rstd32, b * C);
    for (let i = 0, k = base; i < N; i++) {
      for (let c = 0; c < C; c++, k++) {
        const h = Math.fround((xv[k]! - mean32[c]!) * rstd32[c]!);
        o[k] = h > 0 ? h : alpha * h;
      }
    }
  }
  normPadCalls.instanceNormAct++;
  return [out, ms, rs];
}

/** dy, x, mean, rstd -> dx of act(instance norm(x)). */
function instanceNormActGradWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, x, mean, rstd } = args.inputs as { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; rstd: TensorInfo };
  const { alpha } = args.attrs as unknown as { alpha: number };
  const [B, N, C] = dims(x.shape);
  const out = backend.makeOutput(x.shape, 'float32');
  const g = normSimd(backend, C);
  if (g) {
    const s: Scratch = scratch(backend, C);
    const dp = heapOffset(backend, dy), xp = heapOffset(backend, x), op = heapOffset(backend, out), mp = heapOffset(backend, mean), rp = heapOffset(backend, rstd);
    const a = f32Bits(alpha);
    for (let b = 0; b < B; b++) {
      const off = b * N * C * 4, st = b * C * 4;
      f64At(backend, s.acc1, 2 * C).fill(0);
      g.actMoments(dp + off, xp + off, mp + st, rp + st, s.acc1, s.acc2, N, C >> 2, a);
      const acc1 = f64At(backend, s.acc1, C), acc2 = f64At(backend, s.acc2, C);
      const p = f32At(backend, s.p, C), q = f32At(backend, s.q, C);
      for (let c = 0; c < C; c++) {
        p[c] = acc1[c]! / N;
        q[c] = acc2[c]! / N;
      }
      g.actGradCombine(dp + off, xp + off, mp + st, rp + st, s.p, s.q, op + off, N, C >> 2, a);
    }
    release(backend, s.t);
    normPadCalls.simd++;
    normPadCalls.instanceNormActGrad++;
    return out;
  }
  const d = heap(backend, dy), xv = heap(backend, x), mv = heap(backend, mean), rv = heap(backend, rstd);
  // xhat made again from x as the forward did; the activation's gradient gates dy
  const xh = (k: number, bc: number) => Math.fround((xv[k]! - mv[bc]!) * rv[bc]!);
  const gate = (k: number, h: number) => (h > 0 ? d[k]! : Math.fround(alpha * d[k]!));
  gradLoops(B, N, C, heap(backend, out), rv, xh, gate);
  normPadCalls.instanceNormActGrad++;
  return out;
}

/** Source index of padded coordinate q (0 <= q < n + 2p) in an axis of length n. */
function reflectIndex(q: number, p: number, n: number): number {
  const i = q - p;
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

function reflectPadGradWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy } = args.inputs as { dy: TensorInfo };
  const p = (args.attrs as unknown as { padding: number }).padding;
  const [B, HP, WP, C] = dy.shape as [number, number, number, number];
  const H = HP - 2 * p;
  const W = WP - 2 * p;
  const out = backend.makeOutput([B, H, W, C], 'float32');
  const d = heap(backend, dy);
  const o = heap(backend, out);
  // The interior is a copy of dy's centre; then the padded rows and columns add onto the pixels
  // they reflect (one pass over the border, a few % of dy at p = 1 on 16x16).
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < H; y++) {
      const src = ((b * HP + y + p) * WP + p) * C;
      o.set(d.subarray(src, src + W * C), (b * H + y) * W * C);
    }
    for (let qy = 0; qy < HP; qy++) {
      const rowBorder = qy < p || qy >= H + p;
      const iy = reflectIndex(qy, p, H);
      for (let qx = 0; qx < WP; qx++) {
        if (!rowBorder && qx >= p && qx < W + p) continue;
        const ix = reflectIndex(qx, p, W);
        const s = ((b * HP + qy) * WP + qx) * C;
        const t = ((b * H + iy) * W + ix) * C;
        for (let c = 0; c < C; c++) o[t + c] += d[s + c]!;
      }
    }
  }
  normPadCalls.reflectPadGrad++;
  return out;
}

export const instanceNormConfig: tf.KernelConfig = { kernelName: INSTANCE_NORM, backendName: 'wasm', kernelFunc: instanceNormWasm as unknown as tf.KernelFunc };
export const instanceNormGradConfig: tf.KernelConfig = { kernelName: INSTANCE_NORM_GRAD, backendName: 'wasm', kernelFunc: instanceNormGradWasm as unknown as tf.KernelFunc };
export const instanceNormActConfig: tf.KernelConfig = { kernelName: INSTANCE_NORM_ACT, backendName: 'wasm', kernelFunc: instanceNormActWasm as unknown as tf.KernelFunc };
export const instanceNormActGradConfig: tf.KernelConfig = { kernelName: INSTANCE_NORM_ACT_GRAD, backendName: 'wasm', kernelFunc: instanceNormActGradWasm as unknown as tf.KernelFunc };
export const reflectPadGradConfig: tf.KernelConfig = { kernelName: REFLECT_PAD_GRAD, backendName: 'wasm', kernelFunc: reflectPadGradWasm as unknown as tf.KernelFunc };

/** ATELIER_FUSED_NORM=0 (or enabled = false) keeps the op formulation on wasm too (bench A/B). */
export const normPadOptions = { enabled: process.env.ATELIER_FUSED_NORM !== '0' };

/** True where the fused kernel `name` runs: the wasm backend with our kernels registered. */
export function fusedKernelAvailable(name: string): boolean {
  return normPadOptions.enabled && tf.getBackend() === 'wasm' && tf.getKernel(name, 'wasm') != null;
}
