/**
 * Backend for the engine's model tests: ATELIER_TEST_BACKEND=cpu|wasm (default wasm, through the
 * project's backend chooser so our wasm kernels are registered).
 */
import { tf, initBackend } from '../../../../src/main/engine/backend';

export async function useTestBackend(): Promise<string> {
  const want = process.env.ATELIER_TEST_BACKEND ?? 'wasm';
  process.env.ATELIER_BACKEND = want;
  await initBackend();
  await tf.ready();
  return tf.getBackend();
}

/** Numeric gradient of scalar f at x (central differences), in float64 on the JS side. */
export function numericGrad(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, h = 1e-2): Float32Array {
  const base = x.dataSync().slice();
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const plus = base.slice();
    plus[i] = base[i]! + h;
    const minus = base.slice();
    minus[i] = base[i]! - h;
    const fp = tf.tidy(() => f(tf.tensor(plus, x.shape)).dataSync()[0]!);
    const fm = tf.tidy(() => f(tf.tensor(minus, x.shape)).dataSync()[0]!);
    out[i] = (fp - fm) / (2 * h);
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
