/**
 * When a two-thread product should stay on one thread (gemm-pool.ts's load rule). Pure decision
 * logic: the pool feeds it one measurement per split product and asks before each product; tests
 * inject measurements and clock values.
 *
 * The measure is what splitting actually bought. The caller computes `ownBlocks` row blocks in
 * `own` ms, then waits `wait` ms for the helper's `helperBlocks`. Had the caller done everything
 * alone it would have taken about own * (ownBlocks + helperBlocks) / ownBlocks (a slight
 * over-estimate: alone it would not share the memory bus, which favours splitting a little).
 * Summed over a window of products (by time, so that the many tiny products do not outvote the
 * large ones), speedup = solo estimate / (own + wait): ~1.9 on a quiet machine, below 1 when the
 * helper gets no core (another process, or a busy thread of the backend's own pool).
 *
 * The previous rule averaged wait / own per call: a tiny product pays the helper's wake-up (tens
 * of microseconds, as much as its own half), and an odd block count gave the helper one block
 * more, so wait / own was ~1 for three blocks whatever the load. On a quiet machine it kept whole
 * steps on one thread (CycleGAN 64 px 1.51x PyTorch with it, 1.18x without).
 *
 * Hysteresis: back off only after `losingWindows` consecutive windows with speedup below
 * `enterBelow`; after `soloMs` on one thread, probe one window: below `resumeAbove` it goes back to
 * one thread for twice as long (up to `maxSoloMs`), else splitting resumes and the back-off time
 * returns to `soloMs`.
 */
export interface AdaptOptions {
  /** Caller ms of split products per decision window. */
  windowMs: number;
  enterBelow: number;
  losingWindows: number;
  resumeAbove: number;
  soloMs: number;
  maxSoloMs: number;
}

export const defaultAdaptOptions: AdaptOptions = {
  windowMs: 20,
  enterBelow: 0.9,
  losingWindows: 3,
  resumeAbove: 1.1,
  soloMs: 1000,
  maxSoloMs: 4000,
};

export interface SplitSample {
  /** ms the caller spent on its own blocks, and then waiting for the helper. */
  own: number;
  wait: number;
  ownBlocks: number;
  helperBlocks: number;
}

export type AdaptState = 'split' | 'solo' | 'probe';

export class PoolGovernor {
  state: AdaptState = 'split';
  /** Speedup of the last completed window (null before the first). */
  lastSpeedup: number | null = null;
  backoffs = 0;
  private losing = 0;
  private soloUntil = 0;
  private soloFor: number;
  private winOwn = 0;
  private winSolo = 0;
  private winActual = 0;

  constructor(readonly opts: AdaptOptions = defaultAdaptOptions) {
    this.soloFor = opts.soloMs;
  }

  /** Split the next product? `now`: a monotonic clock in ms. */
  split(now: number): boolean {
    if (this.state !== 'solo') return true;
    if (now < this.soloUntil) return false;
    this.state = 'probe';
    return true;
  }

  observe(s: SplitSample, now: number): void {
    if (this.state === 'solo' || s.ownBlocks <= 0) return;
    this.winOwn += s.own;
    this.winSolo += (s.own * (s.ownBlocks + s.helperBlocks)) / s.ownBlocks;
    this.winActual += s.own + s.wait;
    if (this.winOwn < this.opts.windowMs) return;
    const speedup = this.winActual > 0 ? this.winSolo / this.winActual : Infinity;
    this.winOwn = this.winSolo = this.winActual = 0;
    this.lastSpeedup = speedup;
    if (this.state === 'probe') {
      if (speedup < this.opts.resumeAbove) {
        this.soloFor = Math.min(this.opts.maxSoloMs, this.soloFor * 2);
        this.backOff(now);
      } else {
        this.state = 'split';
        this.soloFor = this.opts.soloMs;
        this.losing = 0;
      }
      return;
    }
    this.losing = speedup < this.opts.enterBelow ? this.losing + 1 : 0;
    if (this.losing >= this.opts.losingWindows) this.backOff(now);
  }

  private backOff(now: number) {
    this.state = 'solo';
    this.soloUntil = now + this.soloFor;
    this.losing = 0;
    this.backoffs++;
  }
}
