/**
 * The transforms of Winograd F(2x2, 3x3), F(4x4, 3x3) and F(3x3, 4x4) (winograd.ts) as hand-assembled
 * WebAssembly SIMD functions on the wasm backend's heap, four channels per vector.
 *
 * Every transform is a small fixed linear map applied independently to each channel (or
 * (ci, co) pair), with the channel contiguous in memory: load n vectors from n strided
 * addresses, combine them with adds, subtracts and multiplies by constants, store m vectors. Each
 * map is written once, as a separable 2-D map over rows and columns (`separable`), against an
 * arithmetic interface (`Arith`): `scalarArith` evaluates it on numbers (the tests' reference),
 * `emitArith` emits the SIMD instructions of the same expressions, in the same order. The tests
 * also hold every map to its matrix (`MATRICES`) in float64.
 *
 *   F(2x2,3x3), 4x4 tiles            F(4x4,3x3), 6x6 tiles (suffix 4)
 *   input      d 4x4 -> B^T d B       input4      d 6x6 -> B^T d B      (forward and input gradient; the filter gradient's V)
 *   filter     g 3x3 -> G g G^T       filter4     g 3x3 -> G g G^T      6x6
 *   output     m 4x4 -> A^T m A 2x2   output4     m 6x6 -> A^T m A      4x4
 *   dyTile     e 2x2 -> A e A^T 4x4   dyTile4     e 4x4 -> A e A^T      6x6 (the filter gradient's transformed dy: the output map's transpose)
 *   filterGrad u 4x4 -> G^T u G 3x3   filterGrad4 u 6x6 -> G^T u G      3x3 (the filter map's transpose)
 *
 *   F(3x3,4x4), 6x6 tiles (suffix 34; its input map is input4)
 *   filter34     g 4x4 -> G g G^T 6x6,  output34 m 6x6 -> A^T m A 3x3,
 *   dyTile34     e 3x3 -> A e A^T 6x6,  filterGrad34 u 6x6 -> G^T u G 4x4
 *
 * F(4x4,3x3) uses Lavin & Gray's points 0, 1, -1, 2, -2 and infinity (as NNPACK and cuDNN do):
 * the products' inputs stay within a factor 25 of the data, and the results within ~1e-5 of the
 * sums' magnitude at 256 channels (winograd.test.ts measures it).
 *
 * One function per map, all with the signature
 *   (src, dst, n, c4, PA, PB, QA, QB, sOuter, dOuter, sInner, dInner, rows, sRow, dRow)
 * input i of the map is read at src + ia_i*PA + ib_i*PB and output j written at
 * dst + oa_j*QA + ob_j*QB (byte offsets; (ia, ib) and (oa, ob) are the 2-D indices of the map's
 * input and output grids); the inner loop runs c4 times (src += sInner, dst += dInner: the next 4
 * channels), the middle n times (src, dst advance by sOuter, dOuter from the middle start: the
 * next tile), the outer `rows` times (by sRow, dRow: the next row of tiles). One call covers a
 * whole map, so gemm-pool.ts can split it over two threads by rows, tiles or channels.
 */
import { BLOCK, END, I32, LOOP, V128, get, instantiateOn, isSharedMemory, set, simd, tee, uleb, vec, perMemory, fnType, wasmModule } from './wasm-asm';

