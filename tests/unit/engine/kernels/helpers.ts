/**
 * Shared helpers for the wasm kernel tests: force the wasm backend (our kernels exist only
 * there), run the same computation on cpu for a reference, seeded data, and leak checks.
 */
import { expect } from 'vitest';
import { tf, initBackend } from '../../../../src/main/engine/backend';
import { stride2CacheSweep } from '../../../../src/main/engine/kernels/stride2-winograd';
import { type GemmSimd, createGemmSimd } from '../../../../src/main/engine/kernels/gemm-simd';
import type { WasmMemory } from '../../../../src/main/engine/kernels/wasm-asm';

export { tf };

/** Initialise on wasm (forced: on a machine with tfjs-node the chooser would pick node). */
export async function initWasm(): Promise<void> {
  process.env.ATELIER_BACKEND = 'wasm';
  const info = await initBackend();
  expect(info.backend).toBe('wasm');
  await tf.setBackend('wasm');
}

/** Deterministic values in [-scale, scale) (mulberry32). */
export function rand(n: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Run fn on the given backend (tensors made inside fn live there), return its outputs' data. */
export async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const outs = tf.tidy(() => {
      const r = fn();
      return Array.isArray(r) ? r : [r];
    });
    const data = outs.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(outs);
    return data;
  } finally {
    await tf.setBackend(before);
  }
}

/** max |a-b| / max(1, max|b|): absolute for values of order 1, relative for large ones. */
export function relDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / Math.max(1, m);
}

export function expectClose(actual: Float32Array[], expected: Float32Array[], tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(a.every(Number.isFinite)).toBe(true);
    expect(relDiff(a, expected[i]!)).toBeLessThan(tol);
  });
}

/** Tensors (engine) and data buffers (wasm backend, catches leaked kernel intermediates). */
export function counts(): { tensors: number; buffers: number } {
  // the stride-2 path keeps a phase filter while its filter lives and releases it at its next
  // call once the filter is gone: release those of filters already disposed now
  const wasm = tf.findBackend('wasm');
  if (wasm) stride2CacheSweep(wasm as never);
  return { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
}

export type ConvPad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];
/** A forward convolution's shapes: x [B,H,W,CI], filter k x CI x co; the gradient kernels are its backward. */
export interface ConvCase {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  s: number | [number, number];
  pad: ConvPad;
  d?: number;
}

/** The forward convolution's output shape (= dy's shape for the gradient kernels). */
export function convOutShape(c: ConvCase): number[] {
  return tf.backend_util.computeConv2DInfo(c.x, [...c.k, c.x[3], c.co], c.s, c.d ?? 1, c.pad).outShape;
}

/** dx of the forward convolution `c` through the registered Conv2DBackpropInput kernel. */
export function convInputGrad(c: ConvCase, dy: tf.Tensor, filter: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
    strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: c.x,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** dW of the forward convolution `c` through the registered Conv2DBackpropFilter kernel. */
export function convFilterGrad(c: ConvCase, x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [...c.k, c.x[3], c.co],
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * Seeded x (seed), filter (seed + 1, values within wScale) and dy (seed + 2) of case `c`, and a
 * run of its forward convolution, input gradient and filter gradient (for `on`).
 */
export function convPasses(c: ConvCase, seed: number, wScale: number): () => tf.Tensor[] {
  const xv = rand(size(c.x), seed);
  const wv = rand(size([...c.k, c.x[3], c.co]), seed + 1, wScale);
  const dyv = rand(size(convOutShape(c)), seed + 2);
  const w = () => tf.tensor4d(wv, [...c.k, c.x[3], c.co]);
  return () => [
    tf.conv2d(tf.tensor4d(xv, c.x), w(), c.s as number, c.pad as 'same'),
    convInputGrad(c, tf.tensor(dyv, convOutShape(c)), w()),
    convFilterGrad(c, tf.tensor4d(xv, c.x), tf.tensor(dyv, convOutShape(c))),
  ];
}

/**
 * A shared wasm memory (`initial` pages of 64 KB, up to 256) with the products' helper thread
 * started on it (createGemmSimd starts it, with every pool module registered so far) and running:
 * the setup of the two-thread tests.
 */
export async function memoryWithPool(initial = 64): Promise<{ mem: WasmMemory; g: GemmSimd }> {
  const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } }).WebAssembly;
  const mem = new WA.Memory({ initial, maximum: 256, shared: true });
  const g = createGemmSimd(mem)!;
  const t0 = Date.now();
  while (!g.parallel?.() && Date.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 20));
  expect(g.parallel?.()).toBe(true);
  return { mem, g };
}
