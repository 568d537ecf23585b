/**
 * Seeded PRNG for the data pipeline whose whole state is four uint32 words, so a loader cursor
 * can save it and resume the exact same stream (xoshiro128**, seeded through splitmix32).
 */
import { Rng } from '../core/rng';

export type RngState = [number, number, number, number];

/**
 * The data pipeline's view of the engine PRNG: its state is the four uint32 words (what a loader
 * cursor saves), and next() uses 32 bits per draw (the stream the dataset hashes were made with).
 */
export class DataRng extends Rng {
  constructor(seedOrState: number | RngState = 0) {
    super(Array.isArray(seedOrState) ? 0 : seedOrState);
    if (Array.isArray(seedOrState)) {
      this.s = [seedOrState[0] >>> 0, seedOrState[1] >>> 0, seedOrState[2] >>> 0, seedOrState[3] >>> 0];
      if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    }
  }

  state(): RngState {
    return [this.s[0] >>> 0, this.s[1] >>> 0, this.s[2] >>> 0, this.s[3] >>> 0];
  }

  /** Uniform in [0, 1) from one 32-bit draw. */
  override next(): number {
    return this.nextUint32() / 4294967296;
  }
}

/** Fisher-Yates permutation of 0..n-1 from a fresh generator seeded with `seed`. */
export function permutation(n: number, seed: number): Uint32Array {
  const rng = new DataRng(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Mix several integers into one 32-bit seed (order matters). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h >>> 0;
}