export interface Arith<T> {
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  half(a: T): T;
  neg(a: T): T;
  /** a times the float32 constant c. */
  scale(a: T, c: number): T;
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

/**
 * F(4x4,3x3), points 0, 1, -1, 2, -2, infinity:
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * each written with shared partial sums (NNPACK's and Lavin's factorisation of B^T and A^T).
 */
const bt4: Map1<unknown> = (ar, [d0, d1, d2, d3, d4, d5]) => {
  const p = ar.sub(d4, ar.scale(d2, 4)); // d4 - 4 d2
  const q = ar.sub(d3, ar.scale(d1, 4)); // d3 - 4 d1
  const r = ar.sub(d4, d2);
  const s = ar.scale(ar.sub(d3, d1), 2);
  return [
    ar.add(ar.sub(ar.scale(d0, 4), ar.scale(d2, 5)), d4),
    ar.add(p, q),
    ar.sub(p, q),
    ar.add(r, s),
    ar.sub(r, s),
    ar.add(ar.sub(ar.scale(d1, 4), ar.scale(d3, 5)), d5),
  ];
};
const gm4: Map1<unknown> = (ar, [g0, g1, g2]) => {
  const s = ar.add(g0, g2);
  const a = ar.add(ar.scale(g0, 0.25), g2);
  const b = ar.scale(g1, 0.5);
  return [ar.scale(g0, 0.25), ar.scale(ar.add(s, g1), -1 / 6), ar.scale(ar.sub(s, g1), -1 / 6), ar.scale(ar.add(a, b), 1 / 6), ar.scale(ar.sub(a, b), 1 / 6), g2];
};
const at4: Map1<unknown> = (ar, [m0, m1, m2, m3, m4, m5]) => {
  const a = ar.add(m1, m2), b = ar.sub(m1, m2), c = ar.add(m3, m4), d = ar.sub(m3, m4);
  return [ar.add(ar.add(m0, a), c), ar.add(b, ar.scale(d, 2)), ar.add(a, ar.scale(c, 4)), ar.add(ar.add(b, ar.scale(d, 8)), m5)];
};
const am4: Map1<unknown> = (ar, [e0, e1, e2, e3]) => {
  const p = ar.add(e0, e2), q = ar.add(e1, e3);
  const p2 = ar.add(e0, ar.scale(e2, 4)), q2 = ar.scale(ar.add(e1, ar.scale(e3, 4)), 2);
  return [e0, ar.add(p, q), ar.sub(p, q), ar.add(p2, q2), ar.sub(p2, q2), e3];
};
const gt4: Map1<unknown> = (ar, [u0, u1, u2, u3, u4, u5]) => {
  const a = ar.add(u1, u2), b = ar.add(u3, u4);
  return [
    ar.add(ar.scale(u0, 0.25), ar.scale(ar.sub(ar.scale(b, 0.25), a), 1 / 6)),
    ar.scale(ar.add(ar.sub(u2, u1), ar.scale(ar.sub(u3, u4), 0.5)), 1 / 6),
    ar.add(ar.scale(ar.sub(b, a), 1 / 6), u5),
  ];
};

/**
 * F(3x3,4x4) (4x4 filters, 3x3 output tiles: PatchGAN's stride-1 layers), the same six points:
 * B^T depends only on the points, so its input map is bt4; G and A^T are F(4x4,3x3)'s with one
 * more column of G (powers p^3) and one fewer row of A^T:
 *   G   = [1/4 0 0 0; -1/6 -1/6 -1/6 -1/6; -1/6 1/6 -1/6 1/6; 1/24 1/12 1/6 1/3; 1/24 -1/12 1/6 -1/3; 0 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 1]
 */
const gm34: Map1<unknown> = (ar, [g0, g1, g2, g3]) => {
  const e = ar.add(g0, g2), o = ar.add(g1, g3);
  const a = ar.add(ar.scale(g0, 0.25), g2), b = ar.add(ar.scale(g1, 0.5), ar.scale(g3, 2));
  return [ar.scale(g0, 0.25), ar.scale(ar.add(e, o), -1 / 6), ar.scale(ar.sub(e, o), -1 / 6), ar.scale(ar.add(a, b), 1 / 6), ar.scale(ar.sub(a, b), 1 / 6), g3];
};
const at34: Map1<unknown> = (ar, [m0, m1, m2, m3, m4, m5]) => {
  const a = ar.add(m1, m2), b = ar.sub(m1, m2), c = ar.add(m3, m4), d = ar.sub(m3, m4);
  return [ar.add(ar.add(m0, a), c), ar.add(b, ar.scale(d, 2)), ar.add(ar.add(a, ar.scale(c, 4)), m5)];
};
const am34: Map1<unknown> = (ar, [e0, e1, e2]) => {
  const p = ar.add(e0, e2), p2 = ar.add(e0, ar.scale(e2, 4)), q2 = ar.scale(e1, 2);
  return [e0, ar.add(p, e1), ar.sub(p, e1), ar.add(p2, q2), ar.sub(p2, q2), e2];
};
const gt34: Map1<unknown> = (ar, [u0, u1, u2, u3, u4, u5]) => {
  const a = ar.add(u1, u2), b = ar.add(u3, u4), c = ar.sub(u2, u1), d = ar.sub(u3, u4);
  return [
    ar.add(ar.scale(u0, 0.25), ar.scale(ar.sub(ar.scale(b, 0.25), a), 1 / 6)),
    ar.scale(ar.add(c, ar.scale(d, 0.5)), 1 / 6),
    ar.scale(ar.sub(b, a), 1 / 6),
    ar.add(ar.scale(ar.add(c, ar.scale(d, 2)), 1 / 6), u5),
  ];
};

/**
 * F(5x5,2x2) (2x2 filters, 5x5 output tiles: stride-2 3x3 convolutions split into input phases,
 * stride2-winograd.ts), the same six points and input map again; G is F(4x4,3x3)'s first two
 * columns (its infinity row picks g1), A^T has one more row (powers p^4):
 *   G   = [1/4 0; -1/6 -1/6; -1/6 1/6; 1/24 1/12; 1/24 -1/12; 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 0; 0 1 1 16 16 1]
 */
const gm52: Map1<unknown> = (ar, [g0, g1]) => {
  const a = ar.scale(g0, 0.25), b = ar.scale(g1, 0.5);
  return [ar.scale(g0, 0.25), ar.scale(ar.add(g0, g1), -1 / 6), ar.scale(ar.sub(g0, g1), -1 / 6), ar.scale(ar.add(a, b), 1 / 6), ar.scale(ar.sub(a, b), 1 / 6), g1];
};
const at52: Map1<unknown> = (ar, [m0, m1, m2, m3, m4, m5]) => {
  const a = ar.add(m1, m2), b = ar.sub(m1, m2), c = ar.add(m3, m4), d = ar.sub(m3, m4);
  return [ar.add(ar.add(m0, a), c), ar.add(b, ar.scale(d, 2)), ar.add(a, ar.scale(c, 4)), ar.add(b, ar.scale(d, 8)), ar.add(ar.add(a, ar.scale(c, 16)), m5)];
};
const am52: Map1<unknown> = (ar, [e0, e1, e2, e3, e4]) => {
  const p = ar.add(ar.add(e0, e2), e4), q = ar.add(e1, e3);
  const p2 = ar.add(ar.add(e0, ar.scale(e2, 4)), ar.scale(e4, 16)), q2 = ar.scale(ar.add(e1, ar.scale(e3, 4)), 2);
  return [e0, ar.add(p, q), ar.sub(p, q), ar.add(p2, q2), ar.sub(p2, q2), e4];
};
const gt52: Map1<unknown> = (ar, [u0, u1, u2, u3, u4, u5]) => {
  const a = ar.add(u1, u2), b = ar.add(u3, u4);
  return [
    ar.add(ar.scale(u0, 0.25), ar.scale(ar.sub(ar.scale(b, 0.25), a), 1 / 6)),
    ar.add(ar.scale(ar.add(ar.sub(u2, u1), ar.scale(ar.sub(u3, u4), 0.5)), 1 / 6), u5),
  ];
};

/** The 1-D maps as matrices (rows: outputs), for the tests' float64 check of the factorisations above. */
const BT4 = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]];
const G4 = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]];
const AT4 = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]];
const G34 = [[1 / 4, 0, 0, 0], [-1 / 6, -1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6, 1 / 6], [1 / 24, 1 / 12, 1 / 6, 1 / 3], [1 / 24, -1 / 12, 1 / 6, -1 / 3], [0, 0, 0, 1]];
const AT34 = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 1]];
const G52 = [[1 / 4, 0], [-1 / 6, -1 / 6], [-1 / 6, 1 / 6], [1 / 24, 1 / 12], [1 / 24, -1 / 12], [0, 1]];
const AT52 = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 0], [0, 1, 1, 16, 16, 1]];
/**
 * F(4x4,2x2) (2x2 filters, 4x4 output tiles: the stride-2 phases where 5x5 tiles would leave
 * partial ones, e.g. 32x32 outputs), points 0, 1, -1, 1/2 and infinity (a float32 simulation at
 * 512 channels: ~5e-6 relative, against ~8e-6 with 2 instead of 1/2 and ~2e-5 for F(5x5,2x2)).
 * B^T solved from A^T and G (A^T (G g . B^T d) = the correlation of d with g):
 *   B^T = [1/2 -1 -1/2 1 0; 0 -1/2 1/2 1 0; 0 1/2 -3/2 1 0; 0 -1 0 1 0; 0 1/2 -1 -1/2 1]
 *   G   = [2 0; 1 1; -1/3 1/3; -8/3 -4/3; 0 1]
 *   A^T = [1 1 1 1 0; 0 1 -1 1/2 0; 0 1 1 1/4 0; 0 1 -1 1/8 1]
 * Their maps are the matrices applied as written (`matrixMap`), without shared partial sums.
 */
