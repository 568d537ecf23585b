/**
 * The fused input gradient of reflection-pad(1) + 3x3 'valid' convolution (kernels/reflect-conv.ts)
 * on wasm against the two-op gradient (conv2d's input gradient onto the padded map, then the
 * padding's own) on the cpu backend, within 1e-4; the path each shape takes; no leaked tensors or
 * kernel buffers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { reflectionPad2d } from '../../../../src/main/engine/layers';
import { REFLECT_CONV_GRAD_INPUT, reflectConvCalls } from '../../../../src/main/engine/kernels/reflect-conv';
import { winogradCacheSweep } from '../../../../src/main/engine/kernels/winograd';
import { counts, expectClose, initWasm, on, rand, size, tf } from './helpers';

/** [B, H, W, CI, CO] of the forward: x [B, H, W, CI] padded to H+2 x W+2, filter [3, 3, CI, CO]. */
type Case = [number, number, number, number, number];

describe('reflection-pad + 3x3 convolution input gradient in one kernel', () => {
  beforeAll(initWasm);

  const cases: [Case, 'fused' | 'twoKernels', string][] = [
    [[1, 16, 16, 256, 256], 'fused', 'paper channels, F(4x4) 4x4 tiles'],
    [[2, 10, 13, 64, 72], 'fused', 'odd sizes (partial tiles), two images'],
    [[1, 6, 6, 64, 64], 'fused', 'F(2x2) (few tiles)'],
    [[1, 2, 3, 64, 64], 'fused', 'the smallest map reflection by 1 allows'],
    [[1, 5, 6, 12, 8], 'twoKernels', 'channels below Winograd: the two kernels'],
  ];
  for (const [[B, H, W, CI, CO], path, what] of cases) {
    it(`matches the two-op gradient on cpu within 1e-4: [${B},${H},${W},${CI}] -> ${CO}, ${what}`, async () => {
      const xv = rand(B * H * W * CI, 1);
      const wv = rand(9 * CI * CO, 2, 0.1);
      const dyv = rand(B * H * W * CO, 3);
      // reference: the gradient of sum(conv2d(reflectionPad2d(x)) * dy) through the two ops
      const ref = await on('cpu', () => {
        const w = tf.tensor4d(wv, [3, 3, CI, CO]);
        const dy = tf.tensor4d(dyv, [B, H, W, CO]);
        return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(reflectionPad2d(x as tf.Tensor4D, 1), w, 1, 'valid'), dy)))(tf.tensor4d(xv, [B, H, W, CI]));
      });
      const before = counts();
      const calls = { ...reflectConvCalls };
      const ours = await on('wasm', () =>
        tf.engine().runKernel(REFLECT_CONV_GRAD_INPUT, { dy: tf.tensor4d(dyv, [B, H, W, CO]), filter: tf.tensor4d(wv, [3, 3, CI, CO]) }, { padding: 1 } as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      expect(counts()).toEqual(before);
      expect(reflectConvCalls[path] - calls[path]).toBe(1);
      expect(ours[0]!.length).toBe(size([B, H, W, CI]));
      expectClose(ours, ref, 1e-4);
    });
  }

  it('caches its border taps per filter like the Winograd transforms, and frees them with the filter', () => {
    const w = tf.tensor4d(rand(9 * 64 * 64, 4, 0.1), [3, 3, 64, 64]);
    const dy = tf.tensor4d(rand(16 * 16 * 64, 5), [1, 16, 16, 64]);
    const run = () => (tf.engine().runKernel(REFLECT_CONV_GRAD_INPUT, { dy, filter: w }, { padding: 1 } as unknown as tf.NamedAttrMap) as tf.Tensor).dataSync().slice();
    const first = run();
    // the second call reads the cached taps and transform: the same bits
    expect(run()).toEqual(first);
    const backend = tf.engine().backend as unknown as Parameters<typeof winogradCacheSweep>[0];
    const held = winogradCacheSweep(backend);
    tf.dispose([w, dy]);
    expect(winogradCacheSweep(backend)).toBeLessThan(held);
  });
});
