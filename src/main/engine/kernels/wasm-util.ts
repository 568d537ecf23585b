/**
 * Helpers for kernels that run on the wasm backend and build on its own kernels.
 *
 * Inside a kernelFunc we are below the engine: calling tf ops would create engine-tracked
 * tensors (and, under a tape, gradient records). Instead we call the backend's registered
 * kernel functions directly with TensorInfos, exactly as tfjs-backend-wasm's own kernels do
 * (e.g. Mean calls transpose and then `backend.disposeData`). Intermediates are TensorInfos
 * owned by the backend only; every one must be released with `release()` before returning.
 * The engine takes ownership of the TensorInfo a kernelFunc returns.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { WasmMemory } from './wasm-asm';

export type { BackendWasm };
export type TensorInfo = tf.TensorInfo;
type Attrs = Record<string, unknown>;

const saved = new Map<string, tf.KernelConfig>();

/**
 * The kernel config registered for `name` on wasm at the time we first ask, i.e. the stock
 * kernel when called before we override it. Cached so an override can still call the stock one.
 */
export function stockKernel(name: string): tf.KernelConfig | undefined {
  if (!saved.has(name)) {
    const k = tf.getKernel(name, 'wasm');
    if (k) saved.set(name, k);
  }
  return saved.get(name);
}

/** Run a wasm kernel (stock unless overridden) on TensorInfos; the caller owns the result. */
export function run(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is missing`);
  const out = k.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend });
  return (Array.isArray(out) ? out[0] : out) as TensorInfo;
}

const setUp = new Map<string, WeakSet<object>>();

/**
 * A stock kernel that was unregistered before the backend initialised never had its setupFunc
 * (which binds its wasm function) run; run it once per backend before calling it.
 */
function ensureSetup(name: string, k: tf.KernelConfig, backend: BackendWasm): void {
  if (!k.setupFunc) return;
  let done = setUp.get(name);
  if (!done) setUp.set(name, (done = new WeakSet()));
  if (done.has(backend)) return;
  k.setupFunc(backend); // binds its wasm function (cwrap); harmless if the engine already did
  done.add(backend);
}

/** The stock kernel's config made safe to register after the backend initialised. */
export function stockConfig(name: string): tf.KernelConfig | undefined {
  const k = stockKernel(name);
  if (!k) return undefined;
  return {
    kernelName: k.kernelName,
    backendName: 'wasm',
    kernelFunc: (a) => {
      ensureSetup(name, k, a.backend as BackendWasm);
      return k.kernelFunc(a);
    },
  };
}

/**
 * How many times, per kernel name, our kernels handed work to the stock kernel (runStock). The
 * results agree either way, so tests read this to see which path a call took.
 */
export const stockCalls: Record<string, number> = {};

/** Run the stock kernel saved by `stockKernel` (ignores our override). */
export function runStock(backend: BackendWasm, name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
  stockCalls[name] = (stockCalls[name] ?? 0) + 1;
  const k = stockKernel(name);
  if (!k) throw new Error(`stock wasm kernel ${name} is missing`);
  ensureSetup(name, k, backend);
  const out = k.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend });
  return (Array.isArray(out) ? out[0] : out) as TensorInfo;
}

/** Release intermediates (refcounted: a reshape shares its input's data). */
export function release(backend: BackendWasm, ...infos: (TensorInfo | null | undefined)[]): void {
  for (const t of infos) if (t) backend.disposeData(t.dataId);
}

/**
 * A kernel's body around a fresh output: returns `out` once `fill` has written it, releases it when
 * `fill` throws, and releases the scratch buffers either way (one of them may be `out` itself, when
 * the kernel writes in place).
 */
export function fillOutput(backend: BackendWasm, out: TensorInfo, scratch: (TensorInfo | null | undefined)[], fill: () => void): TensorInfo {
  try {
    fill();
    return out;
  } catch (e) {
    release(backend, out);
    throw e;
  } finally {
    release(backend, ...scratch.filter((t) => t !== out));
  }
}

/** A reshaped view sharing data (refcount +1; release it like any other intermediate). */
export function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return run(backend, 'Reshape', { x }, { shape });
}

/** Float32 view of a tensor's data on the wasm heap (valid until the next allocation). */
export function heapF32(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** Byte offset of a tensor's data on the wasm heap (a pointer for the hand-assembled modules). */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  return backend.getMemoryOffset(t.dataId);
}

/** The backend's heap (its WebAssembly.Memory), for modules that work on tensors in place. */
export function heapMemory(backend: BackendWasm): WasmMemory | undefined {
  return (backend.wasm as unknown as { asm?: { memory?: WasmMemory } }).asm?.memory;
}
