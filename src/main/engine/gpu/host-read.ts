/**
 * Host-side work on tensors a GPU backend made. tfjs-backend-webgpu reads synchronously only in
 * browsers (through a canvas); in Node every dataSync on GPU-resident data throws. The sample
 * grid, the checkpoint timeline and their statistics read synchronously, so on webgpu their
 * inputs are read once, asynchronously, and the work runs on the cpu backend.
 */
import { tf } from '../backend';

/**
 * Run `fn` on host copies of `tensors` (the cpu backend while it runs, then back), or on the
 * tensors themselves where the backend reads synchronously. The caller keeps ownership of
 * `tensors`; the copies are disposed here.
 */
export async function onHost<T, R extends Record<string, tf.Tensor>>(tensors: R, fn: (t: R) => Promise<T> | T): Promise<T> {
  const backend = tf.getBackend();
  if (backend !== 'webgpu') return fn(tensors);
  const entries = Object.entries(tensors);
  const data = await Promise.all(entries.map(([, t]) => t.data()));
  await tf.setBackend('cpu');
  const host = Object.fromEntries(entries.map(([k, t], i) => [k, tf.tensor(data[i]!, t.shape, t.dtype)])) as R;
  try {
    return await fn(host);
  } finally {
    tf.dispose(Object.values(host));
    await tf.setBackend(backend);
  }
}
