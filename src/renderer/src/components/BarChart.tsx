/** Explained variance per component: bars plus the cumulative line, in SVG. */
export function VarianceBars({ ratios, height = 160 }: { ratios: number[]; height?: number }) {
  const W = 400;
  const H = height;
  const n = ratios.length;
  if (!n) return null;
  const bw = (W - 40) / n;
  let cum = 0;
  const cumPts = ratios.map((r, i) => {
    cum += r;
    return `${30 + i * bw + bw / 2},${H - 20 - cum * (H - 30)}`;
  });
  return (
    <svg viewBox={`0 0 ${W} ${H}`} style={{ width: '100%', height: H }} data-testid="variance-bars" role="img" aria-label="Explained variance per principal component">
      <line x1={30} x2={W - 10} y1={H - 20} y2={H - 20} stroke="#2b2d35" />
      {[0.25, 0.5, 0.75, 1].map((t) => (
        <g key={t}>
          <line x1={30} x2={W - 10} y1={H - 20 - t * (H - 30)} y2={H - 20 - t * (H - 30)} stroke="#1f2128" />
          <text x={2} y={H - 16 - t * (H - 30)} fontSize={9} fill="#5d606c">
            {Math.round(t * 100)}%
          </text>
        </g>
      ))}
      {ratios.map((r, i) => (
        <g key={i}>
          <rect x={30 + i * bw + 2} width={Math.max(1, bw - 4)} y={H - 20 - r * (H - 30)} height={r * (H - 30)} fill="#6f78f0" rx={2}>
            <title>{`PC${i + 1}: ${(r * 100).toFixed(1)}%`}</title>
          </rect>
          {n <= 20 ? (
            <text x={30 + i * bw + bw / 2} y={H - 6} fontSize={9} fill="#8e919e" textAnchor="middle">
              {i + 1}
            </text>
          ) : null}
        </g>
      ))}
      <polyline points={cumPts.join(' ')} fill="none" stroke="#5ccf9a" strokeWidth={1.5} />
    </svg>
  );
}
