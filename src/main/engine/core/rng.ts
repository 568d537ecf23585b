/**
 * The engine's one PRNG: xoshiro128** seeded through splitmix32 (any 32-bit seed, 0 included,
 * gives a well-mixed state; pure 32-bit integer arithmetic, so the same stream on every
 * platform), with a serialisable state so a resumed run draws exactly the numbers the
 * uninterrupted run would have (noise z, dropout seeds, image-pool swaps, fake labels, data
 * order). Tensor noise uses tf.random* with seeds drawn from here.
 */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

export class Rng {
  protected s: [number, number, number, number];
  private spare: number | null = null;

  constructor(seed = 0) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = [next(), next(), next(), next()];
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  static fromState(st: RngState): Rng {
    const r = new Rng(0);
    r.setState(st);
    return r;
  }

  getState(): RngState {
    return { s: [...this.s] as RngState['s'], spare: this.spare };
  }

  setState(st: RngState): void {
    this.s = [st.s[0] >>> 0, st.s[1] >>> 0, st.s[2] >>> 0, st.s[3] >>> 0];
    this.spare = st.spare;
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A seed for tf.random* / dropout (positive 31-bit integer). */
  seed(): number {
    return (this.nextUint32() >>> 1) + 1;
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
