import { useEffect, useRef } from 'react';

export function isTypingTarget(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable;
}

/** Single-key shortcuts for a page (ignored while typing or with Ctrl/Meta/Alt). */
export function useKeys(map: Record<string, () => void>): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTypingTarget(e.target)) return;
      const fn = ref.current[e.key.toLowerCase()];
      if (!fn) return;
      e.preventDefault();
      fn();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: '1 … 6 or Ctrl+1 … 6', what: 'Data, Train, Translate, Latent, Explore, Models' },
  { keys: '?', what: 'Show or hide this list' },
  { keys: 'Wheel over an image', what: 'Zoom (pixel-exact at small sizes)' },
  { keys: 'Translate: C', what: 'Toggle side by side / compare' },
  { keys: 'Translate: S', what: 'Save the output' },
  { keys: 'Compare: ← →  (Shift: bigger steps)', what: 'Move the before/after split' },
  { keys: 'Latent: N', what: 'New sample (random seed)' },
  { keys: 'Latent: A / B', what: 'Set keyframe A / B from the current image' },
  { keys: 'Sliders: ← → Home End', what: 'Move the focused slider' },
];