const BT42 = [[0.5, -1, -0.5, 1, 0], [0, -0.5, 0.5, 1, 0], [0, 0.5, -1.5, 1, 0], [0, -1, 0, 1, 0], [0, 0.5, -1, -0.5, 1]];
const G42 = [[2, 0], [1, 1], [-1 / 3, 1 / 3], [-8 / 3, -4 / 3], [0, 1]];
const AT42 = [[1, 1, 1, 1, 0], [0, 1, -1, 0.5, 0], [0, 1, 1, 0.25, 0], [0, 1, -1, 0.125, 1]];
const transpose = (m: number[][]) => m[0]!.map((_, j) => m.map((row) => row[j]!));

/** A 1-D map that applies matrix `mx` (rows: outputs) term by term: +-1 by add / sub, others by scale. */
function matrixMap(mx: number[][]): Map1<unknown> {
  return (ar, v) =>
    mx.map((row) => {
      let acc: unknown = null;
      row.forEach((c, j) => {
        if (c === 0) return;
        const x = v[j];
        if (acc == null) acc = c === 1 ? x : c === -1 ? ar.neg(x) : ar.scale(x, c);
        else if (c === 1) acc = ar.add(acc, x);
        else if (c === -1) acc = ar.sub(acc, x);
        else acc = ar.add(acc, ar.scale(x, c));
      });
      return acc ?? ar.sub(v[0], v[0]);
    });
}
export const MATRICES: Record<string, number[][]> = {
  input: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  filter: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  output: [[1, 1, 1, 0], [0, 1, -1, -1]],
  dyTile: transpose([[1, 1, 1, 0], [0, 1, -1, -1]]),
  filterGrad: transpose([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]),
  input4: BT4,
  filter4: G4,
  output4: AT4,
  dyTile4: transpose(AT4),
  filterGrad4: transpose(G4),
  filter34: G34,
  output34: AT34,
  dyTile34: transpose(AT34),
  filterGrad34: transpose(G34),
  filter52: G52,
  output52: AT52,
  dyTile52: transpose(AT52),
  filterGrad52: transpose(G52),
  input42: BT42,
  filter42: G42,
  output42: AT42,
  dyTile42: transpose(AT42),
  filterGrad42: transpose(G42),
};

