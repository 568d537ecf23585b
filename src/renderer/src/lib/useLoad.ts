import { useCallback, useEffect, useRef, useState } from 'react';
import { toErrorData, type ErrorData } from '../../../shared/errors';

/** Load something on mount / when deps change; errors kept as data for an inline message. */
export function useLoad<T>(fn: (() => Promise<T>) | null, deps: unknown[]): {
  data: T | null;
  error: ErrorData | null;
  loading: boolean;
  reload(): void;
} {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ErrorData | null>(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    if (!fn) {
      setData(null);
      setLoading(false);
      return;
    }
    const my = ++seq.current;
    setLoading(true);
    fn().then(
      (d) => {
        if (my !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (my !== seq.current) return;
        setError(toErrorData(e));
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
