import { describe, expect, it } from 'vitest';
import { PoolGovernor, defaultAdaptOptions, type SplitSample } from '../../../../src/main/engine/kernels/pool-adapt';

// Measurements are injected: no clocks, no threads.
const opts = { windowMs: 10, enterBelow: 1.0, losingWindows: 3, resumeAbove: 1.15, soloMs: 1000, maxSoloMs: 4000 };
/** Two equal halves: the helper finished `late` ms after the caller's own `own` ms. */
const half = (own: number, late: number): SplitSample => ({ own, wait: late, ownBlocks: 4, helperBlocks: 4 });
/** Feed one full window of identical samples at time `now`. */
function window(g: PoolGovernor, s: SplitSample, now: number) {
  for (let t = 0; t < opts.windowMs; t += s.own) g.observe(s, now);
}

describe('PoolGovernor (the pool load rule)', () => {
  it('keeps splitting on a quiet machine, including tiny products whose wait is their whole own time', () => {
    const g = new PoolGovernor(opts);
    for (let w = 0; w < 50; w++) {
      // the old per-call rule fired on these: wait / own = 1 for the small ones
      for (let i = 0; i < 100; i++) g.observe(half(0.05, 0.05), w);
      window(g, half(2, 0.05), w);
      expect(g.split(w)).toBe(true);
    }
    expect(g.backoffs).toBe(0);
    expect(g.lastSpeedup!).toBeGreaterThan(1.5);
  });

  it('credits an uneven split by its blocks (the caller doing 2 of 3 blocks)', () => {
    const g = new PoolGovernor(opts);
    // caller 2 blocks in 2 ms, helper 1 block finished 0.2 ms after: solo ~3 ms vs 2.2 ms
    for (let i = 0; i < 20; i++) g.observe({ own: 2, wait: 0.2, ownBlocks: 2, helperBlocks: 1 }, 0);
    expect(g.lastSpeedup!).toBeCloseTo(3 / 2.2, 5);
    expect(g.state).toBe('split');
  });

  it('backs off only after consecutive losing windows, then probes and resumes when splitting pays again', () => {
    const g = new PoolGovernor(opts);
    const losing = half(1, 1.5); // helper late: 2.5 ms vs 2 ms alone
    window(g, losing, 0);
    window(g, losing, 1);
    window(g, half(1, 0.1), 2); // one good window resets the count
    window(g, losing, 3);
    window(g, losing, 4);
    expect(g.state).toBe('split');
    window(g, losing, 5);
    expect(g.state).toBe('solo');
    expect(g.backoffs).toBe(1);
    expect(g.split(5 + 999)).toBe(false);
    // samples while solo (none should arrive) change nothing
    g.observe(half(1, 0), 500);
    expect(g.state).toBe('solo');
    expect(g.split(5 + 1000)).toBe(true);
    expect(g.state).toBe('probe');
    window(g, half(1, 0.1), 1010); // quiet again: speedup ~1.8
    expect(g.state).toBe('split');
    expect(g.backoffs).toBe(1);
  });

  it('doubles the back-off while probes keep losing, up to the maximum, and resets after a good probe', () => {
    const g = new PoolGovernor(opts);
    const losing = half(1, 1.5);
    let now = 0;
    for (let i = 0; i < 3; i++) window(g, losing, now);
    const durations: number[] = [];
    for (let probe = 0; probe < 4; probe++) {
      let t = now;
      while (!g.split(t)) t += 100;
      durations.push(t - now);
      now = t;
      // marginal: faster than one thread but under resumeAbove, so still one thread
      window(g, half(1, 0.8), now);
      expect(g.state).toBe('solo');
    }
    expect(durations).toEqual([1000, 2000, 4000, 4000]);
    while (!g.split(now)) now += 100;
    window(g, half(1, 0.05), now);
    expect(g.state).toBe('split');
    for (let i = 0; i < 3; i++) window(g, losing, now);
    const t0 = now;
    while (!g.split(now)) now += 100;
    expect(now - t0).toBe(1000);
  });

  it('the defaults need several windows of measured loss', () => {
    expect(defaultAdaptOptions.losingWindows).toBeGreaterThan(1);
    expect(defaultAdaptOptions.resumeAbove).toBeGreaterThan(defaultAdaptOptions.enterBelow);
    expect(defaultAdaptOptions.windowMs).toBeGreaterThan(1);
  });
});