/**
 * out = F x F^T for a row-major r x r grid x: F on each column, then on each row; `sink` sees each
 * output as soon as its row is done (the emitter stores it there, so fewer values stay live).
 */
function separable<T>(ar: Arith<T>, f: Map1<T>, x: T[], r: number, sink?: (j: number, v: T) => void): T[] {
  const cols: T[][] = [];
  for (let j = 0; j < r; j++) cols.push(f(ar, Array.from({ length: r }, (_, i) => x[i * r + j]!)));
  const m = cols[0]!.length;
  const out: T[] = [];
  for (let i = 0; i < m; i++) {
    for (const v of f(ar, cols.map((c) => c[i]!))) {
      sink?.(out.length, v);
      out.push(v);
    }
  }
  return out;
}

export const MAPS = {
  input: { f: bt, r: 4 },
  filter: { f: gm, r: 3 },
  output: { f: at, r: 4 },
  dyTile: { f: am, r: 2 },
  filterGrad: { f: gt, r: 4 },
  input4: { f: bt4, r: 6 },
  filter4: { f: gm4, r: 3 },
  output4: { f: at4, r: 6 },
  dyTile4: { f: am4, r: 4 },
  filterGrad4: { f: gt4, r: 6 },
  filter34: { f: gm34, r: 4 },
  output34: { f: at34, r: 6 },
  dyTile34: { f: am34, r: 3 },
  filterGrad34: { f: gt34, r: 6 },
  filter52: { f: gm52, r: 2 },
  output52: { f: at52, r: 6 },
  dyTile52: { f: am52, r: 5 },
  filterGrad52: { f: gt52, r: 6 },
  input42: { f: matrixMap(BT42), r: 5 },
  filter42: { f: matrixMap(G42), r: 2 },
  output42: { f: matrixMap(AT42), r: 5 },
  dyTile42: { f: matrixMap(transpose(AT42)), r: 4 },
  filterGrad42: { f: matrixMap(transpose(G42)), r: 5 },
} as const;
export type MapName = keyof typeof MAPS;

