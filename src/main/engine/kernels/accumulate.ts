/**
 * Sums of gradients, added in place over both threads.
 *
 * CycleGAN's generator gradient is the sum of one gradient per independent graph (models/
 * cyclegan.ts: four graphs, each generator's variables in three of them): two stock Adds per
 * variable, each a new tensor and a single-threaded pass over three arrays (~15.7M floats of
 * generator weights: ~0.4 GB of memory traffic a step). Here the running sum, a tensor nobody else
 * holds, takes each next gradient in place: runs of floats added by runs-simd.ts's addRuns, pieces
 * of one variable shared out over the products' helper thread (pool-calls.ts). The float32 adds
 * are the same as Add's, so the sums are the same bits.
 */
import * as tf from '@tensorflow/tfjs';
import { runList, runsOptions } from './runs-simd';
import { type BackendWasm, heapOffset } from './wasm-util';

/** ATELIER_ACCUMULATE=0: a new tensor per sum by tf.add (A/B). */
export const accumulateOptions = { enabled: process.env.ATELIER_ACCUMULATE !== '0' };
/** Floats per piece of a variable (one group of the call list each). */
const PIECE = 1 << 16;

/**
 * sum[name] += grads[name] for every name (a missing sum takes the gradient itself). Every
 * gradient is consumed: disposed, or kept as the sum. In place where the backend is wasm, the sum
 * is float32 with its data held by no other tensor and a multiple of 4 floats; else tf.add (the
 * old sum disposed).
 */
export function accumulateInto(sum: tf.NamedTensorMap, grads: tf.NamedTensorMap): void {
  const backend = tf.getBackend() === 'wasm' ? (tf.backend() as unknown as BackendWasm & { refCount(id: object): number }) : null;
  const inPlace: [string, tf.Tensor, tf.Tensor][] = [];
  for (const [name, g] of Object.entries(grads)) {
    const prev = sum[name];
    if (!prev) {
      sum[name] = g;
      continue;
    }
    const ok =
      backend != null && accumulateOptions.enabled && runsOptions.enabled && prev.dtype === 'float32' && g.dtype === 'float32' &&
      prev.size === g.size && prev.size % 4 === 0 && prev.dataId !== g.dataId && backend.refCount(prev.dataId) === 1;
    if (ok) {
      inPlace.push([name, prev, g]);
      continue;
    }
    sum[name] = tf.add(prev, g);
    tf.dispose([prev, g]);
  }
  if (inPlace.length === 0) return;
  let pieces = 0;
  for (const [, p] of inPlace) pieces += Math.ceil(p.size / PIECE);
  const runs = runList(backend!, pieces);
  if (!runs) {
    for (const [name, prev, g] of inPlace) {
      sum[name] = tf.add(prev, g);
      tf.dispose([prev, g]);
    }
    return;
  }
  let key = 0;
  for (const [, prev, g] of inPlace) {
    const d = heapOffset(backend!, prev), s = heapOffset(backend!, g);
    for (let f = 0; f < prev.size; f += PIECE) runs.push(d + f * 4, s + f * 4, Math.min(PIECE, prev.size - f), key++);
  }
  // one group per key: disjoint pieces, over both threads
  runs.apply(backend!, 'add');
  tf.dispose(inPlace.map(([, , g]) => g));
}
