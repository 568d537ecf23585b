/**
 * Adam whose update runs in one pass per variable on the wasm backend.
 *
 * tf.train.adam issues ~10 element-wise kernels per variable per step (mul, add, square, div,
 * sqrt, ...), each a separate pass over memory with its own allocation; on the wasm backend
 * that tail is a large share of a GAN step (NOTES-performance.md). This optimizer extends
 * tf.AdamOptimizer (same state layout, so getWeights/setWeights, checkpoints and resume are
 * interchangeable with tf.train.adam) and, on wasm, replaces applyGradients with a single pass
 * over the wasm heap per variable: a hand-assembled WebAssembly SIMD loop (adam-simd.ts), or a
 * scalar JS loop where SIMD is unavailable (measured ~2x SLOWER than stock, so only a fallback).
 * Both follow tfjs's op sequence in float32, so results match tf.train.adam bit for bit.
 *
 * - The moments m and v are updated in place (they are ours and never feed a convolution).
 * - The variable gets a NEW buffer, never an in-place write: the wasm Conv2D caches XNNPACK
 *   operators (with packed weights) by the filter's tensor id, so mutating a filter's data
 *   under the same id would make later convolutions use stale weights.
 * On other backends it simply defers to tf.AdamOptimizer.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_POOL_MODULE, adamBitsOf, createAdamSimd } from './adam-simd';
import { f32Bits } from './wasm-asm';
import { CallList } from './pool-calls';
import { type BackendWasm, heapF32, heapMemory, heapOffset } from './wasm-util';

interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

const f32 = Math.fround;
/**
 * Blocks of 4 floats per piece of a variable in the call list (64K floats: ~0.1 ms, 1.8 MB of
 * the five arrays), so that the large filters split and the two threads finish together.
 */
const PIECE = 16384;
/** `pool`: the updates as one call list over both threads (ATELIER_ADAM_POOL=0: one call per variable on the caller, A/B). */
export const fusedAdamOptions = { pool: process.env.ATELIER_ADAM_POOL !== '0' };
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** Use the WebAssembly SIMD loop when available (false: scalar JS loop; tests compare both). */
  useSimd = true;

  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: VariableGradients): void {
    const engine = tf.engine();
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const grads = names.map((n, i) => (Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[n]));
    const vars = names.map((n) => engine.registeredVariables[n]!);
    const st = this as unknown as AdamState;
    const backend = engine.backend as unknown as BackendWasm;
    // Everything must be float32 and already live on the wasm heap (a tensor made while another
    // backend was active lives there until the engine moves it: leave that to the stock path).
    const onHeap = (t: tf.Tensor | undefined) => t == null || (t.dtype === 'float32' && backend.dataIdMap.has(t.dataId));
    const fusable =
      tf.getBackend() === 'wasm' &&
      vars.every((v) => v != null && onHeap(v)) &&
      grads.every(onHeap) &&
      [...st.accumulatedFirstMoment, ...st.accumulatedSecondMoment].every((e) => e == null || onHeap(e.variable));
    if (!fusable) {
      super.applyGradients(variableGradients);
      return;
    }
    const b1 = f32(this.beta1);
    const b2 = f32(this.beta2);
    const c1 = f32(1 - this.beta1); // tfjs: mul(gradient, 1 - beta1), a float32 scalar
    const c2 = f32(1 - this.beta2);
    const eps = f32(this.epsilon);
    const negLr = f32(-this.learningRate);
    const accB1 = st.accBeta1.dataSync()[0]!;
    const accB2 = st.accBeta2.dataSync()[0]!;
    const om1 = f32(1 - accB1);
    const om2 = f32(1 - accB2);
    const memory = heapMemory(backend);
    const simd = this.useSimd ? createAdamSimd(memory) : null;
    const bits = simd ? adamBitsOf(simd) : null;
    // Every variable's update is listed first, then run as one call list over both threads (the
    // products' helper takes pieces from a counter; without a pool the caller runs them all),
    // then the variables are assigned: the outputs are allocated before any runs.
    const list = simd && bits && fusedAdamOptions.pool ? new CallList(memory, ADAM_POOL_MODULE, [bits as (...a: number[]) => void]) : null;
    const scalars = [b1, b2, c1, c2, om1, om2, eps, negLr];
    const scalarBits = scalars.map(f32Bits);
    const work: { value: tf.Variable; gradient: tf.Tensor; mv: tf.TensorInfo; vv: tf.TensorInfo; outInfo: tf.TensorInfo; start: number }[] = [];
    names.forEach((name, i) => {
      const value = vars[i]!;
      st.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      st.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      const gradient = grads[i];
      if (gradient == null) return;
      const m = st.accumulatedFirstMoment[i]!.variable;
      const v = st.accumulatedSecondMoment[i]!.variable;
      const mv = this.ownBuffer(m, backend);
      const vv = this.ownBuffer(v, backend);
      const outInfo = backend.makeOutput(value.shape.slice(), 'float32');
      work.push({ value, gradient, mv, vv, outInfo, start: 0 });
    });
    if (simd) {
      const off = (t: tf.TensorInfo) => heapOffset(backend, t);
      for (const w of work) {
        const blocks = w.value.size >>> 2;
        const at = [off(w.value), off(w.gradient), off(w.mv), off(w.vv), off(w.outInfo)];
        if (list) {
          // pieces of up to PIECE blocks (16 bytes each, in all five arrays), one group each
          for (let b0 = 0; b0 < blocks; b0 += PIECE) {
            const nb = Math.min(PIECE, blocks - b0);
            list.group().call(0, ...at.map((p) => p + b0 * 16), nb, ...scalarBits);
          }
        } else simd(at[0]!, at[1]!, at[2]!, at[3]!, at[4]!, blocks, b1, b2, c1, c2, om1, om2, eps, negLr);
        w.start = blocks * 4;
      }
      list?.run();
    }
    for (const { value, gradient, mv, vv, outInfo, start } of work) {
      const size = value.size;
      const o = heapF32(backend, outInfo);
      const w = heapF32(backend, value);
      const g = heapF32(backend, gradient);
      const M = heapF32(backend, mv);
      const V = heapF32(backend, vv);
      for (let k = start; k < size; k++) {
        const gk = g[k]!;
        const m1 = f32(f32(M[k]! * b1) + f32(gk * c1));
        const v1 = f32(f32(V[k]! * b2) + f32(f32(gk * gk) * c2));
        M[k] = m1;
        V[k] = v1;
        const mh = f32(m1 / om1);
        const vh = f32(v1 / om2);
        o[k] = f32(f32(f32(mh / f32(f32(Math.sqrt(vh)) + eps)) * negLr) + w[k]!);
      }
      const newValue = engine.makeTensorFromTensorInfo(outInfo);
      value.assign(newValue);
      newValue.dispose();
    }
    tf.tidy(() => {
      st.accBeta1.assign(tf.mul(st.accBeta1, this.beta1));
      st.accBeta2.assign(tf.mul(st.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }

  /**
   * The moment's own buffer, safe to write in place: if its data is shared (e.g. a clone or a
   * reshape someone holds), give the variable a private copy first.
   */
  private ownBuffer(t: tf.Variable, backend: BackendWasm): tf.TensorInfo {
    if (backend.refCount(t.dataId) > 1) {
      const copy = tf.tidy(() => tf.add(t, tf.zerosLike(t)));
      t.assign(copy);
      copy.dispose();
    }
    return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  }
}

/** Drop-in for tf.train.adam (same defaults). */
export function fusedAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
