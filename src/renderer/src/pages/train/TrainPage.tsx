/**
 * Train: pick a model and a dataset, set options (generated from train.options with defaults
 * and meanings), start (train.start). The live run shows the loss chart (uPlot), the latest
 * sample grid (job.sample), progress/ETA/steps per second, the fixed samples' diversity (logged
 * with the losses; a falling line is mode collapse), pause/resume/cancel, the checkpoint timeline
 * (Timeline.tsx); past runs (run.list) can be resumed (train.resume).
 */
import { useEffect, useMemo, useState } from 'react';
import type { DatasetSummary } from '../../../../shared/channels/dataset';
import { EmptyState, GoTo, MissingChannels } from '../../components/EmptyState';
import { DirectionSeg, type Direction } from '../../components/DirectionSeg';
import { ZoomView } from '../../components/ImageView';
import { Field, PageLayout, Panel } from '../../components/Layout';
import { LossChart } from '../../components/LossChart';
import { ProgressBar } from '../../components/Progress';
import { LabeledSlider } from '../../components/Slider';
import { ErrorInline } from '../../components/Toasts';
import { Icon } from '../../components/Icons';
import { fmtEta, fmtNum, fmtTime } from '../../lib/format';
import { usePngUrl } from '../../lib/png';
import { useLoad } from '../../lib/useLoad';
import { available, call } from '../../studio';
import { isActive, useJobs, waitForJob, type JobView } from '../../store/jobs';
import { notify, reportError } from '../../store/ui';
import { MemoryEstimate } from './MemoryEstimate';
import { Scoreboard } from './Scoreboard';
import { Timeline } from './Timeline';
import { changedOptions, defaultsOf, OptionsForm, type OptionSpecView, type OptionValues } from './OptionsForm';
import type { RunDetail, RunSummary, TrainModelInfo } from '../../../../shared/channels/train';
import { takesImages, type DataNeed } from '../../../../shared/capabilities';
import type { LossHistory } from '../../store/jobs';

const DATA_FOR: Record<DataNeed, DatasetSummary['kind'][]> = {
  paired: ['paired'],
  unpaired: ['unpaired', 'paired'],
  labelled: ['labeled', 'fashion-mnist'],
  images: ['labeled', 'fashion-mnist', 'paired', 'unpaired'],
};

/** A translator of one direction learns the way picked here (a two-way one learns both). */
function oneWay(m: TrainModelInfo | null): boolean {
  const t = m?.capabilities.translate;
  return !!t && !(t.AtoB && t.BtoA);
}

function SampleGrid({ jobId }: { jobId: string }) {
  const sample = useJobs((s) => s.samples[jobId]);
  const url = usePngUrl(sample?.png);
  if (!sample || !url) return <div className="muted small">The first sample grid appears after the first sampling step.</div>;
  return (
    <div className="col" data-testid="train-sample">
      <div className="muted small">
        Sample at step {sample.step}
        {sample.caption ? ` — ${sample.caption}` : ''}
      </div>
      <div style={{ height: 360 }}>
        <ZoomView src={url} width={sample.width} height={sample.height} alt={`Sample at step ${sample.step}`} />
      </div>
    </div>
  );
}

