/**
 * The GPU memory a run would need, shown before Start while the engine trains on webgpu
 * (train.estimate): the estimate's parts, whether it fits the adapter, and when it does not, the
 * batch or size that does, one click away. Nothing on the CPU backends: no limit applies there.
 * Asked a moment after the last change (typing a batch size is several changes).
 */
import { useEffect, useState } from 'react';
import type { RequestOf } from '../../../../shared/contract';
import type { TrainMemoryEstimate } from '../../../../shared/channels/train';
import { toErrorData, type ErrorData } from '../../../../shared/errors';
import { available, call } from '../../studio';
import { useStatus } from '../../store/status';

const SETTLE_MS = 300;

/** Small parts (a tiny model's weights) keep their digits instead of reading "0 MiB". */
function mib(b: number): string {
  const m = b / 2 ** 20;
  return `${m < 1 ? m.toFixed(2) : m < 10 ? m.toFixed(1) : Math.round(m).toLocaleString('en')} MiB`;
}

export function MemoryEstimate({ request, onUse }: { request: RequestOf<'train.estimate'> | null; onUse(change: { batchSize?: number; size?: number }): void }) {
  const onGpu = useStatus((s) => s.doctor?.backend === 'webgpu');
  const ask = onGpu && available('train.estimate') && request !== null;
  const key = ask ? JSON.stringify(request) : '';
  const [answer, setAnswer] = useState<{ key: string; data?: TrainMemoryEstimate; error?: ErrorData } | null>(null);
  useEffect(() => {
    if (!key) return;
    let live = true;
    const t = setTimeout(() => {
      call('train.estimate', JSON.parse(key) as RequestOf<'train.estimate'>).then(
        (data) => live && setAnswer({ key, data }),
        (e: unknown) => live && setAnswer({ key, error: toErrorData(e) }),
      );
    }, SETTLE_MS);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [key]);
  if (!key) return null;
  const stale = answer?.key !== key;
  if (answer?.error) {
    return (
      <div className="muted small" data-testid="train-memory" data-state="error">
        GPU memory estimate unavailable: {answer.error.message}
      </div>
    );
  }
  const e = answer?.data;
  if (!e) {
    return (
      <div className="muted small" data-testid="train-memory" data-state="pending">
        Estimating GPU memory…
      </div>
    );
  }
  if (!e.checked) return null;
  const fit = e.fit;
  return (
    <div className={`notice ${fit.ok ? '' : 'warn'}`} data-testid="train-memory" data-state={stale ? 'pending' : fit.ok ? 'fits' : 'too-big'} style={stale ? { opacity: 0.6 } : undefined}>
      <div data-testid="train-memory-total">
        GPU memory: needs about <b>{mib(e.totalBytes)}</b> at size {e.size}, batch {e.batch} — {fit.ok ? 'fits' : 'does not fit'} {e.adapter.vendor} {e.adapter.architecture}
        {e.adapter.isFallbackAdapter ? ' (software)' : ''}.
      </div>
      <div className="small" data-testid="train-memory-parts">
        weights {mib(e.weightBytes)} · gradients + optimizer {mib(e.optimizerBytes)} · activations {mib(e.activationBytes)}; largest buffer {mib(e.largest.bytes)} of {mib(e.bufferLimitBytes)}
      </div>
      {fit.ok ? null : (
        <div className="col" style={{ gap: 4, marginTop: 4 }}>
          <div className="small" data-testid="train-memory-why">
            {fit.why}.
          </div>
          <div className="row" style={{ gap: 6, flexWrap: 'wrap' }}>
            {fit.maxBatch >= 1 ? (
              <button type="button" className="btn small" onClick={() => onUse({ batchSize: fit.maxBatch })} data-testid="train-memory-use-batch">
                Use batch {fit.maxBatch}
              </button>
            ) : null}
            {fit.maxSize ? (
              // The size that fits is found at batch 1 (gpu/memory.ts checkFit), so both change.
              <button type="button" className="btn small" onClick={() => onUse({ size: fit.maxSize!, batchSize: 1 })} data-testid="train-memory-use-size">
                Use size {fit.maxSize}
                {e.batch > 1 ? ' at batch 1' : ''}
              </button>
            ) : null}
            {fit.maxBatch < 1 && !fit.maxSize ? <span className="small">{fit.suggestion}</span> : null}
          </div>
        </div>
      )}
      <div className="muted small" data-testid="train-memory-note">
        {e.note}
      </div>
    </div>
  );
}
