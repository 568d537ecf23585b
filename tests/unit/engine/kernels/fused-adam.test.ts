import { beforeAll, describe, expect, it } from 'vitest';
import { ADAM_POOL_MODULE, adamBitsOf, createAdamSimd } from '../../../../src/main/engine/kernels/adam-simd';
import { f32Bits } from '../../../../src/main/engine/kernels/wasm-asm';
import { CallList, callListOptions, callListStats } from '../../../../src/main/engine/kernels/pool-calls';
import { FusedAdamOptimizer, fusedAdam } from '../../../../src/main/engine/kernels/fused-adam';
import { counts, initWasm, rand, relDiff, tf, memoryWithPool } from './helpers';

const shapes = [[3, 3, 5, 4], [4], [7, 6], [1]];

/** Run `steps` Adam steps on a small quadratic-ish loss; return final weights and moments. */
async function train(opt: tf.AdamOptimizer, steps: number, tag: string): Promise<{ weights: Float32Array[]; state: Float32Array[] }> {
  const vars = shapes.map((s, i) => tf.variable(tf.tensor(rand(s.reduce((a, b) => a * b, 1), 10 + i), s), true, `${tag}_w${i}`));
  const targets = shapes.map((s, i) => tf.tensor(rand(s.reduce((a, b) => a * b, 1), 20 + i, 2), s));
  for (let k = 0; k < steps; k++) {
    opt.minimize(() => tf.addN(vars.map((v, i) => tf.sum(tf.square(tf.sub(tf.mul(v, v), targets[i]!))))) as tf.Scalar, false, vars);
  }
  const weights = vars.map((v) => Float32Array.from(v.dataSync()));
  const state = (await opt.getWeights()).map((w) => Float32Array.from(w.tensor.dataSync()));
  tf.dispose([...vars, ...targets]);
  return { weights, state };
}

