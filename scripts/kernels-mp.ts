import { tf, initBackend } from '../src/main/engine/backend';
await initBackend();
for (const shape of [[1, 4, 4, 1], [1, 4, 4, 2], [2, 4, 4, 1]]) {
  const x = tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 1.7)), shape) as tf.Tensor4D;
  for (const be of ['wasm', 'cpu']) {
    await tf.setBackend(be);
    const g = tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').mul(tf.range(1, 1 + shape[0] * 4 * shape[3]).reshape([shape[0], 2, 2, shape[3]])).sum())(x);
    console.log(shape.join('x'), be, Array.from(g.dataSync()).join(' '));
  }
}
