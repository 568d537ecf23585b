/**
 * Full-resolution before/after on a pan-and-zoom canvas: both images share one zoom and pan, so
 * the same pixel sits under the same spot. 'compare' stacks them with a split handle (drag it or
 * use the arrow keys); 'side' shows two synchronised panes. Fit, 1:1 (one image pixel per screen
 * pixel), wheel zoom about the pointer, drag to pan; nearest-neighbour above 150 %.
 */
import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react';
import { Icon } from './Icons';

export type BeforeAfterMode = 'compare' | 'side';

interface View {
  /** Screen pixels per image pixel. */
  scale: number;
  /** Image top-left in viewport pixels. */
  x: number;
  y: number;
}

const ZOOMS = [0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32];

function fitView(w: number, h: number, vw: number, vh: number): View {
  const s = Math.min(vw / w, vh / h);
  const scale = s >= 1 ? Math.max(1, Math.min(16, Math.floor(s))) : s;
  return { scale, x: (vw - w * scale) / 2, y: (vh - h * scale) / 2 };
}

export function BeforeAfter({
  before,
  after,
  width,
  height,
  mode,
  placeholder,
  beforeLabel = 'Input',
  afterLabel = 'Output',
}: {
  before: string;
  after: string | null;
  /** The images' pixel size (both are shown at it). */
  width: number;
  height: number;
  mode: BeforeAfterMode;
  /** Shown in place of the output while it is not there. */
  placeholder?: ReactNode;
  beforeLabel?: string;
  afterLabel?: string;
}) {
  const area = useRef<HTMLDivElement>(null);
  const [vp, setVp] = useState({ w: 640, h: 480 });
  const [view, setView] = useState<View | 'fit'>('fit');
  const [pct, setPct] = useState(50);
  const drag = useRef<{ kind: 'pan' | 'split'; x: number; y: number; start: View } | null>(null);
  const paneW = mode === 'side' ? Math.max(1, (vp.w - 8) / 2) : vp.w;
  const v = view === 'fit' ? fitView(width, height, paneW, vp.h) : view;

  useEffect(() => {
    const el = area.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setVp({ w: el.clientWidth, h: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // A new image starts fitted.
  useEffect(() => setView('fit'), [width, height]);

  /** Zoom to `scale` keeping the image point under (ax, ay) (pane pixels) in place. */
  const zoomTo = useCallback(
    (scale: number, ax = paneW / 2, ay = vp.h / 2) => {
      const cur = view === 'fit' ? fitView(width, height, paneW, vp.h) : view;
      const k = scale / cur.scale;
      setView({ scale, x: ax - (ax - cur.x) * k, y: ay - (ay - cur.y) * k });
    },
    [view, width, height, paneW, vp.h],
  );
  const step = useCallback(
    (dir: 1 | -1, ax?: number, ay?: number) => {
      const next = dir > 0 ? ZOOMS.find((z) => z > v.scale * 1.001) : [...ZOOMS].reverse().find((z) => z < v.scale * 0.999);
      if (next) zoomTo(next, ax, ay);
    },
    [v.scale, zoomTo],
  );
  const stepRef = useRef(step);
  stepRef.current = step;
  useEffect(() => {
    const el = area.current;
    if (!el) return;
    let acc = 0;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      acc += e.deltaY;
      if (Math.abs(acc) < 40) return;
      const r = el.getBoundingClientRect();
      const half = mode === 'side' ? (r.width - 8) / 2 + 8 : Infinity;
      const px = e.clientX - r.left;
      stepRef.current(acc < 0 ? 1 : -1, px >= half ? px - half : px, e.clientY - r.top);
      acc = 0;
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [mode]);

  const onPointerDown = (e: PointerEvent, kind: 'pan' | 'split') => {
    e.stopPropagation();
    drag.current = { kind, x: e.clientX, y: e.clientY, start: v };
    (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
  };
  const onPointerMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    if (d.kind === 'pan') setView({ ...d.start, x: d.start.x + e.clientX - d.x, y: d.start.y + e.clientY - d.y });
    else {
      const r = area.current?.getBoundingClientRect();
      if (r) setPct(Math.max(0, Math.min(100, ((e.clientX - r.left - v.x) / (width * v.scale)) * 100)));
    }
  };
  const onPointerUp = () => (drag.current = null);
  const onHandleKey = (e: KeyboardEvent) => {
    const d = e.shiftKey ? 10 : 2;
    if (e.key === 'ArrowLeft') setPct((p) => Math.max(0, p - d));
    else if (e.key === 'ArrowRight') setPct((p) => Math.min(100, p + d));
    else if (e.key === 'Home') setPct(0);
    else if (e.key === 'End') setPct(100);
    else return;
    e.preventDefault();
  };

  const pixelated = v.scale >= 1.5 ? 'pixelated' : '';
  const box = { left: v.x, top: v.y, width: width * v.scale, height: height * v.scale };
  const img = (src: string, alt: string, testId: string) => <img src={src} alt={alt} draggable={alt === afterLabel} className={`ba-img ${pixelated}`} style={box} data-testid={testId} />;
  const pane = (children: ReactNode, label: string, testId: string) => (
    <div className="ba-pane" data-testid={testId} onPointerDown={(e) => onPointerDown(e, 'pan')}>
      {children}
      <span className="compare-tag left">{label}</span>
    </div>
  );

  return (
    <div className="ba">
      <div ref={area} className={`ba-area ${mode}`} onPointerMove={onPointerMove} onPointerUp={onPointerUp} onPointerCancel={onPointerUp} data-testid="ba-area">
        {mode === 'side' ? (
          <>
            {pane(img(before, beforeLabel, 'translate-input'), beforeLabel, 'ba-before')}
            {pane(after ? img(after, afterLabel, 'translate-output') : <div className="ba-placeholder">{placeholder}</div>, afterLabel, 'ba-after')}
          </>
        ) : (
          <div className="ba-pane" data-testid="compare" onPointerDown={(e) => onPointerDown(e, 'pan')}>
            {img(before, beforeLabel, 'compare-before')}
            {after ? (
              <>
                <div className="ba-clip" style={{ clipPath: `inset(0 0 0 ${Math.max(0, v.x + (width * v.scale * pct) / 100)}px)` }}>
                  {img(after, afterLabel, 'translate-output')}
                </div>
                <div
                  className="compare-handle"
                  style={{ left: v.x + (width * v.scale * pct) / 100 }}
                  role="slider"
                  tabIndex={0}
                  aria-label="Before/after position"
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={Math.round(pct)}
                  onKeyDown={onHandleKey}
                  onPointerDown={(e) => onPointerDown(e, 'split')}
                  data-testid="compare-handle"
                >
                  <span className="compare-grip" />
                </div>
                <span className="compare-tag right">{afterLabel}</span>
              </>
            ) : (
              <div className="ba-placeholder">{placeholder}</div>
            )}
            <span className="compare-tag left">{beforeLabel}</span>
          </div>
        )}
      </div>
      <div className="zoomview-bar">
        <button type="button" className="icon-btn" aria-label="Zoom out" onClick={() => step(-1)}>
          <Icon name="zoomOut" size={16} />
        </button>
        <span className="zoom-label" data-testid="zoom-level" title="Wheel over the image to zoom, drag to pan">
          {Math.round(v.scale * 1000) / 10}%
        </span>
        <button type="button" className="icon-btn" aria-label="Zoom in" onClick={() => step(1)}>
          <Icon name="zoomIn" size={16} />
        </button>
        <button type="button" className={`btn ghost small ${view === 'fit' ? 'active' : ''}`} onClick={() => setView('fit')} data-testid="zoom-fit">
          Fit
        </button>
        <button type="button" className={`btn ghost small ${v.scale === 1 && view !== 'fit' ? 'active' : ''}`} onClick={() => zoomTo(1)} data-testid="zoom-1to1" title="One image pixel per screen pixel">
          1:1
        </button>
        <span className="muted small" data-testid="ba-size">
          {width}×{height}
        </span>
      </div>
    </div>
  );
}
