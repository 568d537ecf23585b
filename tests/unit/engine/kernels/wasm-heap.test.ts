/**
 * Our kernels create filters for the backend's XNNPACK Conv2D, which caches an operator (with
 * packed weights) per filter id until that filter is disposed. A filter we forgot to release
 * would leak inside the wasm heap, invisible to tf.memory(): the heap would have to grow.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initWasm, tf } from './helpers';

const heapBytes = () => (tf.engine().backend as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;

describe('wasm heap', () => {
  beforeAll(initWasm);

  it('does not grow over many Conv2DBackpropInput / Conv2DBackpropFilter calls', () => {
    const dy = tf.randomNormal([1, 16, 16, 64], 0, 1, 'float32', 1);
    const w = tf.randomNormal([4, 4, 64, 64], 0, 1, 'float32', 2);
    const x = tf.randomNormal([1, 32, 32, 64], 0, 1, 'float32', 3);
    const step = () => {
      const o = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
        strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 32, 32, 64],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const f = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, 64, 64],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      o.dataSync();
      f.dataSync();
      tf.dispose([o, f]);
    };
    for (let i = 0; i < 3; i++) step();
    const before = heapBytes();
    // ~0.5 MB of packed weights per call if leaked: 60 calls exceed the free heap.
    for (let i = 0; i < 60; i++) step();
    expect(heapBytes()).toBe(before);
    tf.dispose([dy, w, x]);
  });
});
