/**
 * The bottom strip, on every page: running jobs with a progress bar, ETA and cancel (job.cancel);
 * queued jobs in the order they will start, with their place, move earlier/later (job.move) and
 * cancel; finished jobs stay briefly so the outcome is visible, failures until dismissed.
 */
import { useEffect, useMemo, useState } from 'react';
import { fmtEta } from '../lib/format';
import { available, call } from '../studio';
import { isActive, useJobs, type JobView } from '../store/jobs';
import { reportError } from '../store/ui';
import { Icon } from './Icons';
import { ProgressBar } from './Progress';

const KEEP_DONE_MS = 8000;
const rank = (j: JobView) => (j.state === 'queued' ? 1 : isActive(j) ? 0 : 2);

function JobRow({ j }: { j: JobView }) {
  const forget = useJobs((s) => s.forget);
  const [cancelling, setCancelling] = useState(false);
  const active = isActive(j);
  const cancel = async () => {
    setCancelling(true);
    try {
      await call('job.cancel', { jobId: j.id });
    } catch (e) {
      reportError(`Cancel “${j.title}”`, e);
      setCancelling(false);
    }
  };
  const pct = j.total > 0 ? Math.round((100 * j.step) / j.total) : null;
  const move = (to: 'up' | 'down') => void call('job.move', { jobId: j.id, to }).catch((e: unknown) => reportError(`Move “${j.title}”`, e));
  return (
    <div className={`job ${j.state}`} data-testid="job-row" data-job-id={j.id} data-state={j.state}>
      <div className="job-title" title={j.title}>
        {j.title}
      </div>
      <ProgressBar step={j.state === 'done' ? Math.max(1, j.total) : j.step} total={j.state === 'done' ? Math.max(1, j.total) : j.total} indeterminate={active && j.total <= 0} />
      <div className="job-meta">
        {j.state === 'queued' ? (
          <span data-testid="job-queued">queued{j.position ? ` #${j.position}` : ''}</span>
        ) : active ? (
          <>
            <span>{pct !== null ? `${pct}%` : j.state}</span>
            {j.state === 'paused' ? (
              <span>paused</span>
            ) : (
              <>
                <span title="Estimated time left">ETA {fmtEta(j.etaSec)}</span>
                {j.stepsPerSec ? <span>{j.stepsPerSec.toFixed(j.stepsPerSec < 10 ? 1 : 0)}/s</span> : null}
              </>
            )}
          </>
        ) : (
          <span className={`job-outcome ${j.state}`}>{j.state === 'done' ? 'done' : j.state === 'cancelled' ? 'cancelled' : `failed: ${j.error?.message ?? ''}`}</span>
        )}
        {j.message && active && j.message !== 'paused' && j.message !== 'resumed' ? (
          <span className="job-msg" title={j.message}>
            {j.message}
          </span>
        ) : null}
      </div>
      {j.state === 'queued' && available('job.move') ? (
        <>
          <button type="button" className="icon-btn" aria-label={`Start ${j.title} earlier`} title="Earlier in the queue" onClick={() => move('up')} data-testid="job-up">
            ↑
          </button>
          <button type="button" className="icon-btn" aria-label={`Start ${j.title} later`} title="Later in the queue" onClick={() => move('down')} data-testid="job-down">
            ↓
          </button>
        </>
      ) : null}
      {active ? (
        <button type="button" className="icon-btn" aria-label={`Cancel ${j.title}`} disabled={cancelling} onClick={() => void cancel()} data-testid="job-cancel">
          <Icon name="stop" size={14} />
        </button>
      ) : (
        <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => forget(j.id)}>
          <Icon name="close" size={14} />
        </button>
      )}
    </div>
  );
}

export function JobsStrip() {
  const jobs = useJobs((s) => s.jobs);
  const [now, setNow] = useState(() => Date.now());
  const list = useMemo(
    () =>
      Object.values(jobs)
        .filter((j) => isActive(j) || j.state === 'failed' || now - (j.endedAt ?? now) < KEEP_DONE_MS)
        // Running first, then the queue in its order, then the newest finished.
        .sort((a, b) => rank(a) - rank(b) || (a.position ?? 0) - (b.position ?? 0) || b.startedAt - a.startedAt),
    [jobs, now],
  );
  const hasFinished = list.some((j) => !isActive(j) && j.state !== 'failed');
  useEffect(() => {
    if (!hasFinished) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [hasFinished]);
  const running = list.filter((j) => isActive(j) && j.state !== 'queued').length;
  const queued = list.filter((j) => j.state === 'queued').length;
  return (
    <div className="jobs-strip" data-testid="jobs-strip">
      <div className="jobs-label">
        Jobs <span className="badge">{running}</span>
        {queued ? <span className="muted small" data-testid="jobs-queued"> +{queued} queued</span> : null}
      </div>
      <div className="jobs-list">
        {list.length ? list.map((j) => <JobRow key={j.id} j={j} />) : <span className="muted small">No running jobs</span>}
      </div>
    </div>
  );
}
