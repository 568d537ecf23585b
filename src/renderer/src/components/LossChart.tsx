/**
 * Loss curves on canvas (uPlot): one line per loss name, exponential smoothing, log scale
 * toggle. Rebuilds the chart only when the set of series changes; otherwise setData.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { LossHistory } from '../store/jobs';

export const SERIES_COLOURS = ['#8b93ff', '#5ccf9a', '#e8b45a', '#f0727a', '#5ec4e8', '#c08bff', '#e88fc7', '#a3d65c'];

/** Exponential moving average that skips NaN gaps; weight in [0, 0.999]. */
export function smooth(values: number[], weight: number): number[] {
  if (weight <= 0) return values;
  const out = new Array<number>(values.length);
  let last = NaN;
  let debias = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      out[i] = NaN;
      continue;
    }
    last = n === 0 ? 0 : last;
    last = last * weight + (1 - weight) * v;
    n++;
    debias = 1 - Math.pow(weight, n);
    out[i] = last / debias;
  }
  return out;
}

export function LossChart({ history, smoothing, logScale, height = 260 }: { history: LossHistory | undefined; smoothing: number; logScale?: boolean; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const names = useMemo(() => Object.keys(history?.series ?? {}).sort(), [history]);
  const key = `${names.join('|')}:${logScale ? 'log' : 'lin'}:${height}`;

  const data = useMemo<uPlot.AlignedData>(() => {
    if (!history) return [[]];
    return [history.steps, ...names.map((n) => smooth(history.series[n] ?? [], smoothing).map((v) => (logScale && !(v > 0) ? NaN : v)))] as unknown as uPlot.AlignedData;
  }, [history, names, smoothing, logScale]);

  useEffect(() => {
    const el = box.current;
    if (!el || !names.length) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false }, y: logScale ? { distr: 3 } : { auto: true } },
      axes: [
        // Steps are whole numbers: integer tick increments only.
        { stroke: '#8e919e', grid: { stroke: '#24262d' }, ticks: { stroke: '#2b2d35' }, label: 'step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000] },
        { stroke: '#8e919e', grid: { stroke: '#24262d' }, ticks: { stroke: '#2b2d35' }, size: 56 },
      ],
      series: [{ label: 'step' }, ...names.map((n, i) => ({ label: n, stroke: SERIES_COLOURS[i % SERIES_COLOURS.length], width: 1.5, spanGaps: true, points: { show: false } }))],
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height })) : null;
    ro?.observe(el);
    return () => {
      ro?.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuild only when the series set or scale changes; data flows through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  // How many steps the chart holds and the last one, for tests (the canvas itself is opaque).
  return <div ref={box} className="chart" data-testid="loss-chart" data-points={history?.steps.length ?? 0} data-last-step={history?.steps.at(-1) ?? ''} />;
}
