/**
 * The long analyses are generators that yield a progress value between chunks of work (a block
 * of distance rows, a k-means iteration, a PCA pass). `drive` runs one to the end synchronously
 * (CLI, tests); `driveAsync` awaits a callback at every yield, which is where an engine job
 * reports progress, lets other requests in and honours cancel/pause.
 */
export interface Step {
  /** 0..1 */
  fraction: number;
  message: string;
}

export function drive<Y, R>(g: Generator<Y, R, void>, onYield?: (y: Y) => void): R {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    onYield?.(r.value);
  }
}

/** Run g inside another generator: yields map(y) for each of its yields and returns its result. */
export function* mapSteps<Y, Z, R>(g: Generator<Y, R, void>, map: (y: Y) => Z): Generator<Z, R, void> {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    yield map(r.value);
  }
}

export async function driveAsync<Y, R>(g: Generator<Y, R, void>, onYield: (y: Y) => Promise<void> | void): Promise<R> {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    try {
      await onYield(r.value);
    } catch (err) {
      g.return(undefined as never);
      throw err;
    }
  }
}