export const scalarArith: Arith<number> = {
  add: (a, b) => Math.fround(a + b),
  sub: (a, b) => Math.fround(a - b),
  half: (a) => Math.fround(0.5 * a),
  neg: (a) => -a,
  scale: (a, c) => Math.fround(Math.fround(c) * a),
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

const P = { src: 0, dst: 1, n: 2, c4: 3, PA: 4, PB: 5, QA: 6, QB: 7, sOuter: 8, dOuter: 9, sInner: 10, dInner: 11, rows: 12, sRow: 13, dRow: 14 };
export const NPARAMS = 15;

/** One map's function body: locals [i32: srcT, dstT, cc, s, d, in offsets..., out offsets...] [v128: half, values...]. */
function mapFunc(name: MapName): number[] {
  const { f, r } = MAPS[name];
  const nIn = r * r;
  // outputs: apply once symbolically to count them
  let count = 0;
  const counter: Arith<number> = { add: () => 0, sub: () => 0, half: () => 0, neg: () => 0, scale: () => 0 };
  count = separable(counter, f as Map1<number>, new Array<number>(nIn).fill(0), r).length;
  const m = Math.round(Math.sqrt(count));
  const SRCT = NPARAMS, DSTT = NPARAMS + 1, CC = NPARAMS + 2, S = NPARAMS + 3, D = NPARAMS + 4, ROWS = NPARAMS + 5, ROWD = NPARAMS + 6, NN = NPARAMS + 7;
  const IN0 = NPARAMS + 8, OUT0 = IN0 + nIn;
  const nI32 = 8 + nIn + count;
  const HALF = NPARAMS + nI32;
  let nextV = HALF + 1;
  const body: number[] = [];
  // per-call offsets: in_i = ia*PA + ib*PB, out_j = oa*QA + ob*QB
  const offset = (a: number, b: number, pa: number, pb: number) => [...i32(a), ...get(pa), ...MUL, ...i32(b), ...get(pb), ...MUL, ...ADD];
  for (let i = 0; i < nIn; i++) body.push(...offset(Math.floor(i / r), i % r, P.PA, P.PB), ...set(IN0 + i));
  for (let j = 0; j < count; j++) body.push(...offset(Math.floor(j / m), j % m, P.QA, P.QB), ...set(OUT0 + j));
  body.push(...simd(0x0c), ...f32x4Splat(0.5), ...set(HALF));
  body.push(...get(P.src), ...set(ROWS), ...get(P.dst), ...set(ROWD));
  // constants (splat once, before the loops), by value
  const consts = new Map<number, number>();
  const constant = (c: number) => {
    const key = Math.fround(c);
    let v = consts.get(key);
    if (v == null) {
      consts.set(key, (v = nextV++));
      body.push(...simd(0x0c), ...f32x4Splat(key), ...set(v));
    }
    return v;
  };
  // the loop body: loads, the map, stores
  // Inputs are loaded where first used and outputs stored as soon as computed: a 6x6 map has 36
  // inputs and 36 outputs, and loading all first kept ~70 vectors live (spilled to the stack).
  const inner: number[] = [];
  const ins: number[] = [];
  const pending = new Map<number, number[]>();
  for (let i = 0; i < nIn; i++) {
    const v = nextV++;
    pending.set(v, [...get(S), ...get(IN0 + i), ...ADD, ...vload, ...set(v)]);
    ins.push(v);
  }
  const use = (...vs: number[]) => {
    for (const v of vs) {
      const code = pending.get(v);
      if (code) inner.push(...code);
      pending.delete(v);
    }
  };
  const bin = (op: number) => (a: number, b: number) => {
    use(a, b);
    const v = nextV++;
    inner.push(...get(a), ...get(b), ...simd(op), ...set(v));
    return v;
  };
  const emit: Arith<number> = {
    add: bin(0xe4),
    sub: bin(0xe5),
    half: (a) => bin(0xe6)(a, HALF),
    neg: (a) => {
      use(a);
      const v = nextV++;
      inner.push(...get(a), ...simd(0xe1), ...set(v));
      return v;
    },
    scale: (a, c) => {
      use(a);
      const k = constant(c);
      const v = nextV++;
      inner.push(...get(k), ...get(a), ...simd(0xe6), ...set(v));
      return v;
    },
  };
  separable(emit, f as Map1<number>, ins, r, (j, v) => {
    use(v);
    inner.push(...get(D), ...get(OUT0 + j), ...ADD, ...get(v), ...vstore);
  });
  inner.push(...get(S), ...get(P.sInner), ...ADD, ...set(S), ...get(D), ...get(P.dInner), ...ADD, ...set(D));
  // for (rows) { srcT = rowS; dstT = rowD; for (n) { s = srcT; d = dstT; for (c4) {...}; srcT += sOuter; dstT += dOuter }; rowS += sRow; rowD += dRow }
  body.push(...BLOCK, ...get(P.n), 0x45, ...brIf(0), ...get(P.c4), 0x45, ...brIf(0), ...get(P.rows), 0x45, ...brIf(0));
  body.push(...LOOP);
  body.push(...get(ROWS), ...set(SRCT), ...get(ROWD), ...set(DSTT), ...get(P.n), ...set(NN));
  body.push(...LOOP);
  body.push(...get(SRCT), ...set(S), ...get(DSTT), ...set(D), ...get(P.c4), ...set(CC));
  body.push(...LOOP, ...inner, ...get(CC), ...i32(1), ...SUB, ...tee(CC), ...brIf(0), ...END);
  body.push(...get(SRCT), ...get(P.sOuter), ...ADD, ...set(SRCT), ...get(DSTT), ...get(P.dOuter), ...ADD, ...set(DSTT));
  body.push(...get(NN), ...i32(1), ...SUB, ...tee(NN), ...brIf(0), ...END);
  body.push(...get(ROWS), ...get(P.sRow), ...ADD, ...set(ROWS), ...get(ROWD), ...get(P.dRow), ...ADD, ...set(ROWD));
  body.push(...get(P.rows), ...i32(1), ...SUB, ...tee(P.rows), ...brIf(0), ...END);
  body.push(...END, ...END);
  return [...vec([[...uleb(nI32), I32], [...uleb(nextV - HALF), V128]]), ...body];
}
const brIf = (d: number) => [0x0d, ...uleb(d)];
function f32x4Splat(x: number): number[] {
  const b = new Uint8Array(new Float32Array([x, x, x, x]).buffer);
  return [...b];
}

/** The maps in the module's export order (gemm-pool.ts's helper indexes them the same way). */
export const NAMES = Object.keys(MAPS) as MapName[];

export function winogradModule(shared: boolean): Uint8Array {
  return wasmModule(shared, [fnType(new Array(NPARAMS).fill(I32))], NAMES.map((name) => ({ name, body: mapFunc(name) })));
}

/** (src, dst, n, c4, PA, PB, QA, QB, sOuter, dOuter, sInner, dInner, rows, sRow, dRow), byte offsets on the heap. */
export type MapFn = (
  src: number, dst: number, n: number, c4: number, PA: number, PB: number, QA: number, QB: number,
  sOuter: number, dOuter: number, sInner: number, dInner: number, rows: number, sRow: number, dRow: number,
) => void;
export type WinogradSimd = Record<MapName, MapFn>;

/** The transforms bound to this heap, or null where SIMD is unavailable (Winograd is then not taken). */
export const createWinogradSimd = perMemory((memory): WinogradSimd => {
  const ex = instantiateOn(memory, winogradModule(isSharedMemory(memory)));
  return Object.fromEntries(NAMES.map((nm) => [nm, ex[nm] as MapFn])) as WinogradSimd;
});

// ---- transposition ---------------------------------------------------------------------------

/** i8x16.shuffle by f32 lanes (0-3 first operand, 4-7 second). */
const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];

