import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLatest } from '../../../src/renderer/src/lib/latest';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => vi.advanceTimersByTimeAsync(0);

describe('createLatest (live slider requests)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('debounces a burst into one request with the last value', async () => {
    const fn = vi.fn((v: number) => Promise.resolve(v * 10));
    const results: number[] = [];
    const r = createLatest(fn, { onResult: (x) => results.push(x) }, 20);
    r.push(1);
    r.push(2);
    r.push(3);
    await vi.advanceTimersByTimeAsync(19);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith(3);
    await tick();
    expect(results).toEqual([30]);
  });

  it('keeps at most one request in flight and sends only the newest value when it returns', async () => {
    const pending: ReturnType<typeof deferred<number>>[] = [];
    const fn = vi.fn((_v: number) => {
      const d = deferred<number>();
      pending.push(d);
      return d.promise;
    });
    const seen: number[] = [];
    const r = createLatest(fn, { onResult: (_x, arg) => seen.push(arg) }, 20);
    r.push(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(fn).toHaveBeenCalledTimes(1);
    // While 1 renders, the slider moves through 2..50: nothing is sent.
    for (let v = 2; v <= 50; v++) {
      r.push(v);
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(fn).toHaveBeenCalledTimes(1);
    expect(r.busy()).toBe(true);
    pending[0]!.resolve(1);
    await tick();
    // The answer to 1 is shown, then exactly one request for the newest value (50).
    expect(seen).toEqual([1]);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(fn.mock.calls[1]![0]).toBe(50);
    pending[1]!.resolve(50);
    await tick();
    expect(seen).toEqual([1, 50]);
    await vi.advanceTimersByTimeAsync(100);
    expect(fn).toHaveBeenCalledTimes(2); // nothing stale left behind
  });

  it('reports errors and carries on with the next value', async () => {
    let n = 0;
    const fn = vi.fn((v: number) => (n++ === 0 ? Promise.reject(new Error('boom')) : Promise.resolve(v)));
    const errors: unknown[] = [];
    const seen: number[] = [];
    const r = createLatest(fn, { onResult: (x) => seen.push(x), onError: (e) => errors.push(e) }, 10);
    r.push(1);
    await vi.advanceTimersByTimeAsync(10);
    await tick();
    expect(errors).toHaveLength(1);
    r.push(2);
    await vi.advanceTimersByTimeAsync(10);
    await tick();
    expect(seen).toEqual([2]);
  });

  it('ignores answers after dispose', async () => {
    const d = deferred<number>();
    const seen: number[] = [];
    const r = createLatest(() => d.promise, { onResult: (x) => seen.push(x) }, 10);
    r.push(1);
    await vi.advanceTimersByTimeAsync(10);
    r.push(2);
    r.dispose();
    d.resolve(1);
    await tick();
    expect(seen).toEqual([]);
  });
});