describe('FusedAdamOptimizer', () => {
  beforeAll(initWasm);

  it('assembles the SIMD update against the wasm backend memory', () => {
    const memory = (tf.engine().backend as unknown as { wasm: { asm: { memory: { buffer: ArrayBuffer } } } }).wasm.asm.memory;
    expect(memory.buffer.byteLength).toBeGreaterThan(0);
    expect(createAdamSimd(memory)).toBeTypeOf('function');
  });

  it('matches tf.train.adam over 20 steps on wasm (weights and moments)', async () => {
    const stock = await train(tf.train.adam(2e-2, 0.5, 0.999), 20, 'stock');
    const fusedOpt = fusedAdam(2e-2, 0.5, 0.999);
    const fused = await train(fusedOpt, 20, 'fused');
    expect(fused.state.length).toBe(stock.state.length);
    for (const [a, b] of [...fused.weights.map((w, i) => [w, stock.weights[i]!]), ...fused.state.map((w, i) => [w, stock.state[i]!])] as [Float32Array, Float32Array][]) {
      expect(relDiff(a, b)).toBeLessThan(1e-6);
      expect(Array.from(a)).toEqual(Array.from(b)); // same float32 op sequence: bit-identical
    }
    // The weights moved: the comparison is not vacuous.
    const start = rand(3 * 3 * 5 * 4, 10);
    expect(relDiff(fused.weights[0]!, start)).toBeGreaterThan(1e-2);
    fusedOpt.dispose();
  });

  it('the scalar JS fallback matches tf.train.adam too', async () => {
    const stock = await train(tf.train.adam(2e-2, 0.5, 0.999), 20, 'stockJs');
    const opt = fusedAdam(2e-2, 0.5, 0.999);
    opt.useSimd = false;
    const fused = await train(opt, 20, 'fusedJs');
    fused.weights.forEach((w, i) => expect(relDiff(w, stock.weights[i]!)).toBeLessThan(1e-6));
    opt.dispose();
  });

  it('matches with default betas/epsilon and after setWeights from a stock optimizer', async () => {
    const stockOpt = tf.train.adam(1e-2);
    await train(stockOpt, 3, 'resumeA');
    const fusedOpt = new FusedAdamOptimizer(1e-2, 0.9, 0.999);
    await fusedOpt.setWeights(await stockOpt.getWeights());
    const continuedStock = await train(stockOpt, 5, 'resumeB');
    const continuedFused = await train(fusedOpt, 5, 'resumeC');
    continuedFused.weights.forEach((w, i) => expect(relDiff(w, continuedStock.weights[i]!)).toBeLessThan(1e-6));
    stockOpt.dispose();
    fusedOpt.dispose();
  });

  it('runs the update without element-wise kernels on wasm (one pass per variable)', async () => {
    const vars = shapes.map((s, i) => tf.variable(tf.tensor(rand(s.reduce((a, b) => a * b, 1), 30 + i), s), true, `prof_w${i}`));
    const grads = Object.fromEntries(vars.map((v) => [v.name, tf.onesLike(v)]));
    const kernelsPerStep = async (opt: tf.Optimizer) => {
      opt.applyGradients(grads); // first step creates the moments
      const info = await tf.profile(() => opt.applyGradients(grads));
      opt.dispose();
      return info.kernels.length;
    };
    const stockKernels = await kernelsPerStep(tf.train.adam(1e-3));
    const fusedKernels = await kernelsPerStep(fusedAdam(1e-3));
    expect(stockKernels).toBeGreaterThanOrEqual(10 * vars.length);
    expect(fusedKernels).toBeLessThanOrEqual(4); // only the two beta-power scalars
    tf.dispose([...vars, ...Object.values(grads)]);
  });

  it('defers to tf.AdamOptimizer on cpu', async () => {
    await tf.setBackend('cpu');
    try {
      const a = await train(tf.train.adam(1e-2), 4, 'cpuA');
      const b = await train(fusedAdam(1e-2), 4, 'cpuB');
      b.weights.forEach((w, i) => expect(relDiff(w, a.weights[i]!)).toBeLessThan(1e-6));
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('leaks no tensors or wasm buffers across steps', () => {
    const opt = fusedAdam(1e-3);
    const v = tf.variable(tf.tensor(rand(64, 3), [8, 8]), true, 'leak_w');
    const step = () => opt.minimize(() => tf.sum(tf.square(v)) as tf.Scalar, false, [v]);
    step(); // creates the moments
    const before = counts();
    for (let i = 0; i < 5; i++) step();
    expect(counts()).toEqual(before);
    opt.dispose();
    v.dispose();
  });
});

describe('adam-simd on a bare memory', () => {
  /** Run the SIMD update on a memory we fill ourselves and compare with the float32 formula. */
  function check(shared: boolean) {
    const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer } } }).WebAssembly;
    const memory = new WA.Memory(shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1 });
    expect(memory.buffer instanceof SharedArrayBuffer).toBe(shared);
    const fn = createAdamSimd(memory);
    expect(fn).toBeTypeOf('function');
    const n = 12; // three blocks of 4
    const heap = new Float32Array(memory.buffer);
    const [w, g, m, v, out] = [0, 1, 2, 3, 4].map((k) => k * n);
    heap.set(rand(n, 1), w);
    heap.set(rand(n, 2), g);
    heap.set(rand(n, 3, 0.1), m);
    heap.set(rand(n, 4, 0.1).map(Math.abs), v);
    const before = heap.slice(0, 5 * n);
    const f = Math.fround;
    const [b1, b2, c1, c2, om1, om2, eps, negLr] = [0.5, 0.999, 0.5, 0.001, 0.75, 0.002, 1e-7, -0.01].map(f);
    fn!(w * 4, g * 4, m * 4, v * 4, out * 4, n / 4, b1, b2, c1, c2, om1, om2, eps, negLr);
    for (let k = 0; k < n; k++) {
      const gk = before[g + k]!;
      const m1 = f(f(before[m + k]! * b1) + f(gk * c1));
      const v1 = f(f(before[v + k]! * b2) + f(f(gk * gk) * c2));
      expect(heap[m + k]).toBe(m1);
      expect(heap[v + k]).toBe(v1);
      expect(heap[out + k]).toBe(f(f(f(f(m1 / om1) / f(f(Math.sqrt(f(v1 / om2))) + eps)) * negLr) + before[w + k]!));
    }
  }

  it('works on a non-shared memory (stock single-threaded build)', () => check(false));
  it('works on a shared memory (threaded build)', () => check(true));

  it('adamBits (scalars as float32 bits) through a call list split over the helper thread: the same bits as adam in one call', async () => {
    const { mem: memory } = await memoryWithPool(); // the helper, with adam-simd's registered module
    const fn = createAdamSimd(memory)!;
    const bits = adamBitsOf(fn)!;
    expect(bits).toBeTypeOf('function');
    const n = 4 * 1000; // 1000 blocks
    const heap = new Float32Array(memory.buffer);
    const init = [rand(n, 5), rand(n, 6), rand(n, 7, 0.1), rand(n, 8, 0.1).map(Math.abs)];
    const f = Math.fround;
    const scalars = [0.5, 0.999, 0.5, 0.001, 0.75, 0.002, 1e-7, -0.01].map(f);
    // w, g, m, v, out at `base` (floats); returns m, v and out afterwards
    const run = (base: number, how: 'one' | 'whole' | 'split') => {
      init.forEach((a, k) => heap.set(a, base + k * n));
      const [w, gr, m, v, out] = [0, 1, 2, 3, 4].map((k) => (base + k * n) * 4);
      if (how === 'one') fn(w!, gr!, m!, v!, out!, n / 4, ...(scalars as [number, number, number, number, number, number, number, number]));
      else {
        callListOptions.minGroups = how === 'split' ? 2 : Infinity;
        const list = new CallList(memory as never, ADAM_POOL_MODULE, [bits as (...a: number[]) => void]);
        // pieces of 64 blocks (a last short one)
        for (let b0 = 0; b0 < n / 4; b0 += 64) list.group().call(0, w! + b0 * 16, gr! + b0 * 16, m! + b0 * 16, v! + b0 * 16, out! + b0 * 16, Math.min(64, n / 4 - b0), ...scalars.map(f32Bits));
        list.run();
        callListOptions.minGroups = 2;
      }
      return heap.slice(base + 2 * n, base + 5 * n);
    };
    const stats = { ...callListStats };
    const one = run(0, 'one');
    const whole = run(5 * n, 'whole');
    const split = run(10 * n, 'split');
    expect([callListStats.whole - stats.whole, callListStats.split - stats.split]).toEqual([1, 1]);
    expect(Buffer.from(whole.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    expect(Buffer.from(split.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    expect(one.some((x, i) => x !== init[2]![i])).toBe(true); // m moved: not vacuous
  });
});
