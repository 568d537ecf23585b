/**
 * The module builder every generated kernel module goes through: the functions are exported by
 * name in order, each with its own type, and they work on the imported heap (plain and shared).
 */
import { describe, expect, it } from 'vitest';
import { F32, I32, type WasmMemory, fnType, get, instantiateOn, uleb, vec, wasmModule } from '../../../../src/main/engine/kernels/wasm-asm';

const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory; validate: (b: Uint8Array) => boolean } }).WebAssembly;

// (addr, value) -> heap[addr] = value, as i32 and as f32: two types, bodies of locals then code.
const storeI32 = [...vec([]), ...get(0), ...get(1), 0x36, 2, 0, 0x0b];
const storeF32 = [...vec([]), ...get(0), ...get(1), 0x38, 2, 0, 0x0b];

describe('wasmModule', () => {
  for (const shared of [false, true]) {
    it(`exports each function by name with its own type, working on the ${shared ? 'shared' : 'plain'} heap`, () => {
      const memory = new WA.Memory(shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1 });
      const bytes = wasmModule(shared, [fnType([I32, I32]), fnType([I32, F32])], [
        { name: 'storeI32', body: storeI32 },
        { name: 'storeF32', type: 1, body: storeF32 },
      ]);
      expect(WA.validate(bytes)).toBe(true);
      const ex = instantiateOn(memory, bytes) as Record<string, (a: number, v: number) => void>;
      expect(Object.keys(ex)).toEqual(['storeI32', 'storeF32']);
      ex.storeI32!(8, -7);
      ex.storeF32!(12, 1.5);
      expect(new Int32Array(memory.buffer, 8, 1)[0]).toBe(-7);
      expect(new Float32Array(memory.buffer, 12, 1)[0]).toBe(1.5);
    });
  }

  it('declares a function type of the given parameters and no results', () => {
    expect(fnType([I32, F32])).toEqual([0x60, 2, I32, F32, 0]);
    expect(uleb(300)).toEqual([0xac, 0x02]);
  });
});
