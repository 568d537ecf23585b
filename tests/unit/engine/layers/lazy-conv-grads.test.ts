import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { InstanceNormalization, ReflectionPadding2D, lazyConvGradOptions, reflectionPad2d } from '../../../../src/main/engine/layers';
import { normActOptions } from '../../../../src/main/engine/layers/instance-norm';
import { reflectConvOptions } from '../../../../src/main/engine/kernels/reflect-conv';
import { withKernelTimes } from '../../../../src/main/engine/kernels/profile';
import { useTestBackend } from './test-backend';

beforeAll(async () => {
  await useTestBackend();
});
afterEach(() => {
  lazyConvGradOptions.enabled = true;
  lazyConvGradOptions.skipCancelledBias = true;
  reflectConvOptions.enabled = true;
  normActOptions.enabled = true;
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

/**
 * CycleGAN-like: conv (bias) -> IN -> ReLU -> transposed conv (bias) -> IN -> ReLU, a conv whose
 * output feeds both an IN and a skip connection (not cancelled), and a last conv (bias, tanh).
 * Biases start non-zero so that leaving them out is a real difference in the forward.
 */
function resnetLike(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });
  const input = tf.input({ shape: [8, 8, 3] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', biasInitializer: init(1), name: 'c1' }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(new InstanceNormalization({ affine: false }).apply(h)) as tf.SymbolicTensor;
  h = tf.layers.conv2dTranspose({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', biasInitializer: init(2), name: 't2' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(new InstanceNormalization({ affine: true }).apply(h)) as tf.SymbolicTensor;
  const shared = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', biasInitializer: init(3), name: 's3' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.add().apply([new InstanceNormalization({ affine: false }).apply(shared) as tf.SymbolicTensor, shared]) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh', biasInitializer: init(4), name: 'last' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

/**
 * One gradients call of mean((G(x) - target)^2) over vars: each gradient's data (by variable
 * name), the loss, and how often each kernel ran.
 */
function gradStep(G: tf.LayersModel, x: tf.Tensor, target: tf.Tensor, vars: tf.Variable[]) {
  const { result, times } = withKernelTimes(() => tf.variableGrads(() => tf.mean(tf.square(tf.sub(G.apply(x) as tf.Tensor, target))) as tf.Scalar, vars));
  const grads = Object.fromEntries(Object.entries(result.grads).map(([k, g]) => [k, g.dataSync().slice()]));
  const loss = result.value.dataSync()[0]!;
  tf.dispose([result.value, ...Object.values(result.grads)]);
  return { grads, loss, calls: (k: string) => times.get(k)?.calls ?? 0 };
}

/** The largest |g - a| and the largest |a| (a tolerance relative to a's scale). */
function diffAndScale(g: ArrayLike<number>, a: ArrayLike<number>): [number, number] {
  let d = 0, m = 0;
  for (let j = 0; j < g.length; j++) {
    d = Math.max(d, Math.abs(g[j]! - a[j]!));
    m = Math.max(m, Math.abs(a[j]!));
  }
  return [d, m];
}

describe('conv biases that instance norm cancels (under a tape)', () => {
  it('are left out with a zero gradient; every other gradient and the loss as with the bias added', () => {
    const G = resnetLike();
    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 5);
    const target = tf.randomNormal([1, 16, 16, 3], 0, 0.5, 'float32', 6);
    const vars = G.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = () => {
      const r = gradStep(G, x, target, vars);
      return { ...r, sums: r.calls('Sum'), adds: r.calls('Add') };
    };
    step(); // warm-up: variables' first reads
    const before = tf.memory().numTensors;
    const skip = step();
    expect(tf.memory().numTensors).toBe(before);
    lazyConvGradOptions.skipCancelledBias = false;
    const added = step();
    expect(tf.memory().numTensors).toBe(before);
    // the same set of gradients, one per variable (the optimizer keys its moments by position)
    expect(Object.keys(skip.grads)).toEqual(Object.keys(added.grads));
    expect(Object.keys(skip.grads).length).toBe(vars.length);
    const cancelled = (name: string) => /^(c1|t2)\/bias/.test(name);
    expect(Object.keys(skip.grads).filter(cancelled).length).toBe(2);
    let cancelledMax = 0;
    for (const [name, g] of Object.entries(skip.grads)) {
      const a = added.grads[name]!;
      if (cancelled(name)) {
        expect(g.every((v) => v === 0)).toBe(true);
        // computed, that gradient is rounding noise: the sum of IN's input gradient over the pixels
        for (const v of a) cancelledMax = Math.max(cancelledMax, Math.abs(v));
        continue;
      }
      const [d, m] = diffAndScale(g, a);
      expect(d, name).toBeLessThanOrEqual(1e-5 * Math.max(1, m));
    }
    expect(cancelledMax).toBeLessThan(1e-5);
    // s3 feeds IN and the skip connection, last feeds tanh: both keep their bias and its gradient
    expect(Object.entries(added.grads).filter(([n]) => /^(s3|last)\/bias/.test(n)).every(([, g]) => g.some((v) => Math.abs(v) > 1e-4))).toBe(true);
    expect(Math.abs(skip.loss - added.loss)).toBeLessThan(1e-5 * Math.max(1, added.loss));
    // c1 and t2: one bias Add and one Sum (its gradient) each fewer
    expect(added.adds - skip.adds).toBe(2);
    expect(added.sums - skip.sums).toBe(2);
    G.dispose();
    tf.dispose([x, target]);
  });

  it('are still added without a tape (inference)', () => {
    const G = resnetLike();
    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 7);
    const { times } = withKernelTimes(() => tf.tidy(() => (G.predict(x) as tf.Tensor).dataSync()));
    // fused convolutions with their bias, and the transposed one's bias Add
    expect(times.get('FusedConv2D')?.calls).toBe(3);
    expect(times.get('Add')?.calls).toBeGreaterThanOrEqual(1);
    G.dispose();
    x.dispose();
  });
});

/** A residual-block-like stack: reflection-pad 1, 3x3 'valid' conv (bias), ReLU, again without bias. */
function resBlock(C: number): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, C] });
  let h = new ReflectionPadding2D({ padding: 1 }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: C, kernelSize: 3, padding: 'valid', kernelInitializer: tf.initializers.randomNormal({ stddev: 0.05, seed: 1 }) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  h = new ReflectionPadding2D({ padding: 1 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: C, kernelSize: 3, padding: 'valid', useBias: false, kernelInitializer: tf.initializers.randomNormal({ stddev: 0.05, seed: 2 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

describe('reflection-pad + 3x3 convolution gradient as one kernel (kernels/reflect-conv.ts)', () => {
  it.skipIf(process.env.ATELIER_TEST_BACKEND === 'cpu')('gives the same input and weight gradients as the two ops, without the padded map\'s gradient (skipped on the cpu backend: the kernel is ours, wasm only)', () => {
    const M = resBlock(64);
    const x = tf.variable(tf.randomNormal([1, 12, 12, 64], 0, 1, 'float32', 5));
    const target = tf.randomNormal([1, 12, 12, 64], 0, 1, 'float32', 6);
    const grads = () => {
      const before = tf.memory().numTensors;
      const vars = [x, ...M.trainableWeights.map((w) => w.read() as tf.Variable)];
      const { result, times } = withKernelTimes(() => tf.variableGrads(() => tf.mean(tf.mul(M.apply(x) as tf.Tensor, target)) as tf.Scalar, vars));
      const out = vars.map((v) => result.grads[v.name]!.dataSync().slice());
      tf.dispose([result.value, ...Object.values(result.grads)]);
      expect(tf.memory().numTensors).toBe(before);
      const calls = (k: string) => [...times.entries()].filter(([name]) => name.startsWith(k)).reduce((s, [, v]) => s + v.calls, 0);
      return { out, fused: calls('AtelierReflectConvGradInput'), padGrads: calls('AtelierReflectPadGrad'), inputGrads: calls('Conv2DBackpropInput') };
    };
    const ours = grads();
    reflectConvOptions.enabled = false;
    const ops = grads();
    expect([ours.fused, ours.padGrads, ours.inputGrads]).toEqual([2, 0, 0]);
    expect([ops.fused, ops.padGrads, ops.inputGrads]).toEqual([0, 2, 2]);
    expect(ours.out.length).toBe(4);
    ours.out.forEach((g, i) => {
      const ref = ops.out[i]!;
      let d = 0;
      let m = 0;
      for (let j = 0; j < g.length; j++) {
        d = Math.max(d, Math.abs(g[j]! - ref[j]!));
        m = Math.max(m, Math.abs(ref[j]!));
      }
      expect(d / Math.max(1e-3, m)).toBeLessThan(1e-4);
    });
    M.dispose();
    tf.dispose([x, target]);
  });

  it('keeps conv2d\'s own gradient for a padded tensor made outside the tape (its gradient is asked for itself)', () => {
    const conv = tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'valid', useBias: false });
    const x = tf.randomNormal([1, 10, 10, 64], 0, 1, 'float32', 7) as tf.Tensor4D;
    const xp = reflectionPad2d(x, 1);
    tf.tidy(() => conv.apply(xp) as tf.Tensor); // builds the kernel
    const before = tf.memory().numTensors;
    const { result, times } = withKernelTimes(() => tf.grad((t: tf.Tensor) => tf.sum(conv.apply(t) as tf.Tensor))(xp));
    expect(result.shape).toEqual([1, 12, 12, 64]);
    expect([...times.keys()].some((k) => k.startsWith('AtelierReflectConvGradInput'))).toBe(false);
    result.dispose();
    expect(tf.memory().numTensors).toBe(before);
    conv.dispose();
    tf.dispose([x, xp]);
  });
});

/**
 * Conv (bias) -> IN -> ReLU, conv (bias) -> IN -> LeakyReLU, and an IN whose output feeds a ReLU
 * and a skip connection (not fused), then a last conv (bias, tanh).
 */
function normActNet(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });
  const input = tf.input({ shape: [8, 8, 4] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', biasInitializer: init(1), name: 'c1' }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(new InstanceNormalization({ affine: false }).apply(h)) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', biasInitializer: init(2), name: 'c2' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(new InstanceNormalization({ affine: false }).apply(h)) as tf.SymbolicTensor;
  const n = new InstanceNormalization({ affine: false }).apply(tf.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'same', useBias: false, name: 'c3' }).apply(h)) as tf.SymbolicTensor;
  h = tf.layers.add().apply([tf.layers.reLU().apply(n) as tf.SymbolicTensor, n]) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh', biasInitializer: init(4), name: 'last' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

describe('instance norm with the ReLU / LeakyReLU after it, and the cancelled bias, in one op (under a tape)', () => {
  it('gives the layers\' values and gradients, fused where the activation is the norm\'s one consumer', () => {
    const G = normActNet();
    const x = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 8);
    const target = tf.randomNormal([1, 4, 4, 3], 0, 0.5, 'float32', 9);
    const vars = G.trainableWeights.map((w) => w.read() as tf.Variable);
    const step = () => {
      const { grads, loss, calls } = gradStep(G, x, target, vars);
      return { grads, loss, relu: calls('Relu'), leaky: calls('LeakyRelu'), actGrad: calls('AtelierLeakyReluGrad'), fused: calls('AtelierInstanceNormAct'), fusedGrad: calls('AtelierInstanceNormActGrad') };
    };
    step(); // warm-up: variables' first reads
    const before = tf.memory().numTensors;
    const fused = step();
    expect(tf.memory().numTensors).toBe(before);
    normActOptions.enabled = false;
    const layers = step();
    expect(tf.memory().numTensors).toBe(before);
    if (tf.getBackend() === 'wasm') {
      // c1's and c2's norms take their activation; c3's norm also feeds the skip connection
      expect([fused.fused, fused.fusedGrad, fused.relu, fused.leaky, fused.actGrad]).toEqual([2, 2, 1, 0, 1]);
      expect([layers.fused, layers.relu, layers.leaky, layers.actGrad]).toEqual([0, 2, 1, 3]);
    }
    expect(Object.keys(fused.grads)).toEqual(Object.keys(layers.grads));
    expect(Object.keys(fused.grads).length).toBe(vars.length);
    for (const [name, g] of Object.entries(fused.grads)) {
      const a = layers.grads[name]!;
      if (/^(c1|c2)\/bias/.test(name)) {
        expect(g.every((v) => v === 0) && a.every((v) => v === 0), name).toBe(true);
        continue;
      }
      const [d, m] = diffAndScale(g, a);
      expect(d, name).toBeLessThanOrEqual(1e-5 * Math.max(1, m));
    }
    expect(Math.abs(fused.loss - layers.loss)).toBeLessThan(1e-6 * Math.max(1, layers.loss));
    G.dispose();
    tf.dispose([x, target]);
  });

  it('leaves inference to the layers', () => {
    const G = normActNet();
    const x = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 10);
    const { times } = withKernelTimes(() => tf.tidy(() => (G.predict(x) as tf.Tensor).dataSync()));
    expect(times.get('AtelierInstanceNormAct')?.calls ?? 0).toBe(0);
    if (tf.getBackend() === 'wasm') expect(times.get('Relu')?.calls).toBe(2);
    G.dispose();
    x.dispose();
  });
});
