// Scratch: gradients of many ops on wasm (with our kernels) vs cpu. Expected DIFFs: resizeNN* (the cpu
// backend's ResizeNearestNeighborGrad is wrong for batch > 1; ours is checked against the forward mapping).
import { tf, initBackend } from '../src/main/engine/backend';
await initBackend();
const T = (s: number[], seed: number) => tf.randomNormal(s, 0, 1, 'float32', seed);
const x = T([2, 8, 8, 3], 1);
const w = T([3, 3, 3, 4], 2);
const wt = T([4, 4, 5, 3], 3);
const y = T([2, 4, 4, 3], 4);
const b4 = T([4], 5);
type G = () => tf.Tensor[];
const f = (fn: (t: tf.Tensor) => tf.Tensor): G => () => [tf.grad((t: tf.Tensor) => fn(t).sum())(x)];
const cases: Record<string, G> = {
  conv2dS1same: f((t) => tf.conv2d(t as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')),
  conv2dS2valid: f((t) => tf.conv2d(t as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid')),
  conv2dS2same: f((t) => tf.conv2d(t as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')),
  conv2dFilter: () => [tf.grad((ww: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same').square().sum())(w)],
  convT: () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 8, 8, 5], 2, 'same').square().sum())([y, wt]),
  fusedConvLeaky: () => tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.fused.conv2d({ x: a as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: 2, pad: 'same', bias: bb, activation: 'leakyrelu', leakyreluAlpha: 0.2 }).square().sum())([x, w, b4]),
  fusedMatMul: () => tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: r, activation: 'relu' }).square().sum())([x.reshape([2, 192]), T([192, 4], 6), b4]),
  batchNorm: () => tf.grads((a: tf.Tensor, m: tf.Tensor, vv: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => tf.batchNorm(a, m, vv, o, s, 1e-3).square().sum())([x, T([3], 7), T([3], 8).abs().add(0.5), T([3], 9), T([3], 10)]),
  moments: f((t) => { const { mean, variance } = tf.moments(t, [1, 2], true); return t.sub(mean).div(variance.add(1e-5).sqrt()).mul(t); }),
  leakyRelu: f((t) => tf.leakyRelu(t, 0.2).square()),
  relu: f((t) => tf.relu(t).square()),
  tanh: f((t) => tf.tanh(t).square()),
  sigmoid: f((t) => tf.sigmoid(t).square()),
  mirrorPad: f((t) => tf.mirrorPad(t, [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect').square()),
  pad: f((t) => tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]]).square()),
  resizeNN: f((t) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [16, 16]).square()),
  resizeNNhp: f((t) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [16, 16], false, true).square()),
  resizeNNodd: f((t) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [13, 11]).square()),
  resizeBil: f((t) => tf.image.resizeBilinear(t as tf.Tensor4D, [16, 16]).square()),
  resizeBilAC: f((t) => tf.image.resizeBilinear(t as tf.Tensor4D, [16, 16], true).square()),
  resizeBilHP: f((t) => tf.image.resizeBilinear(t as tf.Tensor4D, [16, 16], false, true).square()),
  resizeBilOdd: f((t) => tf.image.resizeBilinear(t as tf.Tensor4D, [13, 11]).square()),
  concat: f((t) => tf.concat([t, t.mul(2)], 3).square()),
  slice: f((t) => tf.slice(t, [0, 1, 1, 0], [2, 4, 4, 3]).square()),
  mean: f((t) => tf.mean(t, [1, 2]).square()),
  sigmoidCE: f((t) => tf.losses.sigmoidCrossEntropy(tf.onesLike(t), t)),
  sigmoidCEls: f((t) => tf.losses.sigmoidCrossEntropy(tf.onesLike(t), t, undefined, 0.1)),
  mse: f((t) => tf.losses.meanSquaredError(tf.zerosLike(t), t)),
  absDiff: f((t) => tf.abs(t.sub(1)).mean()),
  maxPool: f((t) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'same').square()),
  avgPool: f((t) => tf.avgPool(t as tf.Tensor4D, 3, 2, 'same').square()),
  gather: f((t) => tf.gather(t, [1, 0, 1], 0).square()),
  embedding: () => [tf.grad((e: tf.Tensor) => tf.gather(e, tf.tensor1d([3, 1, 3, 0], 'int32')).mul(T([4, 6], 12)).sum())(T([5, 6], 11))],
  batchMatMul3d: f((t) => tf.matMul(t.reshape([2, 64, 3]), t.reshape([2, 3, 64])).square()),
  softplus: f((t) => tf.softplus(t).square()),
  sqrt: f((t) => tf.sqrt(t.abs().add(1)).square()),
  max: f((t) => tf.max(t, [1, 2]).square()),
  tile: f((t) => tf.tile(t, [1, 2, 1, 1]).square()),
  transpose: f((t) => tf.transpose(t, [0, 3, 1, 2]).mul(tf.range(0, 8))),
  prelu: f((t) => tf.prelu(t, tf.fill([3], 0.1)).square()),
  elu: f((t) => tf.elu(t).square()),
  squaredDiff: f((t) => tf.squaredDifference(t, 1)),
  clip: f((t) => tf.clipByValue(t, -0.5, 0.5).square()),
};
const res: Record<string, Float32Array[]> = {};
for (const [n, g] of Object.entries(cases)) res[n] = tf.tidy(g).map((t) => { const d = t.dataSync() as Float32Array; t.dispose(); return d; });
await tf.setBackend('cpu');
for (const [n, g] of Object.entries(cases)) {
  const c = tf.tidy(g).map((t) => { const d = t.dataSync() as Float32Array; t.dispose(); return d; });
  let md = 0, mx = 0;
  c.forEach((a, i) => a.forEach((v, j) => { md = Math.max(md, Math.abs(v - res[n]![i]![j]!)); mx = Math.max(mx, Math.abs(v)); }));
  console.log(md / Math.max(1, mx) > 1e-5 ? 'DIFF' : 'ok  ', n.padEnd(16), md.toExponential(2), 'max|g|', mx.toFixed(2));
}
