import { tf, initBackend } from '../src/main/engine/backend';
await initBackend();
for (const [alignCorners, hp, oh, ow] of [[false, false, 16, 16], [false, true, 16, 16], [true, false, 16, 16], [false, false, 13, 11], [false, true, 5, 7]] as const) {
  const shape = [2, 8, 8, 3];
  const n = 2 * 8 * 8 * 3;
  const idx = tf.range(0, n).reshape(shape) as tf.Tensor4D;
  const c = tf.randomNormal([2, oh, ow, 3], 0, 1, 'float32', 3);
  const out: Record<string, Float32Array> = {};
  for (const be of ['wasm', 'cpu']) {
    await tf.setBackend(be);
    const src = tf.image.resizeNearestNeighbor(idx, [oh, ow], alignCorners, hp).dataSync();
    const cv = c.dataSync();
    const ref = new Float32Array(n);
    src.forEach((s, i) => (ref[s] += cv[i]));
    const g = tf.grad((t: tf.Tensor) => tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [oh, ow], alignCorners, hp).mul(c).sum())(idx.toFloat()).dataSync() as Float32Array;
    let d = 0; ref.forEach((v, i) => (d = Math.max(d, Math.abs(v - g[i]))));
    out[be] = ref;
    console.log(be, { alignCorners, hp, oh, ow }, 'grad vs forward-derived reference maxdiff', d.toExponential(2));
  }
  let d = 0; out.wasm!.forEach((v, i) => (d = Math.max(d, Math.abs(v - out.cpu![i]))));
  console.log('   forward mappings agree across backends:', d === 0);
}
// maxPool
for (const be of ['wasm', 'cpu']) {
  await tf.setBackend(be);
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const c = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 3);
  const g = tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'same').mul(c).sum())(x).dataSync();
  // reference: argmax in each window
  const xv = x.dataSync(); const cv = c.dataSync(); const ref = new Float32Array(xv.length);
  for (let b = 0; b < 2; b++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let ch = 0; ch < 3; ch++) {
    let best = -Infinity, bi = -1;
    for (let di = 0; di < 2; di++) for (let dj = 0; dj < 2; dj++) { const k = ((b * 8 + 2 * i + di) * 8 + 2 * j + dj) * 3 + ch; if (xv[k] > best) { best = xv[k]; bi = k; } }
    ref[bi] += cv[((b * 4 + i) * 4 + j) * 3 + ch];
  }
  let d = 0; ref.forEach((v, i) => (d = Math.max(d, Math.abs(v - g[i]))));
  console.log(be, 'maxPool grad vs reference', d.toExponential(2));
}
