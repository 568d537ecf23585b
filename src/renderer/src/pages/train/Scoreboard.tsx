/**
 * Scoreboard of a run: every checkpoint measured on a held-out slice of the run's test split
 * (run.scoreboard job; cached rows from run.scores), the best checkpoint marked, "Promote" per
 * row (run.promote {runId, step}), and the CycleGAN collapse alarm with its hint.
 */
import { useState } from 'react';
import type { Scoreboard as ScoreboardData, ScoreboardRow } from '../../../../shared/channels/scoreboard';
import { ProgressBar } from '../../components/Progress';
import { ErrorInline } from '../../components/Toasts';
import { fmtNum } from '../../lib/format';
import { useLoad } from '../../lib/useLoad';
import { useJobs, waitForJob } from '../../store/jobs';
import { notify, reportError } from '../../store/ui';
import { available, call } from '../../studio';
import { usePromote } from './usePromote';

/** Metric columns besides the key: the ones with a direction (baselines stay in the tooltip). */
export function otherMetricKeys(rows: ScoreboardRow[]): string[] {
  const keys: string[] = [];
  for (const r of rows) for (const m of r.metrics) if (m.better !== 'none' && m.key !== r.key.name && !keys.includes(m.key)) keys.push(m.key);
  return keys;
}

export function Scoreboard({ runId, onPromoted }: { runId: string; onPromoted?(): void }) {
  const cached = useLoad(available('run.scores') ? () => call('run.scores', { runId }) : null, [runId]);
  const [fresh, setFresh] = useState<ScoreboardData | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const { promoting, promote } = usePromote(runId, onPromoted);
  const job = useJobs((s) => (jobId ? s.jobs[jobId] : undefined));
  const board = fresh ?? cached.data;

  const evaluate = async () => {
    try {
      const res = await call('run.scoreboard', { runId });
      setJobId(res.jobId);
      const r = await waitForJob<ScoreboardData>(res.jobId);
      setFresh(r);
      notify(
        'Checkpoints scored',
        `${r.rows.length} checkpoint${r.rows.length === 1 ? '' : 's'} (${r.evaluated} evaluated, ${r.cached} from the cache).`,
        'success',
      );
    } catch (e) {
      reportError('Evaluate checkpoints', e);
    } finally {
      setJobId(null);
    }
  };

  const rows = board?.rows ?? [];
  const others = otherMetricKeys(rows);
  const label = (key: string) => rows.flatMap((r) => r.metrics).find((m) => m.key === key)?.label ?? key;
  const keyRow = rows[0]?.key;
  return (
    <div className="col" data-testid="scoreboard">
      <div className="section-head">
        <h3>Scoreboard</h3>
        {board ? (
          <span className="muted small">
            held-out {board.split} slice, {board.limit} images
          </span>
        ) : null}
        <span className="grow" />
        <button
          type="button"
          className="btn small"
          disabled={jobId !== null}
          onClick={() => void evaluate()}
          data-testid="score-evaluate"
          title="Evaluate every checkpoint of this run (cached ones are reused)"
        >
          {jobId ? 'Evaluating…' : 'Evaluate checkpoints'}
        </button>
      </div>
      {job && jobId ? (
        <div className="col" data-testid="score-progress">
          <ProgressBar step={job.step} total={job.total} />
          {job.message ? <span className="muted small">{job.message}</span> : null}
        </div>
      ) : null}
      {cached.error ? <ErrorInline title="Load the scoreboard" error={cached.error} /> : null}
      {board?.alarm ? (
        <div className="notice warn" role="alert" data-testid="score-alarm">
          <b>{board.alarm.message}</b>
          <div>{board.alarm.hint}</div>
        </div>
      ) : null}
      {board && !rows.length ? <div className="muted small">No checkpoint scored yet — press “Evaluate checkpoints”.</div> : null}
      {rows.length ? (
        <table className="report" data-testid="score-table">
          <thead>
            <tr>
              <th>Step</th>
              <th title={keyRow ? `${keyRow.higherIsBetter ? 'higher' : 'lower'} is better` : undefined}>
                {keyRow ? `${label(keyRow.name)} ${keyRow.higherIsBetter ? '↑' : '↓'}` : 'Key metric'}
              </th>
              {others.map((k) => (
                <th key={k}>{label(k)}</th>
              ))}
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const best = r.step === board?.bestStep;
              return (
                <tr key={r.step} className={best ? 'selected' : ''} data-testid={best ? 'score-row-best' : 'score-row'}>
                  <td>
                    {r.step}{' '}
                    {best ? (
                      <span className="tag" data-testid="score-best">
                        best
                      </span>
                    ) : null}
                  </td>
                  <td title={r.metrics.map((m) => `${m.label}: ${fmtNum(m.value)}`).join('\n')}>
                    <b>{fmtNum(r.key.value)}</b>
                  </td>
                  {others.map((k) => (
                    <td key={k}>{fmtNum(r.metrics.find((m) => m.key === k)?.value)}</td>
                  ))}
                  <td>
                    {available('run.promote') ? (
                      <button
                        type="button"
                        className="btn small"
                        disabled={promoting !== null}
                        onClick={() => void promote(r.step)}
                        data-testid="score-promote"
                      >
                        {promoting === r.step ? 'Making bundle…' : 'Promote'}
                      </button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
