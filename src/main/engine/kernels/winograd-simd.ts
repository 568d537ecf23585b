/**
 * The transforms of Winograd F(2x2, 3x3) (winograd.ts) as hand-assembled WebAssembly SIMD
 * functions on the wasm backend's heap, four channels per vector.
 *
 * Every transform is a small fixed linear map applied independently to each channel (or
 * (ci, co) pair), with the channel contiguous in memory: load n vectors from n strided
 * addresses, combine them with adds, subtracts and halvings, store m vectors. Each map is written
 * once, as a separable 2-D map over rows and columns (`separable`), against an arithmetic
 * interface (`Arith`): `scalarArith` evaluates it on numbers (the tests' reference), `emitArith`
 * emits the SIMD instructions of the same expressions, in the same order.
 *
 *   input      d 4x4 -> B^T d B      (forward and input gradient; the filter gradient's V)
 *   filter     g 3x3 -> G g G^T
 *   output     m 4x4 -> A^T m A      2x2
 *   dyTile     e 2x2 -> A e A^T      4x4 (the filter gradient's transformed dy: the output map's transpose)
 *   filterGrad u 4x4 -> G^T u G      3x3 (the filter map's transpose)
 *
 * One function per map, all with the signature
 *   (src, dst, n, c4, PA, PB, QA, QB, sOuter, dOuter, sInner, dInner)
 * input i of the map is read at src + ia_i*PA + ib_i*PB and output j written at
 * dst + oa_j*QA + ob_j*QB (byte offsets; (ia, ib) and (oa, ob) are the 2-D indices of the map's
 * input and output grids); the inner loop runs c4 times (src += sInner, dst += dInner: the next 4
 * channels), the outer n times (src, dst advance by sOuter, dOuter from the outer start: the
 * next tile).
 */
import { I32, V128, type WasmMemory, get, instantiateOn, isSharedMemory, memoryImport, section, set, simd, str, tee, uleb, vec } from './wasm-asm';

export interface Arith<T> {
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  half(a: T): T;
  neg(a: T): T;
}

type Map1<T> = (ar: Arith<T>, v: T[]) => T[];

/** 1-D maps (rows of the matrices above applied to a vector). */
const bt: Map1<unknown> = (ar, [d0, d1, d2, d3]) => [ar.sub(d0, d2), ar.add(d1, d2), ar.sub(d2, d1), ar.sub(d1, d3)];
const gm: Map1<unknown> = (ar, [a, b, c]) => [a, ar.half(ar.add(ar.add(a, b), c)), ar.half(ar.add(ar.sub(a, b), c)), c];
const at: Map1<unknown> = (ar, [m0, m1, m2, m3]) => [ar.add(ar.add(m0, m1), m2), ar.sub(ar.sub(m1, m2), m3)];
const am: Map1<unknown> = (ar, [y0, y1]) => [y0, ar.add(y0, y1), ar.sub(y0, y1), ar.neg(y1)];
const gt: Map1<unknown> = (ar, [u0, u1, u2, u3]) => {
  const h = ar.half(ar.add(u1, u2));
  return [ar.add(u0, h), ar.half(ar.sub(u1, u2)), ar.add(h, u3)];
};

/** out = F x F^T for a row-major r x r grid x: F on each column, then on each row. */
function separable<T>(ar: Arith<T>, f: Map1<T>, x: T[], r: number): T[] {
  const cols: T[][] = [];
  for (let j = 0; j < r; j++) cols.push(f(ar, Array.from({ length: r }, (_, i) => x[i * r + j]!)));
  const m = cols[0]!.length;
  const out: T[] = [];
  for (let i = 0; i < m; i++) out.push(...f(ar, cols.map((c) => c[i]!)));
  return out;
}

export const MAPS = {
  input: { f: bt, r: 4 },
  filter: { f: gm, r: 3 },
  output: { f: at, r: 4 },
  dyTile: { f: am, r: 2 },
  filterGrad: { f: gt, r: 4 },
} as const;
export type MapName = keyof typeof MAPS;

export const scalarArith: Arith<number> = {
  add: (a, b) => Math.fround(a + b),
  sub: (a, b) => Math.fround(a - b),
  half: (a) => Math.fround(0.5 * a),
  neg: (a) => -a,
};

/** The map on numbers (float32 rounding after each operation, as the SIMD code). */
export function applyMap(name: MapName, x: number[]): number[] {
  const { f, r } = MAPS[name];
  return separable(scalarArith, f as Map1<number>, x.map(Math.fround), r);
}

// ---- code generation -------------------------------------------------------------------------

const i32 = (v: number) => [0x41, ...sleb32(v)];
function sleb32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}
const ADD = [0x6a];
const MUL = [0x6c];
const SUB = [0x6b];
const vload = [...simd(0x00), 0, 0];
const vstore = [...simd(0x0b), 0, 0];
const LOOP = [0x03, 0x40];
const BLOCK = [0x02, 0x40];
const END = [0x0b];

const P = { src: 0, dst: 1, n: 2, c4: 3, PA: 4, PB: 5, QA: 6, QB: 7, sOuter: 8, dOuter: 9, sInner: 10, dInner: 11 };
const NPARAMS = 12;