function LiveRun({ job }: { job: JobView }) {
  const history = useJobs((s) => s.losses[job.id]);
  const [busy, setBusy] = useState(false);
  const active = isActive(job);
  const setPaused = async (paused: boolean) => {
    setBusy(true);
    try {
      const info = await call('train.pause', { jobId: job.id, paused });
      if (info && typeof info === 'object' && 'id' in info) useJobs.getState().fromInfo(info);
    } catch (e) {
      reportError(paused ? 'Pause training' : 'Resume training', e);
    } finally {
      setBusy(false);
    }
  };
  const cancel = async () => {
    setBusy(true);
    try {
      await call('job.cancel', { jobId: job.id });
    } catch (e) {
      reportError('Cancel training', e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="col" data-testid="live-run">
      <div className="section-head">
        <h3>{job.title}</h3>
        <span className="tag" data-testid="live-state">
          {job.state}
        </span>
        <span className="grow" />
        {active ? (
          job.state === 'paused' ? (
            <button type="button" className="btn small" disabled={busy} onClick={() => void setPaused(false)} data-testid="train-resume-live">
              <Icon name="play" size={14} /> Resume
            </button>
          ) : (
            <button type="button" className="btn small" disabled={busy} onClick={() => void setPaused(true)} data-testid="train-pause">
              <Icon name="pause" size={14} /> Pause
            </button>
          )
        ) : null}
        {active ? (
          <button type="button" className="btn small danger" disabled={busy} onClick={() => void cancel()} data-testid="train-cancel">
            <Icon name="stop" size={14} /> Stop
          </button>
        ) : null}
      </div>
      <ProgressBar step={job.step} total={job.total} testId="train-progress" />
      <div className="stats">
        <div className="stat"><b data-testid="live-steps">{job.step}{job.total ? ` / ${job.total}` : ''}</b><span>steps</span></div>
        {job.epoch !== undefined ? <div className="stat"><b>{job.epoch}</b><span>epoch</span></div> : null}
        <div className="stat"><b>{job.stepsPerSec ? job.stepsPerSec.toFixed(2) : '—'}</b><span>steps/s</span></div>
        <div className="stat"><b>{job.state === 'running' ? fmtEta(job.etaSec) : '—'}</b><span>ETA</span></div>
        {Object.entries(job.losses ?? {}).map(([k, v]) => (
          <div className="stat" key={k}><b>{fmtNum(v)}</b><span>{k}</span></div>
        ))}
        {job.metrics?.diversityMin !== undefined ? (
          <div className="stat" data-testid="train-diversity" title="Lowest per-row (per-class) spread of the fixed samples, as a share of real images' spread; a fall towards 0 is mode collapse.">
            <b>{Math.round(100 * job.metrics.diversityMin)}%</b><span>sample diversity</span>
          </div>
        ) : null}
      </div>
      {job.error && job.state === 'failed' ? <ErrorInline title="Training failed" error={job.error} /> : null}
      <LossPanel history={history} empty="Losses appear with the first progress report." />
      <SampleGrid jobId={job.id} />
      {job.runId ? <Timeline runId={job.runId} reloadKey={`${job.state}`} /> : null}
    </div>
  );
}

/** The loss chart with its smoothing and log-scale controls (live job and past run alike). */
function LossPanel({ history, empty }: { history: LossHistory | undefined; empty: string }) {
  const [smoothing, setSmoothing] = useState(0.6);
  const [log, setLog] = useState(false);
  return (
    <>
      <div className="row">
        <div style={{ width: 220 }}>
          <LabeledSlider label="Smoothing" value={smoothing} min={0} max={0.99} step={0.01} onChange={setSmoothing} format={(v) => v.toFixed(2)} />
        </div>
        <label className="check">
          <input type="checkbox" checked={log} onChange={(e) => setLog(e.currentTarget.checked)} /> log scale
        </label>
      </div>
      {history ? <LossChart history={history} smoothing={smoothing} logScale={log} /> : <div className="muted small">{empty}</div>}
    </>
  );
}

/** Series name of the fixed samples' diversity (lowest row) in the chart. */
export const DIVERSITY_SERIES = 'sample diversity (min)';

/** The log of a run (run.get) as chart history; the samples' logged diversity is one more series. */
export function historyFromLog(log: RunDetail['log']): LossHistory {
  const names = new Set<string>();
  for (const e of log) for (const k of Object.keys(e.losses)) names.add(k);
  const series: Record<string, number[]> = {};
  for (const n of names) series[n] = log.map((e) => e.losses[n] ?? NaN);
  if (log.some((e) => e.diversity)) {
    series[DIVERSITY_SERIES] = log.map((e) => {
      const v = e.diversity ? Object.values(e.diversity).filter(Number.isFinite) : [];
      return v.length ? Math.min(...v) : NaN;
    });
  }
  return { steps: log.map((e) => e.step), series };
}

function PastRun({ runId, onResume, onPromoted }: { runId: string; onResume?(): void; onPromoted?(): void }) {
  const detail = useLoad(() => call('run.get', { runId, logLimit: 5000 }), [runId]);
  const [promoting, setPromoting] = useState(false);
  const promote = async () => {
    setPromoting(true);
    try {
      const r = await call('run.promote', { runId });
      notify('Model bundle made', `${r.bundleId} — find it on the Models, Translate and Latent pages.`, 'success');
      detail.reload();
      onPromoted?.();
    } catch (e) {
      reportError('Make a bundle from the checkpoint', e);
    } finally {
      setPromoting(false);
    }
  };
  const history = useMemo(() => (detail.data ? historyFromLog(detail.data.log) : undefined), [detail.data]);
  const url = usePngUrl(detail.data?.latestSample?.png);
  const s = detail.data?.summary;
  return (
    <div className="col" data-testid="past-run">
      <div className="section-head">
        <h3>{s?.name ?? runId}</h3>
        {s ? <span className="tag">{s.model}</span> : null}
        {s ? <span className="tag">{s.state}</span> : null}
        <span className="grow" />
        {s && !s.bundleId && s.step > 0 && available('run.promote') ? (
          <button type="button" className="btn small" disabled={promoting} onClick={() => void promote()} title="Write a model bundle from the newest checkpoint of this run" data-testid="run-promote">
            {promoting ? 'Making bundle…' : 'Make bundle from checkpoint'}
          </button>
        ) : null}
        {onResume ? (
          <button type="button" className="btn small" onClick={onResume}>
            <Icon name="play" size={14} /> Resume
          </button>
        ) : null}
      </div>
      {detail.error ? <ErrorInline title="Load run" error={detail.error} /> : null}
      {s ? (
        <>
          <ProgressBar step={s.step} total={s.totalSteps} />
          <div className="stats">
            <div className="stat"><b>{s.step} / {s.totalSteps}</b><span>steps</span></div>
            <div className="stat"><b>{s.epoch}</b><span>epoch</span></div>
            <div className="stat"><b>{s.stepsPerSec ? s.stepsPerSec.toFixed(2) : '—'}</b><span>steps/s</span></div>
            <div className="stat"><b>{s.datasetId}</b><span>dataset</span></div>
            {s.bundleId ? <div className="stat"><b>{s.bundleId}</b><span>bundle</span></div> : null}
          </div>
          {s.error ? <div className="notice warn">{s.error}</div> : null}
        </>
      ) : null}
      <LossPanel history={history && history.steps.length ? history : undefined} empty={detail.loading ? 'Loading…' : 'No losses logged.'} />
      {url && detail.data?.latestSample ? (
        <div className="col">
          <div className="muted small">Latest sample (step {detail.data.latestSample.step})</div>
          <div style={{ height: 360 }}>
            <SampleImage url={url} png={detail.data.latestSample.png} />
          </div>
        </div>
      ) : null}
      {available('run.scoreboard') && s && s.step > 0 ? <Scoreboard runId={runId} onPromoted={() => {
            detail.reload();
            onPromoted?.();
          }} /> : null}
      {s && s.step > 0 ? (
        <Timeline
          runId={runId}
          onPromoted={() => {
            detail.reload();
            onPromoted?.();
          }}
        />
      ) : null}
    </div>
  );
}

/** A PNG whose size we learn from the image itself. */
function SampleImage({ url, png }: { url: string; png: Uint8Array }) {
  const size = useMemo(() => {
    // PNG IHDR: width and height at bytes 16..23.
    if (png.byteLength <= 24) return null;
    const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
    return { w: dv.getUint32(16), h: dv.getUint32(20) };
  }, [png]);
  return size ? <ZoomView src={url} width={size.w} height={size.h} alt="Sample" /> : null;
}

export function TrainPage() {
  const ready = available('train.start') && available('train.options');
  const models = useLoad(ready ? () => call('train.options', {}) : null, [ready]);
  const datasets = useLoad(available('dataset.list') ? () => call('dataset.list', {}) : null, []);
  const runs = useLoad(available('run.list') ? () => call('run.list', {}) : null, []);
  const jobs = useJobs((s) => s.jobs);
  const [modelKind, setModelKind] = useState<string>('');
  const [datasetId, setDatasetId] = useState<string>('');
  const [values, setValues] = useState<OptionValues>({});
  const [steps, setSteps] = useState(2000);
  const [lengthBy, setLengthBy] = useState<'steps' | 'epochs'>('steps');
  const [epochs, setEpochs] = useState(5);
  const [direction, setDirection] = useState<Direction>('AtoB');
  const [sampleEvery, setSampleEvery] = useState('');
  const [pinText, setPinText] = useState('');
  const [name, setName] = useState('');
  const [starting, setStarting] = useState(false);
  const [watch, setWatch] = useState<string | null>(null);
  const [viewRun, setViewRun] = useState<string | null>(null);

  const model = useMemo(() => models.data?.find((m) => m.kind === modelKind) ?? models.data?.[0] ?? null, [models.data, modelKind]);
  const specs: OptionSpecView[] = model?.options ?? [];
  useEffect(() => {
    if (model) setValues(defaultsOf(model.options));
  }, [model]);
  const fitting = useMemo(() => (datasets.data ?? []).filter((d) => !model || DATA_FOR[model.data].includes(d.kind)), [datasets.data, model]);
  const dataset = fitting.find((d) => d.id === datasetId) ?? fitting[0] ?? null;

  const trainJobs = useMemo(() => Object.values(jobs).filter((j) => j.kind === 'train' || j.kind.startsWith('train')).sort((a, b) => b.startedAt - a.startedAt), [jobs]);
  const live = (watch ? jobs[watch] : undefined) ?? trainJobs.find(isActive) ?? trainJobs[0] ?? null;

  if (!ready) {
    return (
      <PageLayout title="Train" testId="page-train">
        <MissingChannels what="Training" channels={['train.options', 'train.start']} />
      </PageLayout>
    );
  }

  // "3, 17, 42": the user's own timeline samples (train-split indices); empty: 8 chosen by k-means.
  const pinIndices = pinText
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0)
    .slice(0, 16);
  const start = async () => {
    if (!model || !dataset) return;
    setStarting(true);
    try {
      const res = await call('train.start', {
        model: model.kind,
        datasetId: dataset.id,
        options: { ...changedOptions(specs, values) },
        ...(lengthBy === 'steps' ? { steps } : { epochs }),
        ...(oneWay(model) ? { direction } : {}),
        ...(Number(sampleEvery) > 0 ? { sampleEvery: Math.round(Number(sampleEvery)) } : {}),
        ...(pinIndices.length ? { pin: { mode: 'indices', indices: pinIndices } } : {}),
        ...(name.trim() ? { name: name.trim() } : {}),
      });
      setWatch(res.jobId);
      setViewRun(null);
      runs.reload();
      waitForJob(res.jobId).then(
        () => {
          notify('Training finished', `${model.title} on ${dataset.name}`, 'success');
          runs.reload();
        },
        (e: unknown) => {
          if ((e as { code?: string }).code !== 'CANCELLED') reportError(`Training ${model.title}`, e);
          runs.reload();
        },
      );
    } catch (e) {
      reportError(`Start ${model.title}`, e);
    } finally {
      setStarting(false);
    }
  };

  const resume = async (r: RunSummary) => {
    try {
      const res = await call('train.resume', { runId: r.runId });
      setWatch(res.jobId);
      setViewRun(null);
      runs.reload();
      waitForJob(res.jobId).then(
        () => runs.reload(),
        (e: unknown) => {
          if ((e as { code?: string }).code !== 'CANCELLED') reportError(`Resume ${r.name}`, e);
          runs.reload();
        },
      );
    } catch (e) {
      reportError(`Resume ${r.name}`, e);
    }
  };

  const side = (
    <>
      <Panel title="Model">
        {models.error ? <ErrorInline title="Load model options" error={models.error} /> : null}
        {datasets.error ? <ErrorInline title="List datasets" error={datasets.error} /> : null}
        <Field label="Model" hint={model?.description}>
          <select value={model?.kind ?? ''} onChange={(e) => setModelKind(e.currentTarget.value)} data-testid="train-model">
            {(models.data ?? []).map((m) => (
              <option key={m.kind} value={m.kind}>
                {m.title}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Dataset" hint={model ? `${model.title} needs ${model.data} data.` : undefined}>
          <select value={dataset?.id ?? ''} onChange={(e) => setDatasetId(e.currentTarget.value)} data-testid="train-dataset" disabled={!fitting.length}>
            {fitting.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.kind}, {d.counts.train} items)
              </option>
            ))}
          </select>
        </Field>
        {datasets.data && !fitting.length ? <div className="notice warn">No {model?.data ?? ''} dataset yet — import one on the Data page (or build the demo datasets).</div> : null}
        <Field group label="Run length" hint={lengthBy === 'steps' ? 'Training steps (batches) for this run.' : `Passes over the ${dataset ? `${dataset.counts.train} training items` : 'dataset'}.`}>
          <div className="row" style={{ flexWrap: 'nowrap' }}>
            <div className="seg">
              <button type="button" className={lengthBy === 'steps' ? 'on' : ''} onClick={() => setLengthBy('steps')}>
                steps
              </button>
              <button type="button" className={lengthBy === 'epochs' ? 'on' : ''} onClick={() => setLengthBy('epochs')} data-testid="length-epochs">
                epochs
              </button>
            </div>
            {lengthBy === 'steps' ? (
              <input type="number" min={1} value={steps} onChange={(e) => setSteps(Math.max(1, Number(e.currentTarget.value) || 1))} data-testid="train-steps" aria-label="Steps" />
            ) : (
              <input type="number" min={1} value={epochs} onChange={(e) => setEpochs(Math.max(1, Number(e.currentTarget.value) || 1))} data-testid="train-epochs" aria-label="Epochs" />
            )}
          </div>
        </Field>
        {oneWay(model) ? (
          <Field group label="Direction" hint="AtoB learns B from A (e.g. edges → photo); BtoA the reverse.">
            <DirectionSeg value={direction} onChange={setDirection} />
          </Field>
        ) : null}
        <Field label="Sample every (steps)" hint="How often the sample grid is drawn; empty: the engine's default.">
          <input type="number" min={1} value={sampleEvery} placeholder="default" onChange={(e) => setSampleEvery(e.currentTarget.value)} />
        </Field>
        {model && takesImages(model.capabilities) ? (
          <Field label="Timeline samples" hint="Items rendered at every checkpoint on the timeline: empty picks 8 for variety (k-means over the dataset); or give train-split indices, e.g. 3, 17, 42.">
            <input type="text" value={pinText} placeholder="8 by k-means" onChange={(e) => setPinText(e.currentTarget.value)} data-testid="train-pin" />
          </Field>
        ) : null}
        <Field label="Run name (optional)">
          <input value={name} onChange={(e) => setName(e.currentTarget.value)} />
        </Field>
        <button type="button" className="btn primary" disabled={!model || !dataset || starting} onClick={() => void start()} data-testid="train-start">
          {starting ? 'Starting…' : 'Start training'}
        </button>
      </Panel>
      {specs.length ? (
        <Panel title="Options" actions={<button type="button" className="btn ghost small" onClick={() => model && setValues(defaultsOf(model.options))}>Reset</button>}>
          {/* Beside the size and batch fields it depends on (the first options). */}
          <MemoryEstimate
            request={model && dataset ? { model: model.kind, datasetId: dataset.id, options: { ...changedOptions(specs, values) }, ...(oneWay(model) ? { direction } : {}) } : null}
            onUse={(change) => setValues({ ...values, ...change })}
          />
          <OptionsForm specs={specs} values={values} onChange={setValues} />
        </Panel>
      ) : null}
    </>
  );

  return (
    <PageLayout title="Train" side={side} testId="page-train">
      {viewRun ? (
        <div className="section">
          <button type="button" className="btn ghost small" onClick={() => setViewRun(null)}>
            ‹ Back to the live run
          </button>
          <PastRun
            key={viewRun}
            runId={viewRun}
            onPromoted={runs.reload}
            onResume={(() => {
              const r = runs.data?.find((x) => x.runId === viewRun);
              return r && available('train.resume') && r.state !== 'done' && r.state !== 'running' ? () => void resume(r) : undefined;
            })()}
          />
        </div>
      ) : live ? (
        <div className="section">
          <LiveRun job={live} />
        </div>
      ) : (
        <EmptyState title="No training run in this session" testId="train-empty">
          <p>Pick a model and a dataset on the right and start a run; the loss chart and samples appear here live.</p>
          {datasets.data && !datasets.data.length ? <GoTo page="data">Import or build datasets first</GoTo> : null}
        </EmptyState>
      )}
      <div className="section">
        <div className="section-head">
          <h3>Runs</h3>
          {runs.data ? <span className="muted small">{runs.data.length}</span> : null}
          <span className="grow" />
          {available('run.list') ? (
            <button type="button" className="btn ghost small" onClick={runs.reload}>
              Refresh
            </button>
          ) : null}
        </div>
        {!available('run.list') ? <div className="muted small">Past runs are not available in this build (no run.list channel).</div> : null}
        {runs.error ? <ErrorInline title="List runs" error={runs.error} /> : null}
        {runs.data && !runs.data.length ? <div className="muted small">No runs yet.</div> : null}
        {runs.data?.length ? (
          <table className="report" data-testid="run-list">
            <thead>
              <tr>
                <th>Run</th>
                <th>Model</th>
                <th>Dataset</th>
                <th>Steps</th>
                <th>State</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {runs.data.map((r) => (
                <tr key={r.runId} className={viewRun === r.runId ? 'selected' : ''}>
                  <td>
                    {available('run.get') ? (
                      <button type="button" className="linkish" onClick={() => setViewRun(r.runId)} data-testid="run-open">
                        {r.name}
                      </button>
                    ) : (
                      r.name
                    )}
                  </td>
                  <td>{r.model}</td>
                  <td>{r.datasetId}</td>
                  <td>
                    {r.step ?? '—'}
                    {r.totalSteps ? ` / ${r.totalSteps}` : ''}
                  </td>
                  <td>{r.state ?? '—'}</td>
                  <td className="muted">{fmtTime(r.createdAt ? Date.parse(r.createdAt) : undefined)}</td>
                  <td>
                    {available('train.resume') && r.state !== 'done' && r.state !== 'running' ? (
                      <button type="button" className="btn small" onClick={() => void resume(r)} data-testid="run-resume">
                        Resume
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
    </PageLayout>
  );
}