/**
 * transpose(src, dst, R, C): dst [C, R] = src [R, C]^T, row-major float32 (R, C multiples of 4),
 * by 4x4 blocks: four rows loaded, two rounds of shuffles, four columns stored. Bands of 16 source
 * rows: each band writes whole 64-byte lines of dst (4 blocks down a column of blocks) before
 * moving on; walking one 4-row band across all columns wrote each dst line 16 bytes at a time
 * while 4*C lines R*4 bytes apart (a few cache sets) were in flight (0.9 ms for the 9 taps of
 * 3x3x256x256). The input gradient's filter (rotated 180 degrees, channels swapped) is 9 such
 * transposes of the forward filter's taps; as a scalar JS loop that took longer than its whole
 * Winograd transform.
 */
function transposeFunc(): number[] {
  const [SRC, DST, R, C] = [0, 1, 2, 3];
  const RB = 4, CB = 5, I = 6, J = 7, S = 8, D = 9, N4 = 10, S0 = 11, D0 = 12, II = 13; // i32 locals
  const R0 = 14, R1 = 15, R2 = 16, R3 = 17, T0 = 18, T1 = 19, T2 = 20, T3 = 21; // v128
  const b: number[] = [];
  b.push(...get(R), ...i32(2), 0x74, ...set(RB), ...get(C), ...i32(2), 0x74, ...set(CB));
  b.push(...BLOCK, ...get(R), ...i32(2), 0x76, ...tee(I), 0x45, ...brIf(0), ...get(C), ...i32(2), 0x76, 0x45, ...brIf(0));
  b.push(...LOOP); // bands of up to 4 row quads
  b.push(...i32(4), ...get(I), ...get(I), ...i32(4), 0x4b, 0x1b, ...set(N4)); // min(4, I): I > 4 ? 4 : I
  b.push(...get(SRC), ...set(S0), ...get(DST), ...set(D0), ...get(C), ...i32(2), 0x76, ...set(J));
  b.push(...LOOP); // column quads
  b.push(...get(S0), ...set(S), ...get(D0), ...set(D), ...get(N4), ...set(II));
  b.push(...LOOP); // the band's row quads
  const rows = [R0, R1, R2, R3];
  for (let r = 0; r < 4; r++) {
    b.push(...get(S));
    for (let k = 0; k < r; k++) b.push(...get(CB), ...ADD);
    b.push(...vload, ...set(rows[r]!));
  }
  b.push(...get(R0), ...get(R1), ...shuffle([0, 4, 1, 5]), ...set(T0), ...get(R0), ...get(R1), ...shuffle([2, 6, 3, 7]), ...set(T1));
  b.push(...get(R2), ...get(R3), ...shuffle([0, 4, 1, 5]), ...set(T2), ...get(R2), ...get(R3), ...shuffle([2, 6, 3, 7]), ...set(T3));
  const cols: [number, number, number[]][] = [[T0, T2, [0, 1, 4, 5]], [T0, T2, [2, 3, 6, 7]], [T1, T3, [0, 1, 4, 5]], [T1, T3, [2, 3, 6, 7]]];
  cols.forEach(([p, q, lanes], j) => {
    b.push(...get(D));
    for (let k = 0; k < j; k++) b.push(...get(RB), ...ADD);
    b.push(...get(p), ...get(q), ...shuffle(lanes), ...vstore);
  });
  b.push(...get(S), ...get(CB), ...i32(2), 0x74, ...ADD, ...set(S), ...get(D), ...i32(16), ...ADD, ...set(D));
  b.push(...get(II), ...i32(1), ...SUB, ...tee(II), ...brIf(0), ...END);
  b.push(...get(S0), ...i32(16), ...ADD, ...set(S0), ...get(D0), ...get(RB), ...i32(2), 0x74, ...ADD, ...set(D0));
  b.push(...get(J), ...i32(1), ...SUB, ...tee(J), ...brIf(0), ...END);
  b.push(...get(SRC), ...get(N4), ...get(CB), ...MUL, ...i32(2), 0x74, ...ADD, ...set(SRC), ...get(DST), ...get(N4), ...i32(4), 0x74, ...ADD, ...set(DST));
  b.push(...get(I), ...get(N4), ...SUB, ...tee(I), ...brIf(0), ...END);
  b.push(...END, ...END);
  return [...vec([[10, I32], [8, V128]]), ...b];
}

export function transposeModule(shared: boolean): Uint8Array {
  return wasmModule(shared, [fnType([I32, I32, I32, I32])], [{ name: 'transpose', body: transposeFunc() }]);
}

/** (src, dst, R, C): dst [C, R] = src [R, C]^T, byte offsets on the heap, R and C multiples of 4. */
export type TransposeFn = (src: number, dst: number, R: number, C: number) => void;
/** The SIMD transposition bound to this heap, or null where SIMD is unavailable. */
export const createTranspose = perMemory((memory) => instantiateOn(memory, transposeModule(isSharedMemory(memory))).transpose as TransposeFn);
