export function ProgressBar({ step, total, indeterminate, testId }: { step: number; total: number; indeterminate?: boolean; testId?: string }) {
  const frac = total > 0 ? Math.max(0, Math.min(1, step / total)) : 0;
  const unknown = indeterminate || total <= 0;
  return (
    <div
      className={`progress ${unknown ? 'indeterminate' : ''}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={total > 0 ? total : undefined}
      aria-valuenow={total > 0 ? step : undefined}
      data-testid={testId}
    >
      <div className="progress-fill" style={unknown ? undefined : { width: `${(frac * 100).toFixed(1)}%` }} />
    </div>
  );
}
