/**
 * Checkpoint timeline of a run (run.timeline): the pinned sample set rendered at every checkpoint,
 * scrubbable with a slider (or the arrow keys), each frame with its automatic flags (collapse,
 * output ≈ input, colour drift) also marked on the scrub track; "Promote" makes a bundle from the
 * frame's checkpoint (run.promote {runId, step}) while that checkpoint is still kept.
 * The visual side of the Scoreboard: the scoreboard measures, the timeline shows.
 */
import { useEffect, useState } from 'react';
import type { TimelineFrame } from '../../../../shared/channels/train';
import { available, call } from '../../studio';
import { ZoomView } from '../../components/ImageView';
import { ErrorInline } from '../../components/Toasts';
import { usePngUrl } from '../../lib/png';
import { useLoad } from '../../lib/useLoad';
import { usePromote } from './usePromote';

const FLAG_LABEL: Record<string, string> = { collapse: 'collapse', copy: 'output ≈ input', 'colour-drift': 'colour drift' };

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${Math.round(100 * v)}%`);

export function Timeline({ runId, reloadKey, onPromoted }: { runId: string; reloadKey?: unknown; onPromoted?(): void }) {
  const data = useLoad(available('run.timeline') ? () => call('run.timeline', { runId }) : null, [runId, reloadKey]);
  const frames = data.data?.frames ?? [];
  const [index, setIndex] = useState<number | null>(null);
  const { promoting, promote } = usePromote(runId, onPromoted);
  // Follow the newest frame until the user scrubs.
  const i = index === null ? frames.length - 1 : Math.min(index, frames.length - 1);
  const frame: TimelineFrame | undefined = frames[i];
  const url = usePngUrl(frame?.png);
  useEffect(() => setIndex(null), [runId]);
  if (!available('run.timeline')) return null;

  const pin = data.data?.pin;
  return (
    <div className="col" data-testid="timeline">
      <div className="section-head">
        <h3>Checkpoint timeline</h3>
        {pin ? (
          <span className="muted small" data-testid="timeline-pin">
            {pin.mode === 'kmeans' ? `${data.data!.indices.length} samples chosen for variety (k-means)` : `your ${pin.indices?.length ?? 0} pinned items`}
          </span>
        ) : null}
        <span className="grow" />
        <button type="button" className="btn small" onClick={() => data.reload()} disabled={data.loading}>
          Refresh
        </button>
      </div>
      {data.error ? <ErrorInline title="Load the timeline" error={data.error} /> : null}
      {!frames.length ? (
        <div className="muted small">{data.loading ? 'Loading…' : 'Frames appear at each checkpoint: the pinned samples rendered by the model of that step.'}</div>
      ) : (
        <>
          <div className="timeline-track">
            <input
              type="range"
              min={0}
              max={frames.length - 1}
              step={1}
              value={i}
              onChange={(e) => setIndex(Number(e.currentTarget.value))}
              aria-label="Checkpoint"
              aria-valuetext={`step ${frame?.step ?? ''}`}
              data-testid="timeline-scrub"
              style={{ width: '100%' }}
            />
            <div className="timeline-ticks">
              {frames.map((f, k) => (
                <button
                  type="button"
                  key={f.step}
                  className={`timeline-tick${f.stats.flags.length ? ' flagged' : ''}${k === i ? ' current' : ''}`}
                  style={{ left: frames.length > 1 ? `${(100 * k) / (frames.length - 1)}%` : '0%' }}
                  title={`step ${f.step}${f.stats.flags.length ? ': ' + f.stats.flags.map((x) => FLAG_LABEL[x.kind]).join(', ') : ''}`}
                  onClick={() => setIndex(k)}
                  data-testid="timeline-tick"
                />
              ))}
            </div>
          </div>
          {frame ? (
            <div className="row" style={{ alignItems: 'flex-start', gap: 16 }}>
              <div style={{ height: 300, flex: 1, minWidth: 0 }}>
                {url ? <ZoomView src={url} width={frame.width} height={frame.height} alt={`Pinned samples at step ${frame.step}`} testId="timeline-frame" /> : null}
              </div>
              <div className="col" style={{ width: 260 }}>
                <div>
                  <b data-testid="timeline-step">step {frame.step}</b> <span className="muted small">({i + 1} of {frames.length})</span>
                </div>
                <div className="muted small">
                  sample diversity {pct(frame.stats.diversityMin)} of real
                  {frame.stats.copy !== undefined ? ` · |out − in| ${frame.stats.copy.toFixed(3)}` : ''}
                  {frame.stats.colourDrift !== undefined ? ` · colour gap ${frame.stats.colourDrift.toFixed(2)}` : ''}
                </div>
                {frame.stats.flags.length ? (
                  frame.stats.flags.map((f) => (
                    <div key={f.kind} className="notice warn" data-testid="timeline-flag" title={f.message}>
                      <b>{FLAG_LABEL[f.kind]}</b> — {f.message}
                    </div>
                  ))
                ) : (
                  <div className="notice ok" data-testid="timeline-ok">No flags at this checkpoint.</div>
                )}
                {available('run.promote') ? (
                  <button
                    type="button"
                    className="btn small"
                    disabled={promoting !== null || !frame.checkpoint}
                    title={frame.checkpoint ? `Write a model bundle from the checkpoint of step ${frame.step}` : 'This checkpoint was pruned (the run keeps its last checkpoints only); its frame stays for reference.'}
                    onClick={() => void promote(frame.step)}
                    data-testid="timeline-promote"
                  >
                    {promoting !== null ? 'Making bundle…' : frame.checkpoint ? `Promote step ${frame.step}` : 'Checkpoint pruned'}
                  </button>
                ) : null}
              </div>
            </div>
          ) : null}
        </>
      )}
    </div>
  );
}
