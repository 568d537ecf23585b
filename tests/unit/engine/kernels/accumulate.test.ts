/**
 * Gradient sums added in place (kernels/accumulate.ts): the same bits as tf.add, the running sum
 * kept (no new tensor) where its data is its own, tf.add where it is shared or not a multiple of 4
 * floats, and on other backends; every gradient consumed, no leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { accumulateInto } from '../../../../src/main/engine/kernels/accumulate';
import { counts, initWasm, rand, tf } from './helpers';

const shapes: Record<string, number[]> = { w: [3, 3, 16, 24], big: [300, 1000], b: [24], odd: [3] };
const grad = (seed: number) => Object.fromEntries(Object.entries(shapes).map(([n, s], i) => [n, tf.tensor(rand(s.reduce((a, b) => a * b, 1), seed * 10 + i), s)]));

describe('accumulateInto', () => {
  beforeAll(initWasm);

  it('adds in place on wasm: the same bits as tf.add, the sums kept where their data is their own', () => {
    const before = counts();
    const parts = [grad(1), grad(2), grad(3)];
    const want = Object.fromEntries(Object.keys(shapes).map((n) => [n, tf.tidy(() => tf.add(tf.add(parts[0]![n]!, parts[1]![n]!), parts[2]![n]!).dataSync().slice())]));
    // gradients with data of their own, as variableGrads returns them (a clone would share it)
    const own = (p: tf.NamedTensorMap) => Object.fromEntries(Object.entries(p).map(([n, t]) => [n, tf.tensor(t.dataSync(), t.shape)]));
    const sum: tf.NamedTensorMap = {};
    accumulateInto(sum, own(parts[0]!));
    const first = { ...sum };
    // a sum whose data another tensor shares must not be written: tf.add instead
    const holder = sum.b!.clone();
    const held = holder.dataSync().slice();
    for (const p of parts.slice(1)) accumulateInto(sum, own(p));
    expect(sum.w).toBe(first.w); // in place
    expect(sum.big).toBe(first.big);
    expect(sum.b).not.toBe(first.b); // shared: a new tensor
    expect(sum.odd).not.toBe(first.odd); // 3 floats: tf.add
    expect(Array.from(holder.dataSync())).toEqual(Array.from(held));
    for (const n of Object.keys(shapes)) expect(Buffer.from(sum[n]!.dataSync().buffer).equals(Buffer.from(want[n]!.buffer)), n).toBe(true);
    tf.dispose([holder, ...Object.values(sum), ...parts.flatMap((p) => Object.values(p))]);
    expect(counts()).toEqual(before);
  });

  it('adds by tf.add on the cpu backend', async () => {
    await tf.setBackend('cpu');
    try {
      const a = { x: tf.tensor([1, 2, 3, 4]) }, b = { x: tf.tensor([10, 20, 30, 40]) };
      const sum: tf.NamedTensorMap = {};
      accumulateInto(sum, a);
      accumulateInto(sum, b);
      expect(Array.from(sum.x!.dataSync())).toEqual([11, 22, 33, 44]);
      expect(a.x.isDisposed && b.x.isDisposed).toBe(true);
      sum.x!.dispose();
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
