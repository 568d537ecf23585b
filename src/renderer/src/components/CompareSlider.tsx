/**
 * Before/after compare: two images stacked, the "after" clipped to the right of a handle that
 * follows pointer drags and arrow keys. Both images share one box, drawn pixelated when small.
 */
import { useCallback, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';

export function CompareSlider({
  before,
  after,
  beforeLabel = 'Input',
  afterLabel = 'Output',
  initial = 50,
  pixelated,
  size,
  onChange,
}: {
  before: string;
  after: string;
  beforeLabel?: string;
  afterLabel?: string;
  /** Handle position in percent. */
  initial?: number;
  pixelated?: boolean;
  /** Display edge in px (square); the box fills its parent when omitted. */
  size?: number;
  onChange?(pct: number): void;
}) {
  const [pct, setPctState] = useState(initial);
  const box = useRef<HTMLDivElement>(null);
  const dragging = useRef(false);

  const setPct = useCallback(
    (v: number) => {
      const c = Math.max(0, Math.min(100, v));
      setPctState(c);
      onChange?.(c);
    },
    [onChange],
  );

  const fromPointer = (e: PointerEvent) => {
    const r = box.current?.getBoundingClientRect();
    if (!r || r.width <= 0) return;
    setPct(((e.clientX - r.left) / r.width) * 100);
  };

  const onKey = (e: KeyboardEvent) => {
    const stepBig = e.shiftKey ? 10 : 2;
    if (e.key === 'ArrowLeft') setPct(pct - stepBig);
    else if (e.key === 'ArrowRight') setPct(pct + stepBig);
    else if (e.key === 'Home') setPct(0);
    else if (e.key === 'End') setPct(100);
    else return;
    e.preventDefault();
  };

  return (
    <div
      ref={box}
      className={`compare ${pixelated ? 'pixelated' : ''}`}
      style={size ? { width: size, height: size } : undefined}
      data-testid="compare"
      onPointerDown={(e) => {
        dragging.current = true;
        (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
        fromPointer(e);
      }}
      onPointerMove={(e) => {
        if (dragging.current) fromPointer(e);
      }}
      onPointerUp={() => (dragging.current = false)}
      onPointerCancel={() => (dragging.current = false)}
    >
      <img className="compare-img" src={before} alt={beforeLabel} draggable={false} data-testid="compare-before" />
      <div className="compare-after" style={{ clipPath: `inset(0 0 0 ${pct}%)` }} data-testid="compare-after">
        <img className="compare-img" src={after} alt={afterLabel} draggable={false} />
      </div>
      <div
        className="compare-handle"
        style={{ left: `${pct}%` }}
        role="slider"
        tabIndex={0}
        aria-label="Before/after position"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
        onKeyDown={onKey}
        data-testid="compare-handle"
      >
        <span className="compare-grip" />
      </div>
      <span className="compare-tag left">{beforeLabel}</span>
      <span className="compare-tag right">{afterLabel}</span>
    </div>
  );
}
