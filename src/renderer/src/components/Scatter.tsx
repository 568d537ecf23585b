/**
 * A 2-D scatter on canvas for thousands of points: drawn in one pass per colour, hover picks the
 * nearest point through a uniform grid (no per-point DOM), click selects it.
 */
import { useEffect, useMemo, useRef, useState } from 'react';

export const CLUSTER_COLOURS = ['#8b93ff', '#5ccf9a', '#e8b45a', '#f0727a', '#5ec4e8', '#c08bff', '#e88fc7', '#a3d65c', '#f29e4c', '#4cc9b0', '#b5b8c8', '#d4a373', '#7aa2f7', '#ff9e64', '#9ece6a', '#bb9af7'];

export interface ScatterProps {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Colour group per point (cluster or label); -1 or undefined: grey. */
  group?: ArrayLike<number>;
  selected?: number | null;
  onHover?(i: number | null): void;
  onSelect?(i: number | null): void;
  height?: number;
  xLabel?: string;
  yLabel?: string;
}

const PAD = 28;

export function Scatter({ x, y, group, selected, onHover, onSelect, height = 460, xLabel = 'PC1', yLabel = 'PC2' }: ScatterProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(600);
  const [hover, setHover] = useState<number | null>(null);
  const n = Math.min(x.length, y.length);

  useEffect(() => {
    const el = canvas.current?.parentElement;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, el.clientWidth)));
    ro.observe(el);
    setWidth(Math.max(200, el.clientWidth));
    return () => ro.disconnect();
  }, []);

  const view = useMemo(() => {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = x[i]!, b = y[i]!;
      if (a < x0) x0 = a;
      if (a > x1) x1 = a;
      if (b < y0) y0 = b;
      if (b > y1) y1 = b;
    }
    if (!Number.isFinite(x0)) {
      x0 = -1;
      x1 = 1;
      y0 = -1;
      y1 = 1;
    }
    const dx = x1 - x0 || 1, dy = y1 - y0 || 1;
    const sx = (width - 2 * PAD) / dx, sy = (height - 2 * PAD) / dy;
    const px = new Float32Array(n), py = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      px[i] = PAD + (x[i]! - x0) * sx;
      py[i] = height - PAD - (y[i]! - y0) * sy;
    }
    // Uniform grid for picking.
    const cell = 16;
    const cols = Math.ceil(width / cell), rows = Math.ceil(height / cell);
    const buckets = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const k = Math.floor(py[i]! / cell) * cols + Math.floor(px[i]! / cell);
      const b = buckets.get(k);
      if (b) b.push(i);
      else buckets.set(k, [i]);
    }
    return { px, py, cell, cols, rows, buckets };
  }, [x, y, n, width, height]);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.strokeStyle = '#24262d';
    ctx.lineWidth = 1;
    ctx.strokeRect(PAD - 6, PAD - 6, width - 2 * PAD + 12, height - 2 * PAD + 12);
    ctx.fillStyle = '#5d606c';
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText(xLabel, width - PAD - 20, height - 8);
    ctx.save();
    ctx.translate(12, PAD + 20);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(yLabel, 0, 0);
    ctx.restore();
    const r = n > 5000 ? 1.6 : n > 1000 ? 2.2 : 3;
    const byColour = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const g = group ? (group[i] ?? -1) : 0;
      const arr = byColour.get(g);
      if (arr) arr.push(i);
      else byColour.set(g, [i]);
    }
    ctx.globalAlpha = n > 2000 ? 0.75 : 0.9;
    for (const [g, idx] of byColour) {
      ctx.fillStyle = g < 0 ? '#5d606c' : CLUSTER_COLOURS[g % CLUSTER_COLOURS.length]!;
      ctx.beginPath();
      for (const i of idx) {
        ctx.moveTo(view.px[i]! + r, view.py[i]!);
        ctx.arc(view.px[i]!, view.py[i]!, r, 0, Math.PI * 2);
      }
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    for (const [i, colour] of [
      [hover, '#ffffff'],
      [selected, '#ffffff'],
    ] as const) {
      if (i == null || i >= n) continue;
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(view.px[i]!, view.py[i]!, r + 4, 0, Math.PI * 2);
      ctx.stroke();
    }
  }, [view, group, n, width, height, hover, selected, xLabel, yLabel]);

  const pick = (e: React.MouseEvent): number | null => {
    const rect = canvas.current!.getBoundingClientRect();
    const mx = e.clientX - rect.left, my = e.clientY - rect.top;
    const cx = Math.floor(mx / view.cell), cy = Math.floor(my / view.cell);
    let best = -1, bestD = 12 * 12;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const b = view.buckets.get((cy + dy) * view.cols + (cx + dx));
        if (!b) continue;
        for (const i of b) {
          const d = (view.px[i]! - mx) ** 2 + (view.py[i]! - my) ** 2;
          if (d < bestD) {
            bestD = d;
            best = i;
          }
        }
      }
    return best >= 0 ? best : null;
  };

  return (
    <canvas
      ref={canvas}
      className="plot"
      style={{ height, cursor: hover != null ? 'pointer' : 'crosshair' }}
      data-testid="scatter"
      onMouseMove={(e) => {
        const i = pick(e);
        if (i !== hover) {
          setHover(i);
          onHover?.(i);
        }
      }}
      onMouseLeave={() => {
        setHover(null);
        onHover?.(null);
      }}
      onClick={(e) => onSelect?.(pick(e))}
    />
  );
}
