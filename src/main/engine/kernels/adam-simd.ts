/**
 * The Adam update as a tiny hand-assembled WebAssembly SIMD function that works directly on
 * the tfjs wasm backend's heap (it imports the backend's own WebAssembly.Memory), one pass
 * over w, g, m, v per variable, 4 lanes at a time. The op sequence is exactly tfjs's
 * (AdamOptimizer.applyGradients) with IEEE float32 lanes, so results are bit-identical:
 *
 *   m' = m*b1 + g*c1          c1 = 1 - beta1   (m' stored in place)
 *   v' = v*b2 + (g*g)*c2      c2 = 1 - beta2   (v' stored in place)
 *   out = ((m'/om1) / (sqrt(v'/om2) + eps)) * negLr + w     om = 1 - beta^t
 *
 * The module is assembled here from opcodes (no build step, no dependency). It imports the memory
 * as shared when the backend's is (tfjs's threaded build). If the engine has no SIMD,
 * `createAdamSimd` returns null and the caller uses its scalar JS loop.
 *
 * `adamBits` is the same update with the eight float32 scalars passed as their bit patterns
 * (i32), so that it can travel in the products' helper thread's call lists (integer words,
 * pool-calls.ts): FusedAdam shares a step's variables out over both threads in pieces (each
 * element computed by the same code: the same bits).
 */
import { registerPoolModule } from './pool-calls';
import { F32, I32, V128, type WasmMemory, get, instantiateOn, isSharedMemory, set, simd, tee, uleb, vec, fnType, wasmModule } from './wasm-asm';

const i32const = (v: number) => [0x41, ...uleb(v)]; // small non-negative constants only
const load = [...simd(0x00), 0, 0]; // v128.load align=1 offset=0
const store = [...simd(0x0b), 0, 0]; // v128.store
const splat = simd(0x13); // f32x4.splat
const sqrt = simd(0xe3);
const add = simd(0xe4);
const mul = simd(0xe6);
const div = simd(0xe7);

// params: 0 w, 1 g, 2 m, 3 v, 4 out (byte offsets), 5 blocks of 4; 6..13 b1 b2 c1 c2 om1 om2 eps negLr
// locals: 14..21 the splatted scalars, 22 g, 23 m', 24 v'
function adamModule(shared: boolean): Uint8Array {
  const S = (k: number) => 14 + k; // splat of param 6 + k
  const G = 22;
  const M1 = 23;
  const V1 = 24;
  const body: number[] = [];
  for (let k = 0; k < 8; k++) body.push(...get(6 + k), ...splat, ...set(S(k)));
  body.push(0x02, 0x40, ...get(5), 0x45, 0x0d, 0); // block; br_if 0 when no blocks
  body.push(0x03, 0x40); // loop
  body.push(...get(1), ...load, ...set(G));
  body.push(...get(2), ...load, ...get(S(0)), ...mul, ...get(G), ...get(S(2)), ...mul, ...add, ...set(M1));
  body.push(...get(2), ...get(M1), ...store);
  body.push(...get(3), ...load, ...get(S(1)), ...mul, ...get(G), ...get(G), ...mul, ...get(S(3)), ...mul, ...add, ...set(V1));
  body.push(...get(3), ...get(V1), ...store);
  body.push(...get(4));
  body.push(...get(M1), ...get(S(4)), ...div);
  body.push(...get(V1), ...get(S(5)), ...div, ...sqrt, ...get(S(6)), ...add);
  body.push(...div, ...get(S(7)), ...mul, ...get(0), ...load, ...add, ...store);
  for (let p = 0; p < 5; p++) body.push(...get(p), ...i32const(16), 0x6a, ...set(p));
  body.push(...get(5), ...i32const(1), 0x6b, ...tee(5), 0x0d, 0); // br_if loop while blocks left
  body.push(0x0b, 0x0b, 0x0b); // end loop, end block, end function
  const locals = vec([[11, V128]]);
  // adamBits: the same arguments with the scalars as i32 bits: reinterpreted, then adam
  const bits: number[] = [...vec([])];
  for (let p = 0; p < 14; p++) bits.push(...get(p), ...(p >= 6 ? [0xbe] : [])); // f32.reinterpret_i32
  bits.push(0x10, 0, 0x0b); // call adam; end
  return wasmModule(shared, [fnType([I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32]), fnType(new Array(14).fill(I32))], [
    { name: 'adam', type: 0, body: [...locals, ...body] },
    { name: 'adamBits', type: 1, body: bits },
  ]);
}

/** The module's id among the helper thread's call-list modules (pool-calls.ts). */
export const ADAM_POOL_MODULE = registerPoolModule({ make: (shared) => ({ bytes: adamModule(shared), names: ['adamBits'] }) });

export type AdamSimd = (
  w: number, g: number, m: number, v: number, out: number, blocks: number,
  b1: number, b2: number, c1: number, c2: number, om1: number, om2: number, eps: number, negLr: number,
) => void;
/** AdamSimd with the eight scalars as float32 bit patterns (int32). */
export type AdamBits = AdamSimd;


const cache = new WeakMap<WasmMemory, AdamSimd>();
const bitsCache = new WeakMap<AdamSimd, AdamBits>();
let warned = false;

/** `adamBits` of the instance `createAdamSimd` made (the caller's own, for call lists). */
export function adamBitsOf(fn: AdamSimd): AdamBits | null {
  return bitsCache.get(fn) ?? null;
}

/** The SIMD update bound to this wasm memory, or null when SIMD (or the memory) is unavailable. */
export function createAdamSimd(memory: WasmMemory | undefined): AdamSimd | null {
  if (!memory) return null;
  const hit = cache.get(memory);
  if (hit) return hit;
  try {
    const exports = instantiateOn(memory, adamModule(isSharedMemory(memory)));
    const fn = exports.adam as AdamSimd;
    cache.set(memory, fn);
    bitsCache.set(fn, exports.adamBits as AdamBits);
    return fn;
  } catch (e) {
    // Not cached: a later step retries. Say it once: the scalar fallback is ~10x slower.
    if (!warned) console.warn(`[atelier] fused Adam: WebAssembly SIMD unavailable (${e instanceof Error ? e.message : String(e)}); using the slower JS loop`);
    warned = true;
    return null;
  }
}
