import { act } from '@testing-library/react';
import type { EventMap, EventName } from '../../../src/shared/events';

type Cb = (p: unknown) => void;

/** The event half of a fake studio: `on` goes into the fake api, `emit` fires an event inside act(). */
export function fakeEvents() {
  const listeners = new Map<string, Set<Cb>>();
  const on = (event: string, cb: Cb) => {
    const s = listeners.get(event) ?? new Set<Cb>();
    listeners.set(event, s);
    s.add(cb);
    return () => s.delete(cb);
  };
  const emit = <E extends EventName>(e: E, p: EventMap[E]) => act(() => listeners.get(e)?.forEach((cb) => cb(p)));
  return { on, emit };
}
