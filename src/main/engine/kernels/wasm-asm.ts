/**
 * A minimal WebAssembly binary writer shared by the hand-assembled SIMD kernels (adam-simd.ts,
 * gemm-simd.ts): LEB128 numbers, names, sections, vectors and the opcodes both use. No build
 * step, no dependency; each kernel adds its own instructions on top.
 */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const bitsOf = new Int32Array(1);
const f32Of = new Float32Array(bitsOf.buffer);
/**
 * The int32 bit pattern of x as a float32: float scalars passed to all-integer signatures (the
 * helper thread's call lists carry integer words; f32.reinterpret_i32 inside the module).
 */
export function f32Bits(x: number): number {
  f32Of[0] = x;
  return bitsOf[0]!;
}

export const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const tee = (i: number) => [0x22, ...uleb(i)];
export const simd = (op: number) => [0xfd, ...uleb(op)];

/** Structured control: `loop` and `block` with no result type, and their `end`. */
export const LOOP = [0x03, 0x40];
export const BLOCK = [0x02, 0x40];
export const END = [0x0b];
/** `local -= 1; continue the enclosing loop while it is not zero` (the generated kernels' loop step). */
export const countDown = (local: number) => [...get(local), 0x41, 1, 0x6b, 0x22, ...uleb(local), 0x0d, 0];

/** A wasm memory (typed locally: the project's TS lib has no DOM/WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** True for the threaded build's heap (a shared memory). */
export const isSharedMemory = (memory: WasmMemory): boolean => typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;

/**
 * Import section for the backend's heap as env.memory: min 0 and no max, or, for a shared memory
 * (which must be imported as shared and so needs a max), 65536 pages (4 GiB), the most a 32-bit
 * memory can declare.
 */
export const memoryImport = (shared: boolean): number[] =>
  section(2, vec([[...str('env'), ...str('memory'), 0x02, ...(shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00])]]));

/** A function type taking these value types and returning nothing (every kernel writes to the heap). */
export const fnType = (params: readonly number[]): number[] => [0x60, ...vec(params.map((p) => [p])), 0];

/** One exported function: its name, its index among the module's types (0 where omitted), its body (locals, then code). */
export interface WasmFunc {
  name: string;
  type?: number;
  body: number[];
}

/**
 * A module of exported functions over the backend's heap (imported as env.memory): the header,
 * the types, the memory import, the functions, their exports (by name, in order) and their code.
 */
export function wasmModule(shared: boolean, types: readonly number[][], funcs: readonly WasmFunc[]): Uint8Array {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([...types])),
    ...memoryImport(shared),
    ...section(3, vec(funcs.map((f) => uleb(f.type ?? 0)))),
    ...section(7, vec(funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(funcs.map((f) => [...uleb(f.body.length), ...f.body]))),
  ]);
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/**
 * What `make` builds on a heap (a module instantiated on it, and what the caller keeps of it), once
 * per heap. Where it throws (no WebAssembly SIMD here) the answer is null, remembered too, so the
 * kernels take their JS or stock path without trying again on every call.
 */
export function perMemory<T>(make: (memory: WasmMemory) => T): (memory: WasmMemory | undefined) => T | null {
  const cache = new WeakMap<WasmMemory, T | null>();
  return (memory) => {
    if (!memory) return null;
    if (!cache.has(memory)) {
      let made: T | null = null;
      try {
        made = make(memory);
      } catch {
        made = null;
      }
      cache.set(memory, made);
    }
    return cache.get(memory)!;
  };
}

/** Compile `bytes` and instantiate it on `memory`; throws where the engine cannot (no WebAssembly, no SIMD). */
export function instantiateOn(memory: WasmMemory, bytes: Uint8Array): Record<string, unknown> {
  if (!WA) throw new Error('WebAssembly is unavailable');
  return new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports;
}