/** One map's function body: locals [i32: srcT, dstT, cc, s, d, in offsets..., out offsets...] [v128: half, values...]. */
function mapFunc(name: MapName): number[] {
  const { f, r } = MAPS[name];
  const nIn = r * r;
  // outputs: apply once symbolically to count them
  let count = 0;
  const counter: Arith<number> = { add: () => 0, sub: () => 0, half: () => 0, neg: () => 0 };
  count = separable(counter, f as Map1<number>, new Array<number>(nIn).fill(0), r).length;
  const m = Math.round(Math.sqrt(count));
  const SRCT = NPARAMS, DSTT = NPARAMS + 1, CC = NPARAMS + 2, S = NPARAMS + 3, D = NPARAMS + 4;
  const IN0 = NPARAMS + 5, OUT0 = IN0 + nIn;
  const nI32 = 5 + nIn + count;
  const HALF = NPARAMS + nI32;
  let nextV = HALF + 1;
  const body: number[] = [];
  // per-call offsets: in_i = ia*PA + ib*PB, out_j = oa*QA + ob*QB
  const offset = (a: number, b: number, pa: number, pb: number) => [...i32(a), ...get(pa), ...MUL, ...i32(b), ...get(pb), ...MUL, ...ADD];
  for (let i = 0; i < nIn; i++) body.push(...offset(Math.floor(i / r), i % r, P.PA, P.PB), ...set(IN0 + i));
  for (let j = 0; j < count; j++) body.push(...offset(Math.floor(j / m), j % m, P.QA, P.QB), ...set(OUT0 + j));
  body.push(...simd(0x0c), ...f32x4Splat(0.5), ...set(HALF));
  body.push(...get(P.src), ...set(SRCT), ...get(P.dst), ...set(DSTT));
  // the loop body: loads, the map, stores
  const inner: number[] = [];
  const ins: number[] = [];
  for (let i = 0; i < nIn; i++) {
    const v = nextV++;
    inner.push(...get(S), ...get(IN0 + i), ...ADD, ...vload, ...set(v));
    ins.push(v);
  }
  const bin = (op: number) => (a: number, b: number) => {
    const v = nextV++;
    inner.push(...get(a), ...get(b), ...simd(op), ...set(v));
    return v;
  };
  const emit: Arith<number> = {
    add: bin(0xe4),
    sub: bin(0xe5),
    half: (a) => bin(0xe6)(a, HALF),
    neg: (a) => {
      const v = nextV++;
      inner.push(...get(a), ...simd(0xe1), ...set(v));
      return v;
    },
  };
  const outs = separable(emit, f as Map1<number>, ins, r);
  outs.forEach((v, j) => inner.push(...get(D), ...get(OUT0 + j), ...ADD, ...get(v), ...vstore));
  inner.push(...get(S), ...get(P.sInner), ...ADD, ...set(S), ...get(D), ...get(P.dInner), ...ADD, ...set(D));
  // for (n) { s = srcT; d = dstT; for (c4) {...}; srcT += sOuter; dstT += dOuter }
  body.push(...BLOCK, ...get(P.n), 0x45, ...brIf(0), ...get(P.c4), 0x45, ...brIf(0));
  body.push(...LOOP);
  body.push(...get(SRCT), ...set(S), ...get(DSTT), ...set(D), ...get(P.c4), ...set(CC));
  body.push(...LOOP, ...inner, ...get(CC), ...i32(1), ...SUB, ...tee(CC), ...brIf(0), ...END);
  body.push(...get(SRCT), ...get(P.sOuter), ...ADD, ...set(SRCT), ...get(DSTT), ...get(P.dOuter), ...ADD, ...set(DSTT));
  body.push(...get(P.n), ...i32(1), ...SUB, ...tee(P.n), ...brIf(0), ...END);
  body.push(...END, ...END);
  return [...vec([[...uleb(nI32), I32], [...uleb(nextV - HALF), V128]]), ...body];
}
const brIf = (d: number) => [0x0d, ...uleb(d)];
function f32x4Splat(x: number): number[] {
  const b = new Uint8Array(new Float32Array([x, x, x, x]).buffer);
  return [...b];
}

const NAMES = Object.keys(MAPS) as MapName[];

export function winogradModule(shared: boolean): Uint8Array {
  const funcs = NAMES.map(mapFunc);
  const sig = [0x60, ...vec(new Array(NPARAMS).fill([I32])), 0];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([sig])),
    ...memoryImport(shared),
    ...section(3, vec(NAMES.map(() => [0]))),
    ...section(7, vec(NAMES.map((nm, i) => [...str(nm), 0x00, i]))),
    ...section(10, vec(funcs.map((f) => [...uleb(f.length), ...f]))),
  ]);
}

/** (src, dst, n, c4, PA, PB, QA, QB, sOuter, dOuter, sInner, dInner), byte offsets on the heap. */
export type MapFn = (src: number, dst: number, n: number, c4: number, PA: number, PB: number, QA: number, QB: number, sOuter: number, dOuter: number, sInner: number, dInner: number) => void;
export type WinogradSimd = Record<MapName, MapFn>;

const cache = new WeakMap<WasmMemory, WinogradSimd | null>();

/** The transforms bound to this heap, or null where SIMD is unavailable (Winograd is then not taken). */
export function createWinogradSimd(memory: WasmMemory | undefined): WinogradSimd | null {
  if (!memory) return null;
  if (cache.has(memory)) return cache.get(memory)!;
  let w: WinogradSimd | null = null;
  try {
    const ex = instantiateOn(memory, winogradModule(isSharedMemory(memory)));
    w = Object.fromEntries(NAMES.map((nm) => [nm, ex[nm] as MapFn])) as WinogradSimd;
  } catch {
    w = null;
  }
  cache.set(memory, w);
  return w;
}
