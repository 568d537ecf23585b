/**
 * Models: bundles (trained in the workspace or shipped) with model cards — kind, data, image
 * size, steps, metrics — ONNX export as a job with its parity figure (max |diff|, pass/fail),
 * and reveal in the file manager (desktop app).
 */
import { useState } from 'react';
import type { BundleSummary } from '../../../../shared/channels/bundle';
import type { OnnxExportResult } from '../../../../shared/channels/export';
import { EmptyState, GoTo, MissingChannels } from '../../components/EmptyState';
import { DirectionSeg, type Direction } from '../../components/DirectionSeg';
import { Icon } from '../../components/Icons';
import { PageLayout, Panel } from '../../components/Layout';
import { ErrorInline } from '../../components/Toasts';
import { fmtBytes, fmtNum } from '../../lib/format';
import { twoWay, useBundles } from '../../lib/bundles';
import { useLoad } from '../../lib/useLoad';
import { available, call, studio } from '../../studio';
import { useJobs, waitForJob } from '../../store/jobs';
import { notify, reportError } from '../../store/ui';
import { ProgressBar } from '../../components/Progress';
import { PytorchImport } from './PytorchImport';

function pick(o: Record<string, unknown> | undefined, ...keys: string[]): unknown {
  for (const k of keys) {
    const parts = k.split('.');
    let v: unknown = o;
    for (const p of parts) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

function flatNumbers(o: unknown, prefix = '', out: [string, number][] = [], depth = 0): [string, number][] {
  if (!o || typeof o !== 'object' || depth > 2) return out;
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    if (typeof v === 'number' && Number.isFinite(v)) out.push([prefix + k, v]);
    else if (v && typeof v === 'object' && !Array.isArray(v)) flatNumbers(v, `${prefix}${k}.`, out, depth + 1);
  }
  return out;
}

/** card.json of a bundle (format atelier-model-card), read loosely. */
interface CardData {
  summary?: string;
  data?: Record<string, unknown>;
  steps?: number;
  batchSize?: number;
  wallTimeSec?: number;
  backend?: string;
  machine?: { cpus: number };
  metrics?: Record<string, unknown>;
  keyMetric?: { name: string; value: number; dataset: string; split: string };
  bars?: { name: string; measured: number; op: string; target: number; pass: boolean }[];
}

function Parity({ maxAbsDiff, pass, threshold }: { maxAbsDiff: number; pass: boolean; threshold?: number }) {
  return (
    <span className={`verdict ${pass ? 'ok' : 'error'}`} data-testid="parity" title={`ONNX vs tfjs on fixed inputs${threshold ? `; must be < ${threshold}` : ''}`}>
      parity {pass ? 'pass' : 'FAIL'} · max |Δ| {maxAbsDiff.toExponential(2)}
    </span>
  );
}

function Card({ b, selected, onSelect }: { b: BundleSummary; selected: boolean; onSelect(): void }) {
  return (
    <div className={`card selectable ${selected ? 'selected' : ''}`} role="button" tabIndex={0} onClick={onSelect} onKeyDown={(e) => (e.key === 'Enter' ? onSelect() : undefined)} data-testid="bundle-card">
      <div className="card-title">
        <span className="ellipsis">{b.name}</span>
        <span className="tag">{b.kind}</span>
        <span className="tag">{b.location}</span>
      </div>
      <dl className="kv">
        <dt>image</dt>
        <dd>
          {b.imageSize}×{b.imageSize}×{b.channels}
        </dd>
        {b.latentSize ? (
          <>
            <dt>latent</dt>
            <dd>{b.latentSize}</dd>
          </>
        ) : null}
        {b.classNames?.length ? (
          <>
            <dt>classes</dt>
            <dd className="ellipsis">{b.classNames.join(', ')}</dd>
          </>
        ) : null}
        <dt>ONNX</dt>
        <dd>{b.onnx ? (b.parity ? <Parity {...b.parity} /> : 'exported') : 'not exported'}</dd>
      </dl>
    </div>
  );
}

function Detail({ b, onChanged }: { b: BundleSummary; onChanged(): void }) {
  const detail = useLoad(available('bundle.get') ? () => call('bundle.get', { id: b.id }) : null, [b.id, b.onnx, b.parity?.maxAbsDiff]);
  const [jobId, setJobId] = useState<string | null>(null);
  const [result, setResult] = useState<OnnxExportResult | null>(null);
  const [direction, setDirection] = useState<Direction>('AtoB');
  const job = useJobs((s) => (jobId ? s.jobs[jobId] : undefined));
  const m = detail.data?.manifest;
  const card = detail.data?.cardData as CardData | undefined;
  const training = (pick(m, 'training', 'summary') ?? {}) as Record<string, unknown>;
  const metrics = flatNumbers(card?.metrics ?? pick(m, 'metrics', 'training.metrics', 'summary.metrics') ?? {});
  const steps = card?.steps ?? pick(m, 'training.step', 'training.steps', 'summary.step', 'step', 'steps');
  const dataset = card?.data ? Object.entries(card.data).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('; ') : pick(m, 'training.datasetId', 'datasetId', 'training.dataset', 'dataset');
  const onnx = detail.data?.onnx;

  const exportOnnx = async () => {
    setResult(null);
    try {
      const { jobId: id } = await call('export.onnx', { model: b.id, ...(twoWay(b) ? { direction } : {}) });
      setJobId(id);
      const r = await waitForJob<OnnxExportResult>(id);
      setResult(r);
      if (r.pass) notify('ONNX export passed', r.message, 'success');
      else reportError(`Export ${b.name}`, { code: 'BAD_INPUT', message: r.message, hint: 'The exported model differs from the trained one; see the parity figure.' });
      onChanged();
      detail.reload();
    } catch (e) {
      reportError(`Export ${b.name}`, e);
    }
  };

  const reveal = async (path: string) => {
    try {
      await call('app.reveal', { path });
    } catch (e) {
      reportError('Reveal file', e);
    }
  };
  const canReveal = available('app.reveal') && studio().transport === 'electron';
  const exporting = job && (job.state === 'running' || job.state === 'queued');

  return (
    <div className="col" data-testid="bundle-detail">
      <div className="section-head">
        <h3>{b.name}</h3>
        <span className="tag">{b.kind}</span>
        <span className="grow" />
        {available('export.onnx') && twoWay(b) ? (
          <DirectionSeg value={direction} onChange={setDirection} title="Which generator to export" />
        ) : null}
        {available('export.onnx') ? (
          <button type="button" className="btn primary" onClick={() => void exportOnnx()} disabled={!!exporting || !b.hasTfjs} title={b.hasTfjs ? 'Export to ONNX and check parity' : 'This bundle has no tfjs networks to export'} data-testid="export-onnx">
            {exporting ? 'Exporting…' : b.onnx ? 'Re-export ONNX' : 'Export ONNX'}
          </button>
        ) : null}
        {available('app.reveal') ? (
          <button
            type="button"
            className="btn"
            disabled={!canReveal}
            title={canReveal ? 'Show the file in the file manager' : 'Revealing files works in the desktop app; in the browser the path is shown below.'}
            onClick={() => void reveal(b.onnx ?? b.dir)}
            data-testid="reveal"
          >
            <Icon name="reveal" size={14} /> Reveal file
          </button>
        ) : null}
      </div>
      {exporting && job ? <ProgressBar step={job.step} total={job.total} /> : null}
      {result ? (
        <div className={`notice ${result.pass ? 'ok' : 'warn'}`} data-testid="export-result">
          <Parity maxAbsDiff={result.parity.maxAbsDiff} pass={result.pass} threshold={result.parity.threshold} /> — {result.message}
          <div className="muted small">
            {result.file} · {fmtBytes(result.bytes)} · mean |Δ| {result.parity.meanAbsDiff.toExponential(2)} · threshold {result.parity.threshold}
          </div>
        </div>
      ) : null}
      {detail.error ? <ErrorInline title="Load model card" error={detail.error} /> : null}
      {card?.summary ? <div className="notice">{card.summary}</div> : null}
      {card?.keyMetric || card?.bars?.length ? (
        <div className="card" data-testid="card-bars">
          <div className="card-title">
            Key figure
            {card.keyMetric ? (
              <span className="tag">
                {card.keyMetric.name} = {fmtNum(card.keyMetric.value, 4)} on {card.keyMetric.dataset} ({card.keyMetric.split})
              </span>
            ) : null}
          </div>
          {card.bars?.length ? (
            <table className="report">
              <thead>
                <tr>
                  <th>Bar</th>
                  <th>Measured</th>
                  <th>Target</th>
                  <th>Result</th>
                </tr>
              </thead>
              <tbody>
                {card.bars.map((bar) => (
                  <tr key={bar.name}>
                    <td>{bar.name}</td>
                    <td>{fmtNum(bar.measured, 4)}</td>
                    <td>
                      {bar.op} {fmtNum(bar.target, 4)}
                    </td>
                    <td>
                      <span className={`verdict ${bar.pass ? 'ok' : 'error'}`}>{bar.pass ? 'met' : 'missed'}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
      <div className="cards">
        <div className="card">
          <div className="card-title">Model card</div>
          <dl className="kv">
            <dt>kind</dt>
            <dd>{b.kind}</dd>
            <dt>data</dt>
            <dd>{dataset ? String(dataset) : '—'}</dd>
            <dt>image</dt>
            <dd>
              {b.imageSize}×{b.imageSize}, {b.channels === 1 ? 'greyscale' : `${b.channels} channels`}
            </dd>
            <dt>steps</dt>
            <dd>
              {steps !== undefined ? String(steps) : '—'}
              {card?.batchSize ? ` (batch ${card.batchSize})` : ''}
            </dd>
            {card?.wallTimeSec ? (
              <>
                <dt>wall time</dt>
                <dd>
                  {(card.wallTimeSec / 60).toFixed(1)} min on {card.backend ?? '?'}
                  {card.machine ? `, ${card.machine.cpus} CPUs` : ''}
                </dd>
              </>
            ) : null}
            <dt>folder</dt>
            <dd className="small">{b.dir}</dd>
            {Object.entries(training)
              .filter(([k, v]) => (typeof v === 'string' || typeof v === 'number') && !['steps', 'step', 'datasetId', 'dataset'].includes(k))
              .slice(0, 10)
              .map(([k, v]) => (
                <FragmentKV key={k} k={k} v={typeof v === 'number' ? fmtNum(v) : String(v)} />
              ))}
          </dl>
        </div>
        <div className="card">
          <div className="card-title">Metrics</div>
          {metrics.length ? (
            <dl className="kv">
              {metrics.slice(0, 16).map(([k, v]) => (
                <FragmentKV key={k} k={k} v={fmtNum(v)} />
              ))}
            </dl>
          ) : (
            <span className="muted small">No metrics recorded in this bundle.</span>
          )}
        </div>
        <div className="card">
          <div className="card-title">ONNX</div>
          {onnx ? (
            <dl className="kv">
              <dt>file</dt>
              <dd className="small">{onnx.file}</dd>
              <dt>size</dt>
              <dd>{fmtBytes(onnx.bytes)}</dd>
              <dt>opset</dt>
              <dd>{onnx.opset}</dd>
              <dt>nodes</dt>
              <dd>{onnx.nodes}</dd>
              <dt>inputs</dt>
              <dd>{onnx.inputs.map((i) => `${i.name} [${i.shape.join(', ')}]`).join('; ')}</dd>
              <dt>outputs</dt>
              <dd>{onnx.outputs.map((i) => `${i.name} [${i.shape.join(', ')}]`).join('; ')}</dd>
              {onnx.parity ? (
                <>
                  <dt>parity</dt>
                  <dd>
                    <Parity {...onnx.parity} />
                  </dd>
                </>
              ) : null}
            </dl>
          ) : (
            <span className="muted small">Not exported yet.</span>
          )}
        </div>
      </div>
      {detail.data?.card ? (
        <details className="card">
          <summary>Model card (markdown)</summary>
          <pre style={{ whiteSpace: 'pre-wrap', margin: '8px 0 0', fontFamily: 'var(--mono)', fontSize: 11.5, color: 'var(--muted)' }}>{detail.data.card}</pre>
        </details>
      ) : null}
    </div>
  );
}

function FragmentKV({ k, v }: { k: string; v: string }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{v}</dd>
    </>
  );
}

export function ModelsPage() {
  const bundles = useBundles();
  const [id, setId] = useState<string | null>(null);
  if (!bundles.ready) {
    return (
      <PageLayout title="Models" testId="page-models">
        <MissingChannels what="Models" channels={['bundle.list']} />
      </PageLayout>
    );
  }
  const list = bundles.list as unknown as BundleSummary[];
  const current = list.find((b) => b.id === id) ?? list[0] ?? null;
  const side = current ? (
    <Panel title="Bundles">
      <div className="list">
        {list.map((b) => (
          <button key={b.id} type="button" className={`list-item ${current.id === b.id ? 'selected' : ''}`} onClick={() => setId(b.id)}>
            <span className="ellipsis" style={{ flex: 1 }}>
              {b.name}
            </span>
            <span className="tag">{b.kind}</span>
          </button>
        ))}
      </div>
    </Panel>
  ) : undefined;
  return (
    <PageLayout
      title="Models"
      testId="page-models"
      side={side}
      tools={
        <button type="button" className="btn ghost small" onClick={bundles.reload}>
          Refresh
        </button>
      }
    >
      {bundles.error ? <ErrorInline title="List models" error={bundles.error} /> : null}
      <div className="section">
        <PytorchImport
          onImported={(newId) => {
            bundles.reload();
            setId(newId);
          }}
        />
      </div>
      {bundles.data && !list.length ? (
        <EmptyState title="No models yet" testId="models-empty">
          <p>Finished training runs write a model bundle here; shipped demo models appear here too.</p>
          <GoTo page="train">Go to Train</GoTo>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="section">
          <div className="cards" data-testid="bundle-list">
            {list.map((b) => (
              <Card key={b.id} b={b} selected={current?.id === b.id} onSelect={() => setId(b.id)} />
            ))}
          </div>
        </div>
      ) : null}
      {current ? <Detail key={current.id} b={current} onChanged={bundles.reload} /> : null}
    </PageLayout>
  );
}
