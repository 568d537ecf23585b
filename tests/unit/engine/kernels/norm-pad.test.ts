/**
 * The fused instance-norm and reflection-pad-gradient kernels (kernels/norm-pad.ts) on wasm
 * against the op formulation on the cpu backend (the layers pick the kernels only where they are
 * registered), forward and gradient, with no leaked tensors or kernel buffers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { instanceNorm, reflectionPad2d } from '../../../../src/main/engine/layers';
import { instanceNormAct } from '../../../../src/main/engine/layers/instance-norm';
import { normOptions, normPadCalls } from '../../../../src/main/engine/kernels/norm-pad';
import { withKernelTimes } from '../../../../src/main/engine/kernels/profile';
import { counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

/**
 * `run` (x's forward, a loss, x's gradient) on wasm with the SIMD passes on or off, then on cpu:
 * no leaks, the kernel pair `fwd` / `grad` called 2 and 1 times, forward and gradient within 1e-5
 * of cpu and the loss (each backend's own float32 Sum) within 1e-4.
 */
async function compareWithCpu(run: () => tf.Tensor[], simd: boolean, fwd: keyof typeof normPadCalls, grad: keyof typeof normPadCalls): Promise<void> {
  const before = counts();
  const calls = { ...normPadCalls };
  normOptions.simd = simd;
  let ours: Float32Array[];
  try {
    ours = await on('wasm', run);
  } finally {
    normOptions.simd = true;
  }
  expect(counts()).toEqual(before);
  expect([normPadCalls[fwd] - calls[fwd], normPadCalls[grad] - calls[grad]]).toEqual([2, 1]);
  expect(normPadCalls.simd - calls.simd).toBe(simd ? 3 : 0);
  const ref = await on('cpu', run);
  expectClose([ours[0]!, ours[2]!], [ref[0]!, ref[2]!], 1e-5);
  expectClose([ours[1]!], [ref[1]!], 1e-4);
}

describe('fused instance norm and reflection-pad gradient on wasm', () => {
  beforeAll(initWasm);

  // channels a multiple of 4 take the SIMD passes (norm-simd.ts), others the JS loops
  const normShapes: [number, number, number, number][] = [[1, 16, 16, 256], [2, 5, 7, 3], [1, 64, 64, 64], [3, 4, 4, 10], [2, 3, 5, 12], [1, 128, 128, 4]];
  for (const shape of normShapes) {
    for (const simd of shape[3] % 4 === 0 ? [true, false] : [false]) {
      it(`instance norm and its gradient match cpu within 1e-5: [${shape}], ${simd ? 'SIMD' : 'JS loops'}`, async () => {
        // an offset and scale per channel, so the statistics matter
        const xv = rand(size(shape), 1, 3).map((v, i) => v * (1 + (i % shape[3]) / 7) + (i % 5) - 2);
        const wv = rand(size(shape), 2);
        const run = () => {
          const x = tf.tensor(xv, shape) as tf.Tensor4D;
          const w = tf.tensor(wv, shape);
          const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => tf.sum(tf.mul(instanceNorm(t as tf.Tensor4D), w)) as tf.Scalar)([x]);
          return [instanceNorm(x), value, grads[0]!];
        };
        await compareWithCpu(run, simd, 'instanceNorm', 'instanceNormGrad');
      });
    }
  }

  // instance norm with the ReLU / LeakyReLU after it, one kernel each way (the layer's fused path)
  const actShapes: [number, number, number, number][] = [[1, 16, 16, 256], [2, 5, 7, 12], [1, 32, 32, 64], [3, 4, 4, 10]];
  for (const shape of actShapes) {
    for (const alpha of [0, 0.2]) {
      for (const simd of shape[3] % 4 === 0 ? [true, false] : [false]) {
        it(`instance norm + activation (alpha ${alpha}) and its gradient match cpu's two ops within 1e-5: [${shape}], ${simd ? 'SIMD' : 'JS loops'}`, async () => {
          const xv = rand(size(shape), 4, 3).map((v, i) => v * (1 + (i % shape[3]) / 7) + (i % 5) - 2);
          const wv = rand(size(shape), 5);
          const bias = shape[3] === 12; // with a cancelled bias as a second input: its gradient is zero
          const run = () => {
            const x = tf.tensor(xv, shape) as tf.Tensor4D;
            const w = tf.tensor(wv, shape);
            const b = tf.zeros([shape[3]]);
            const wasm = tf.getBackend() === 'wasm';
            // cpu: the two ops, the bias added before the norm (which cancels it)
            const f = (t: tf.Tensor, bt?: tf.Tensor) =>
              wasm ? instanceNormAct(t as tf.Tensor4D, 1e-5, alpha, bt ?? null) : tf.leakyRelu(instanceNorm((bt ? tf.add(t, bt) : t) as tf.Tensor4D), alpha);
            const { value, grads } = tf.valueAndGrads((t: tf.Tensor, bt?: tf.Tensor) => tf.sum(tf.mul(f(t, bt), w)) as tf.Scalar)(bias ? [x, b] : [x]);
            const out = [tf.tidy(() => f(x)), value, grads[0]!];
            if (wasm && bias) expect(Array.from(grads[1]!.dataSync()).every((v) => v === 0)).toBe(true);
            return out;
          };
          await compareWithCpu(run, simd, 'instanceNormAct', 'instanceNormActGrad');
        });
      }
    }
  }

  it('instance norm is one kernel each way on wasm', () => {
    const names = [...withKernelTimes(() => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.square(instanceNorm(t as tf.Tensor4D))))(tf.randomNormal([1, 8, 8, 16])).dataSync())).times.keys()];
    expect(names).toContain('AtelierInstanceNorm');
    expect(names).toContain('AtelierInstanceNormGrad');
    expect(names).not.toContain('Rsqrt');
  });

  const pads: [number, [number, number, number, number]][] = [[1, [1, 16, 16, 256]], [3, [1, 64, 64, 3]], [2, [2, 5, 7, 3]], [1, [1, 2, 2, 5]], [3, [1, 4, 6, 64]]];
  for (const [p, shape] of pads) {
    it(`reflection-pad gradient matches cpu: p ${p}, [${shape}]`, async () => {
      const xv = rand(size(shape), 3);
      const outShape = [shape[0], shape[1] + 2 * p, shape[2] + 2 * p, shape[3]];
      const wv = rand(size(outShape), 4);
      const run = () => {
        const x = tf.tensor(xv, shape) as tf.Tensor4D;
        const w = tf.tensor(wv, outShape);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reflectionPad2d(t as tf.Tensor4D, p), w)))(x);
      };
      const before = counts();
      const calls = normPadCalls.reflectPadGrad;
      const ours = await on('wasm', run);
      expect(counts()).toEqual(before);
      expect(normPadCalls.reflectPadGrad - calls).toBe(1);
      expectClose(ours, await on('cpu', run), 1e-5);
    });
  }
});
