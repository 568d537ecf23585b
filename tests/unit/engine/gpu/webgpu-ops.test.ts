/**
 * WebGPU (tfjs-backend-webgpu on Dawn) against the cpu backend, on a software adapter
 * (SwiftShader; software-gpu.ts): every op training uses, forward and gradients of its inputs,
 * max |Δ| <= 1e-4 * max(1, max |cpu value|) (float32, different summation order). The model
 * kinds' three-step parity is in webgpu-train-*.test.ts (one file per kind or two: SwiftShader
 * compiles every shader on first use, tens of seconds per model, and files run in parallel).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSoftwareGpu, useSoftwareGpu } from './software-gpu';
import { GPU_TEST_TIMEOUT } from './train-parity';
import { rand } from '../kernels/helpers';
import { tf, initBackend, releaseBackend } from '../../../../src/main/engine/backend';
import { instanceNorm, reflectionPad2d } from '../../../../src/main/engine/layers';
import { ganLoss, l1 } from '../../../../src/main/engine/models/losses';

const OP_TOL = 1e-4;

/** An op of the training path: its inputs' shapes and the computation (forward; gradients are taken of sum(y * w)). */
interface OpCase {
  name: string;
  shapes: number[][];
  fn: (...xs: tf.Tensor[]) => tf.Tensor;
}

const conv = (x: tf.Tensor, w: tf.Tensor, s: number) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same');
const OPS: OpCase[] = [
  { name: 'Conv2D 4x4 stride 2 (+ Conv2DBackpropInput/Filter)', shapes: [[2, 8, 8, 3], [4, 4, 3, 5]], fn: (x, w) => conv(x!, w!, 2) },
  { name: 'Conv2D 3x3 stride 1', shapes: [[1, 6, 6, 4], [3, 3, 4, 4]], fn: (x, w) => conv(x!, w!, 1) },
  { name: 'Conv2D 7x7 valid (ResNet stem after reflection padding)', shapes: [[1, 10, 10, 3], [7, 7, 3, 2]], fn: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid') },
  { name: 'Conv2DTranspose 4x4 stride 2', shapes: [[2, 4, 4, 5], [4, 4, 3, 5]], fn: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 3], 2, 'same') },
  { name: 'bias add + LeakyRelu 0.2', shapes: [[2, 4, 4, 3], [3]], fn: (x, b) => tf.leakyRelu(tf.add(x!, b!), 0.2) },
  { name: 'Relu, Tanh, Sigmoid', shapes: [[2, 4, 4, 3]], fn: (x) => tf.add(tf.add(tf.relu(x!), tf.tanh(x!)), tf.sigmoid(x!)) },
  {
    name: 'batch norm in training (moments + FusedBatchNorm)',
    shapes: [[2, 4, 4, 3], [3], [3]],
    fn: (x, g, b) => {
      const { mean, variance } = tf.moments(x!, [0, 1, 2]);
      return tf.batchNorm(x!, mean, variance, b!, g!, 1e-3);
    },
  },
  { name: 'instance norm (own layer op)', shapes: [[2, 4, 4, 3]], fn: (x) => instanceNorm(x as tf.Tensor4D) },
  { name: 'reflection padding (own gradient) + MirrorPad', shapes: [[1, 5, 5, 2]], fn: (x) => reflectionPad2d(x as tf.Tensor4D, 2) },
  { name: 'ResizeNearestNeighbor x2, half-pixel centres (+ its gradient)', shapes: [[1, 3, 3, 2]], fn: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [6, 6], false, true) },
  { name: 'Concat on channels (U-Net skips)', shapes: [[1, 4, 4, 2], [1, 4, 4, 3]], fn: (a, b) => tf.concat([a!, b!], 3) },
  { name: 'MatMul + reshape (dense layers of gan/cgan/autoencoder)', shapes: [[3, 8], [8, 6]], fn: (a, b) => tf.reshape(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), [3, 2, 3]) },
  { name: 'Mean, Sum, Square, Abs over spatial axes', shapes: [[2, 4, 4, 3]], fn: (x) => tf.add(tf.mean(tf.abs(x!), [1, 2]), tf.sum(tf.square(x!), [1, 2])) },
  { name: 'GAN losses: BCE with logits and least squares, L1', shapes: [[2, 3, 3, 1], [2, 3, 3, 1]], fn: (d, g) => tf.stack([ganLoss(d!, true, 'vanilla'), ganLoss(d!, false, 'lsgan'), l1(d!, g!)]) },
];

/** Forward values and gradients of one op on one backend, read asynchronously (webgpu has no sync reads in Node). */
async function evalOn(backend: string, c: OpCase): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const xs = c.shapes.map((s, i) => tf.tensor(rand(s.reduce((a, b) => a * b, 1), 11 + i), s));
  const [y, grads] = tf.tidy(() => {
    const yv = c.fn(...xs);
    const w = tf.tensor(rand(yv.size, 97), yv.shape);
    const g = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(c.fn(...ins), w)))(xs);
    return [yv, g] as const;
  });
  const out = (await Promise.all([y, ...grads].map((t) => t.data()))) as Float32Array[];
  tf.dispose([y, ...grads, ...xs]);
  expect(tf.memory().numTensors, `${c.name} leaks tensors on ${backend}`).toBe(before);
  return out;
}

const skip = noSoftwareGpu;
describe.skipIf(skip !== null)(`WebGPU vs cpu on a software adapter${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    useSoftwareGpu();
    process.env.ATELIER_BACKEND = 'webgpu';
    const info = await initBackend();
    expect(info.backend).toBe('webgpu');
    expect(info.webgpu.adapter?.isFallbackAdapter).toBe(true);
  });
  afterAll(async () => {
    await releaseBackend();
    delete process.env.ATELIER_BACKEND;
  });

  it.each(OPS.map((c) => [c.name, c] as const))(`op parity (|Δ| <= ${OP_TOL} x scale): %s`, async (_name, c) => {
    const cpu = await evalOn('cpu', c);
    const gpu = await evalOn('webgpu', c);
    expect(gpu.length).toBe(cpu.length);
    cpu.forEach((want, k) => {
      const got = gpu[k]!;
      expect(got.length).toBe(want.length);
      let scale = 1;
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i]!));
        worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      }
      expect(worst, `${c.name}: ${k === 0 ? 'forward' : `gradient of input ${k - 1}`}`).toBeLessThanOrEqual(OP_TOL * scale);
    });
  }, GPU_TEST_TIMEOUT);
});
