/**
 * An image on the canvas: fits the area, zooms (wheel, +/-, 1:1), and upscales pixel-exact
 * (nearest neighbour) so 32 px outputs stay crisp. The <img> can be dragged out to save it.
 */
import { useEffect, useRef, useState } from 'react';
import { Icon } from './Icons';

export function PixelImage({
  src,
  width,
  height,
  scale,
  alt,
  testId,
  className,
}: {
  src: string;
  width: number;
  height: number;
  scale: number;
  alt: string;
  testId?: string;
  className?: string;
}) {
  return (
    <img
      src={src}
      alt={alt}
      width={Math.round(width * scale)}
      height={Math.round(height * scale)}
      className={`pixel ${scale >= 1.5 ? 'pixelated' : ''} ${className ?? ''}`}
      data-testid={testId}
    />
  );
}

/** Integer zoom that fits `w x h` into `box` (at least 1, pixel-exact). */
export function fitScale(w: number, h: number, boxW: number, boxH: number, max = 16): number {
  if (w <= 0 || h <= 0 || boxW <= 0 || boxH <= 0) return 1;
  const s = Math.min(boxW / w, boxH / h);
  if (s >= 1) return Math.max(1, Math.min(max, Math.floor(s)));
  return s;
}

export function ZoomView({ src, width, height, alt, testId }: { src: string; width: number; height: number; alt: string; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [boxSize, setBoxSize] = useState({ w: 512, h: 512 });
  const [zoom, setZoom] = useState<number | 'fit'>('fit');
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setBoxSize({ w: el.clientWidth - 24, h: el.clientHeight - 24 }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const fit = fitScale(width, height, boxSize.w, boxSize.h);
  const scale = zoom === 'fit' ? fit : zoom;
  const step = (dir: 1 | -1) => {
    const cur = scale;
    const next = dir > 0 ? (cur < 1 ? Math.min(1, cur * 2) : Math.min(32, Math.floor(cur) * 2)) : cur > 1 ? Math.max(1, Math.floor(cur / 2)) : cur / 2;
    setZoom(Math.max(0.125, next));
  };
  // Wheel zooms the canvas (as in Figma); a non-passive listener so the page does not scroll.
  const stepRef = useRef(step);
  stepRef.current = step;
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let acc = 0;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      acc += e.deltaY;
      if (Math.abs(acc) < 40) return;
      stepRef.current(acc < 0 ? 1 : -1);
      acc = 0;
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, []);
  return (
    <div className="zoomview">
      <div
        ref={box}
        className="zoomview-area"
      >
        <PixelImage src={src} width={width} height={height} scale={scale} alt={alt} testId={testId} />
      </div>
      <div className="zoomview-bar">
        <button type="button" className="icon-btn" aria-label="Zoom out" onClick={() => step(-1)}>
          <Icon name="zoomOut" size={16} />
        </button>
        <span className="zoom-label" title="Wheel over the image to zoom">{Math.round(scale * 100)}%</span>
        <button type="button" className="icon-btn" aria-label="Zoom in" onClick={() => step(1)}>
          <Icon name="zoomIn" size={16} />
        </button>
        <button type="button" className={`btn ghost small ${zoom === 'fit' ? 'active' : ''}`} onClick={() => setZoom('fit')}>
          Fit
        </button>
        <button type="button" className={`btn ghost small ${zoom === 1 ? 'active' : ''}`} onClick={() => setZoom(1)}>
          1:1
        </button>
        <span className="muted small">
          {width}×{height}
        </span>
      </div>
    </div>
  );
}
