/**
 * Conv2DBackpropFilter with a narrow side (<= 4 input or output channels) by per-tap SIMD sums
 * (kernels/narrow-conv.ts) against the cpu backend, and the generated functions against a scalar
 * reference on a plain memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallConvOptions } from '../../../../src/main/engine/kernels/small-conv';
import { groupsFor, narrowConvCalls, narrowModule } from '../../../../src/main/engine/kernels/narrow-conv';
import { type ConvCase as Case, convFilterGrad, convInputGrad, convOutShape as outShape, counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

const cases: Case[] = [
  { x: [1, 14, 14, 64], k: [7, 7], co: 3, s: 1, pad: 'valid' }, // ResNet generator's last layer (reflection-padded input)
  { x: [1, 14, 14, 3], k: [7, 7], co: 64, s: 1, pad: 'valid' }, // and its first
  { x: [1, 9, 9, 32], k: [4, 4], co: 1, s: 1, pad: 'valid' }, // PatchGAN's last
  { x: [2, 9, 7, 12], k: [3, 3], co: 2, s: 2, pad: 'same' },
  { x: [3, 8, 9, 4], k: [4, 4], co: 4, s: 2, pad: 'same' }, // CO narrow (CI % 4 == 0 wins)
  { x: [2, 10, 9, 3], k: [5, 3], co: 20, s: [2, 1], pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
  { x: [1, 6, 6, 1], k: [3, 3], co: 8, s: 1, pad: 'same' },
  { x: [1, 5, 5, 52], k: [3, 3], co: 3, s: 3, pad: 'same' }, // 13 groups: chunks of 4 and a remainder of 1
];

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, (...a: number[]) => void> };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

describe('Conv2DBackpropFilter with few channels on one side (wasm)', () => {
  beforeAll(initWasm);

  for (const c of cases) {
    it(`matches cpu: x ${c.x} k ${c.k} co ${c.co} stride ${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const xv = rand(size(c.x), 1);
      const dyv = rand(size(outShape(c)), 2);
      const run = () => convFilterGrad(c, tf.tensor4d(xv, c.x), tf.tensor(dyv, outShape(c)));
      const want = await on('cpu', run);
      const before = counts();
      const calls = narrowConvCalls.backpropFilter;
      const got = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(narrowConvCalls.backpropFilter - calls).toBe(1);
      expectClose(got, want, 1e-5);
    });
  }

  it('each generated function sums wide x broadcast narrow over a strided rectangle', () => {
    for (const fma of [false, true]) {
      let mod: ReturnType<typeof narrowModule>;
      try {
        mod = narrowModule(false, fma, 4);
        new WA.Module(mod.bytes);
      } catch {
        continue; // no relaxed SIMD in this engine: the FMA variant is never used
      }
      const mem = new WA.Memory({ initial: 4 });
      const ex = new WA.Instance(new WA.Module(mod.bytes), { env: { memory: mem } }).exports;
      const f = new Float32Array(mem.buffer);
      for (let n = 1; n <= 4; n++) {
        for (let G = 1; G <= groupsFor(n); G++) {
          // wide: 5 rows x 3 cols, pixel stride 24 floats, row stride 100; narrow: pixel 7, row 30
          f.fill(0);
          f.set(rand(2000, n * 10 + G), 0);
          f.set(rand(2000, n * 10 + G + 100), 4000);
          const acc = 12000;
          for (let i = 0; i < G * n * 4; i++) f[acc + i] = i; // accumulates onto what is there
          ex[`t${n}_${G}`]!(0, 400, 96, 16000, 120, 28, 5, 3, acc * 4);
          for (let g = 0; g < G; g++) {
            for (let j = 0; j < n; j++) {
              for (let l = 0; l < 4; l++) {
                let s = (g * n + j) * 4 + l;
                for (let r = 0; r < 5; r++) for (let cc = 0; cc < 3; cc++) s += f[r * 100 + cc * 24 + g * 4 + l]! * f[4000 + r * 30 + cc * 7 + j]!;
                expect(Math.abs(f[acc + (g * n + j) * 4 + l]! - s)).toBeLessThan(1e-5);
              }
            }
          }
        }
      }
    }
  });
});

describe('forward convolution with <= 4 output channels and no padding (wasm)', () => {
  beforeAll(initWasm);
  const fwd: [number[], number[], number | [number, number]][] = [
    [[1, 14, 14, 64], [7, 7, 64, 3], 1], // the ResNet generator's last layer (reflection-padded input)
    [[2, 9, 8, 8], [3, 3, 8, 1], 1],
    [[1, 11, 9, 12], [3, 2, 12, 4], [2, 1]], // odd output width: one pixel per iteration
    [[1, 10, 10, 4], [4, 4, 4, 2], 2],
  ];
  for (const [xs, ws, s] of fwd) {
    it(`matches cpu: x ${xs} filter ${ws} stride ${s}`, async () => {
      const xv = rand(size(xs), 3);
      const wv = rand(size(ws), 4);
      const run = () => tf.conv2d(tf.tensor4d(xv, xs as [number, number, number, number]), tf.tensor4d(wv, ws as [number, number, number, number]), s, 'valid');
      const want = await on('cpu', run);
      const before = counts();
      const calls = narrowConvCalls.forward;
      const got = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(narrowConvCalls.forward - calls).toBe(1);
      expectClose(got, want, 1e-5);
    });
  }
});

describe('stride-1 input gradients from <= 4 channels: a convolution of dy with the rotated filter (wasm)', () => {
  beforeAll(initWasm);
  const grads: Case[] = [
    { x: [1, 14, 14, 64], k: [7, 7], co: 3, s: 1, pad: 'valid' }, // the generator's last layer
    { x: [2, 7, 9, 8], k: [3, 3], co: 1, s: 1, pad: 'same' },
    { x: [1, 6, 5, 12], k: [2, 3], co: 4, s: 1, pad: [[0, 0], [1, 0], [0, 2], [0, 0]] },
  ];
  for (const c of grads) {
    it(`input gradient matches cpu: x ${c.x} k ${c.k} co ${c.co} pad ${JSON.stringify(c.pad)}`, async () => {
      const wv = rand(c.k[0] * c.k[1] * c.x[3] * c.co, 7);
      const dyv = rand(size(outShape(c)), 8);
      const run = () => convInputGrad(c, tf.tensor(dyv, outShape(c)), tf.tensor4d(wv, [...c.k, c.x[3], c.co]));
      const want = await on('cpu', run);
      const before = counts();
      const calls = narrowConvCalls.wideForward;
      const got = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(narrowConvCalls.wideForward - calls).toBe(1);
      expectClose(got, want, 1e-5);
    });
  }
});

describe('stride-1 input gradients to <= 4 channels: narrowForward on a zero-padded dy (wasm)', () => {
  beforeAll(initWasm);
  const grads: Case[] = [
    { x: [1, 14, 14, 3], k: [7, 7], co: 64, s: 1, pad: 'valid' }, // the generator's first layer
    { x: [2, 9, 7, 2], k: [3, 3], co: 8, s: 1, pad: 'same' },
    { x: [3, 6, 5, 4], k: [2, 3], co: 12, s: 1, pad: [[0, 0], [1, 0], [0, 2], [0, 0]] },
    { x: [1, 7, 8, 1], k: [4, 4], co: 4, s: 1, pad: 'same' }, // both sides narrow, dx of 1 channel: narrowForward
  ];
  for (const c of grads) {
    it(`input gradient matches cpu: x ${c.x} k ${c.k} co ${c.co} pad ${JSON.stringify(c.pad)}`, async () => {
      const wv = rand(c.k[0] * c.k[1] * c.x[3] * c.co, 9);
      const dyv = rand(size(outShape(c)), 10);
      const run = () => convInputGrad(c, tf.tensor(dyv, outShape(c)), tf.tensor4d(wv, [...c.k, c.x[3], c.co]));
      const want = await on('cpu', run);
      const before = counts();
      const calls = { ...narrowConvCalls };
      const got = await on('wasm', run);
      expect(counts()).toEqual(before);
      const wide = c.co <= 4 && c.x[3] % 4 === 0;
      expect([narrowConvCalls.forward - calls.forward, narrowConvCalls.wideForward - calls.wideForward]).toEqual(wide ? [0, 1] : [1, 0]);
      expectClose(got, want, 1e-5);
    });
  }
});

describe('stride-1 forward convolutions from <= 4 input channels by wideForward (wasm)', () => {
  const saved = smallConvOptions.wideInputForward;
  beforeAll(async () => {
    await initWasm();
    smallConvOptions.wideInputForward = true;
  });
  afterAll(() => {
    smallConvOptions.wideInputForward = saved;
  });
  const fwd: Case[] = [
    { x: [1, 14, 14, 3], k: [7, 7], co: 64, s: 1, pad: 'valid' }, // the generator's first layer
    { x: [2, 9, 8, 2], k: [3, 3], co: 8, s: 1, pad: 'same' }, // padded copy, batch 2
    { x: [3, 7, 5, 4], k: [4, 2], co: 12, s: 1, pad: [[0, 0], [2, 1], [0, 1], [0, 0]] },
    { x: [1, 9, 9, 3], k: [4, 4], co: 64, s: 2, pad: 'same' }, // strided: XNNPACK
  ];
  for (const c of fwd) {
    it(`forward matches cpu: x ${c.x} k ${c.k} co ${c.co} s ${c.s} pad ${JSON.stringify(c.pad)}`, async () => {
      const xv = rand(size(c.x), 11);
      const wv = rand(c.k[0] * c.k[1] * c.x[3] * c.co, 12);
      const run = () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, [...c.k, c.x[3], c.co]), c.s as number, c.pad as 'valid');
      const want = await on('cpu', run);
      const before = counts();
      const calls = narrowConvCalls.wideForward;
      const got = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(narrowConvCalls.wideForward - calls).toBe(c.s === 1 ? 1 : 0);
      expectClose(got, want, 1e-5);
    });
  }
});
