/**
 * "Latest value wins" requester for live controls (latent sliders): requests are debounced,
 * at most ONE is in flight, and while it runs only the newest value is kept. When the answer
 * comes back, the newest pending value (if any) is sent next. Stale frames are never queued.
 */
export interface LatestRequester<A> {
  /** Ask for `arg`; replaces any value that has not been sent yet. */
  push(arg: A): void;
  /** Send now (no debounce), still respecting the one-in-flight rule. */
  flush(): void;
  /** Whether a request is running. */
  busy(): boolean;
  /** Drop the pending value and ignore answers from here on. */
  dispose(): void;
}

export function createLatest<A, R>(
  fn: (arg: A) => Promise<R>,
  handlers: { onResult: (result: R, arg: A) => void; onError?: (err: unknown, arg: A) => void },
  delayMs = 20,
): LatestRequester<A> {
  let pending: { arg: A } | null = null;
  let inFlight = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;

  const send = () => {
    timer = null;
    if (disposed || inFlight || !pending) return;
    const { arg } = pending;
    pending = null;
    inFlight = true;
    let p: Promise<R>;
    try {
      p = fn(arg);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (r) => {
        if (!disposed) handlers.onResult(r, arg);
      },
      (e: unknown) => {
        if (!disposed) handlers.onError?.(e, arg);
      },
    ).finally(() => {
      inFlight = false;
      // The newest value that arrived meanwhile goes out at once (it already waited).
      if (pending && !disposed) send();
    });
  };

  return {
    push(arg) {
      if (disposed) return;
      pending = { arg };
      if (inFlight) return; // sent when the running request returns
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(send, delayMs);
    },
    flush() {
      if (timer !== null) clearTimeout(timer);
      send();
    },
    busy: () => inFlight,
    dispose() {
      disposed = true;
      pending = null;
      if (timer !== null) clearTimeout(timer);
    },
  };
}
