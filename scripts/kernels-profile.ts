// Scratch: per-kernel time of one U-Net generator fwd+bwd step on wasm.
import { tf, initBackend } from '../src/main/engine/backend';
import { useWasmKernel } from '../src/main/engine/kernels';
await initBackend();
const S = Number(process.argv[2] ?? 128);
const which = (process.argv[3] ?? 'ours') as 'ours' | 'stock';
useWasmKernel('Conv2DBackpropInput', which);
const times = new Map<string, { ms: number; n: number }>();
for (const k of tf.getKernelsForBackend('wasm')) {
  const orig = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({ ...k, setupFunc: undefined, kernelFunc: (a) => {
    const t0 = performance.now();
    const r = orig(a);
    const e = times.get(k.kernelName) ?? { ms: 0, n: 0 };
    e.ms += performance.now() - t0; e.n++;
    times.set(k.kernelName, e);
    return r;
  } });
}
const ngf = 64, depth = Math.log2(S);
const chans = (i: number) => ngf * Math.min(8, 2 ** i);
const ws: tf.Tensor[] = [];
for (let i = 0; i < depth; i++) ws.push(tf.randomNormal([4, 4, i === 0 ? 3 : chans(i - 1), chans(i)], 0, 0.02));
const up: [number, number][] = [];
for (let i = depth - 1; i >= 0; i--) up.push([i === 0 ? 3 : chans(i - 1), i === depth - 1 ? chans(i) : chans(i) * 2]);
for (const [co, ci] of up) ws.push(tf.randomNormal([4, 4, co, ci], 0, 0.02));
const x = tf.randomNormal([1, S, S, 3]);
const g = (...w: tf.Tensor[]) => {
  const skips: tf.Tensor4D[] = [];
  let h = x as tf.Tensor4D;
  for (let i = 0; i < depth; i++) { h = tf.conv2d(i === 0 ? h : tf.leakyRelu(h, 0.2), w[i] as tf.Tensor4D, 2, 'same'); skips.push(h); }
  for (let j = 0; j < depth; j++) {
    const i = depth - 1 - j;
    const inp = j === 0 ? h : (tf.concat([h, skips[i]!], 3) as tf.Tensor4D);
    h = tf.conv2dTranspose(tf.relu(inp), w[depth + j] as tf.Tensor4D, [1, S >> i, S >> i, up[j]![0]], 2, 'same');
  }
  return tf.mean(tf.abs(tf.tanh(h).sub(x))) as tf.Scalar;
};
const step = () => { const r = tf.tidy(() => tf.valueAndGrads(g)(ws).grads[0]!); r.dataSync(); r.dispose(); };
step(); times.clear();
const t0 = performance.now(); step(); const total = performance.now() - t0;
console.log(`${S}px ${which}: step ${total.toFixed(0)} ms`);
[...times.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10).forEach(([k, v]) => console.log(`  ${k.padEnd(24)} ${v.ms.toFixed(0).padStart(6)} ms  ${v.n} calls`));
