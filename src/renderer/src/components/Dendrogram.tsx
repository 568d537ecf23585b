/**
 * A dendrogram from a scipy-style linkage matrix (rows [a, b, height, size]; leaves 0..n-1,
 * merge i creates node n+i), drawn in SVG with a draggable cut line: subtrees below the cut get
 * one colour per cluster.
 */
import { useMemo, useRef } from 'react';
import { CLUSTER_COLOURS } from './Scatter';

export type LinkageRow = readonly [number, number, number, number] | number[];

export interface DendroLayout {
  /** x position (0..n-1) per node id (leaves and merges). */
  x: number[];
  /** height per node id (0 for leaves). */
  h: number[];
  order: number[];
  maxH: number;
}

export function layoutDendrogram(linkage: LinkageRow[], n: number): DendroLayout {
  const total = n + linkage.length;
  const x = new Array<number>(total).fill(0);
  const h = new Array<number>(total).fill(0);
  const order: number[] = [];
  const children = (id: number) => (id >= n ? [linkage[id - n]![0]!, linkage[id - n]![1]!] : null);
  // In-order leaf walk from the root (iterative, deep trees are fine).
  const root = total - 1;
  if (n === 1) order.push(0);
  else {
    const stack = [root];
    while (stack.length) {
      const id = stack.pop()!;
      const c = children(id);
      if (!c) order.push(id);
      else stack.push(c[1], c[0]);
    }
  }
  order.forEach((leaf, i) => (x[leaf] = i));
  let maxH = 0;
  linkage.forEach((row, i) => {
    const id = n + i;
    x[id] = (x[row[0]!]! + x[row[1]!]!) / 2;
    h[id] = row[2]!;
    if (row[2]! > maxH) maxH = row[2]!;
  });
  return { x, h, order, maxH };
}

/** Cluster id per leaf when cutting at `cut` (merges above the cut are undone). */
export function cutTree(linkage: LinkageRow[], n: number, cut: number): number[] {
  const parent = Array.from({ length: n + linkage.length }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  linkage.forEach((row, i) => {
    if (row[2]! <= cut) {
      parent[find(row[0]!)] = n + i;
      parent[find(row[1]!)] = n + i;
    }
  });
  const ids = new Map<number, number>();
  const out: number[] = [];
  // Number clusters in leaf order of first appearance for stable colours.
  for (let i = 0; i < n; i++) {
    const r = find(i);
    if (!ids.has(r)) ids.set(r, ids.size);
    out.push(ids.get(r)!);
  }
  return out;
}

export function Dendrogram({ linkage, n, cut, onCut, height = 260, labels }: { linkage: LinkageRow[]; n: number; cut: number; onCut(h: number): void; height?: number; labels?: string[] }) {
  const svg = useRef<SVGSVGElement>(null);
  const lay = useMemo(() => layoutDendrogram(linkage, n), [linkage, n]);
  const clusters = useMemo(() => cutTree(linkage, n, cut), [linkage, n, cut]);
  const W = 1000;
  const H = height;
  const top = 10, bottom = 24;
  const sx = (v: number) => (n <= 1 ? W / 2 : 10 + (v / (n - 1)) * (W - 20));
  const sy = (v: number) => top + (1 - v / (lay.maxH || 1)) * (H - top - bottom);
  // Colour of a node: its cluster when entirely below the cut, grey above.
  const nodeCluster = useMemo(() => {
    const c = new Array<number>(n + linkage.length).fill(-1);
    for (let i = 0; i < n; i++) c[i] = clusters[i]!;
    linkage.forEach((row, i) => {
      const a = c[row[0]!]!, b = c[row[1]!]!;
      c[n + i] = row[2]! <= cut && a === b ? a : -1;
    });
    return c;
  }, [clusters, linkage, n, cut]);
  const k = new Set(clusters).size;
  const paths = linkage.map((row, i) => {
    const id = n + i;
    const [a, b] = [row[0]!, row[1]!];
    const d = `M${sx(lay.x[a]!)},${sy(lay.h[a]!)}V${sy(lay.h[id]!)}H${sx(lay.x[b]!)}V${sy(lay.h[b]!)}`;
    const c = nodeCluster[id]!;
    return <path key={id} d={d} stroke={c < 0 ? '#5d606c' : CLUSTER_COLOURS[c % CLUSTER_COLOURS.length]} fill="none" strokeWidth={1.2} vectorEffect="non-scaling-stroke" />;
  });
  const setFromEvent = (clientY: number) => {
    const r = svg.current?.getBoundingClientRect();
    if (!r) return;
    const yy = ((clientY - r.top) / r.height) * H;
    const v = (1 - (yy - top) / (H - top - bottom)) * lay.maxH;
    onCut(Math.max(0, Math.min(lay.maxH, v)));
  };
  return (
    <div className="col" data-testid="dendrogram">
      <svg
        ref={svg}
        viewBox={`0 0 ${W} ${H}`}
        preserveAspectRatio="none"
        style={{ width: '100%', height: H, background: '#0e0f12', borderRadius: 8, cursor: 'ns-resize' }}
        onPointerDown={(e) => {
          (e.currentTarget as Element).setPointerCapture?.(e.pointerId);
          setFromEvent(e.clientY);
        }}
        onPointerMove={(e) => {
          if (e.buttons & 1) setFromEvent(e.clientY);
        }}
        role="img"
        aria-label={`Dendrogram of ${n} items, cut into ${k} clusters`}
      >
        {paths}
        <line x1={0} x2={W} y1={sy(cut)} y2={sy(cut)} stroke="#f0727a" strokeDasharray="6 4" vectorEffect="non-scaling-stroke" />
        {n <= 60 && labels
          ? lay.order.map((leaf) => (
              <text key={leaf} x={sx(lay.x[leaf]!)} y={H - 8} fontSize={10} fill="#8e919e" textAnchor="middle">
                {labels[leaf]}
              </text>
            ))
          : null}
      </svg>
      <div className="muted small">
        Cut at height {cut.toPrecision(3)} → {k} cluster{k === 1 ? '' : 's'} (drag on the tree to move the cut)
      </div>
    </div>
  );
}
