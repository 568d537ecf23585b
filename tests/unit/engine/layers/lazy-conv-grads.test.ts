import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { lazyConvGradOptions } from '../../../../src/main/engine/layers';
import { withKernelTimes } from '../../../../src/main/engine/kernels/profile';
import { useTestBackend } from './test-backend';

beforeAll(async () => {
  await useTestBackend();
});
afterEach(() => {
  lazyConvGradOptions.enabled = true;
});

/** A discriminator-like stack of tfjs-layers convolutions (bias, linear, then LeakyReLU). */
function disc(): tf.LayersModel {
  const input = tf.input({ shape: [16, 16, 6] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 4, strides: 2, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 16, kernelSize: 4, strides: 1, padding: 'valid', useBias: false }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', activation: 'sigmoid' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

function run(D: tf.LayersModel, x: tf.Variable, wrt: 'input' | 'weights') {
  const vars = wrt === 'input' ? [x] : D.trainableWeights.map((w) => w.read() as tf.Variable);
  const { result, times } = withKernelTimes(() => tf.variableGrads(() => tf.mean(D.apply(x) as tf.Tensor) as tf.Scalar, vars));
  const calls = (k: string) => [...times.entries()].filter(([name]) => name.startsWith(k)).reduce((s, [, v]) => s + v.calls, 0);
  const grads = Object.values(result.grads).map((g) => g.dataSync().slice());
  tf.dispose([result.value, ...Object.values(result.grads)]);
  return { grads, filterGrads: calls('Conv2DBackpropFilter'), inputGrads: calls('Conv2DBackpropInput') };
}

describe('lazy convolution gradients under a tape (tfjs-layers Conv2D)', () => {
  it('computes only the gradients on the path, and the same values as the fused path', () => {
    const D = disc();
    const x = tf.variable(tf.randomNormal([2, 16, 16, 6], 0, 1, 'float32', 3));
    for (const wrt of ['input', 'weights'] as const) {
      const ours = run(D, x, wrt);
      lazyConvGradOptions.enabled = false;
      const fused = run(D, x, wrt);
      lazyConvGradOptions.enabled = true;
      if (wrt === 'input') {
        // tfjs's fused path computes every layer's filter gradient; none is needed here
        expect(fused.filterGrads).toBe(3);
        expect(ours.filterGrads).toBe(0);
      } else {
        // ... and the first layer's input gradient, not needed for the weights
        expect(fused.inputGrads).toBe(2 + 1);
        expect(ours.inputGrads).toBe(2);
        expect(ours.filterGrads).toBe(3);
      }
      expect(ours.grads.length).toBe(fused.grads.length);
      ours.grads.forEach((g, i) => {
        const f = fused.grads[i]!;
        let d = 0;
        for (let j = 0; j < g.length; j++) d = Math.max(d, Math.abs(g[j]! - f[j]!));
        expect(d).toBeLessThan(1e-5);
      });
    }
    D.dispose();
    x.dispose();
  });

  it('keeps the fused kernel without a tape (inference)', () => {
    const D = disc();
    const x = tf.randomNormal([1, 16, 16, 6]);
    const { times } = withKernelTimes(() => tf.tidy(() => (D.predict(x) as tf.Tensor).dataSync()));
    expect([...times.keys()].some((k) => k.startsWith('FusedConv2D'))).toBe(true);
    expect([...times.keys()].some((k) => k.startsWith('Conv2D'))).toBe(false);
    D.dispose();
    x.dispose();
  });
});
