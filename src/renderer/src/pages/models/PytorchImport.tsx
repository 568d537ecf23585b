/**
 * Drop the reference implementation's .pth checkpoints (latest_net_G.pth, or latest_net_G_A.pth +
 * latest_net_G_B.pth, with *_net_D*.pth) to import them as a bundle: `import.pytorch`, a job whose
 * result carries the ONNX parity. Nothing in a file is run; refused files say why.
 * Once imported, the same files can continue training here: `import.pytorchRun` makes a run whose
 * first checkpoint holds them (optimizer state fresh, said in its note) and `train.resume` starts it.
 */
import { useState } from 'react';
import type { DatasetSummary } from '../../../../shared/channels/dataset';
import type { PytorchImportResult } from '../../../../shared/channels/interop';
import { DropZone } from '../../components/DropZone';
import { ProgressBar } from '../../components/Progress';
import type { DroppedFiles } from '../../lib/files';
import { available, call, studio } from '../../studio';
import { useJobs, waitForJob } from '../../store/jobs';
import { notify, reportError } from '../../store/ui';

export function PytorchImport({ onImported }: { onImported(id: string): void }) {
  const [jobId, setJobId] = useState<string | null>(null);
  const [mode, setMode] = useState<'eval' | 'train'>('eval');
  const [result, setResult] = useState<PytorchImportResult | null>(null);
  const [paths, setPaths] = useState<string[]>([]);
  const [datasets, setDatasets] = useState<DatasetSummary[]>([]);
  const [datasetId, setDatasetId] = useState('');
  const [steps, setSteps] = useState(200);
  const [starting, setStarting] = useState(false);
  const [runNote, setRunNote] = useState<string | null>(null);
  const job = useJobs((s) => (jobId ? s.jobs[jobId] : undefined));
  if (!available('import.pytorch')) return null;
  const busy = !!job && (job.state === 'running' || job.state === 'queued');

  const onFiles = async (d: DroppedFiles) => {
    const pth = d.files.filter((f) => /\.(pth|pt)$/i.test(f.name));
    if (!pth.length) {
      reportError('Import PyTorch checkpoints', { code: 'BAD_INPUT', message: 'Drop .pth files (latest_net_G.pth, or latest_net_G_A.pth and latest_net_G_B.pth).' });
      return;
    }
    const paths = await studio().pathsForFiles(pth, pth.map((f) => f.name));
    setResult(null);
    setRunNote(null);
    try {
      const { jobId: id } = await call('import.pytorch', { files: paths, mode });
      setJobId(id);
      const r = await waitForJob<PytorchImportResult>(id);
      setResult(r);
      setPaths(paths);
      if (available('import.pytorchRun') && available('dataset.list')) setDatasets(await call('dataset.list', {}).catch(() => []));
      const parity = r.onnx.map((o) => `${o.direction} max |Δ| ${o.maxAbsDiff.toExponential(2)}`).join(', ');
      if (r.pass) notify(`Imported ${r.id}`, `${r.kind}, ${r.mode} mode; ONNX parity ${parity}`, 'success');
      else reportError(`Import ${r.id}`, { code: 'BAD_INPUT', message: `The ONNX export differs from the imported networks (${parity}).` });
      onImported(r.id);
    } catch (e) {
      reportError('Import PyTorch checkpoints', e);
    }
  };

  const onContinue = async () => {
    setStarting(true);
    try {
      const r = await call('import.pytorchRun', { files: paths, datasetId, steps });
      await call('train.resume', { runId: r.runId });
      setRunNote(`Run ${r.runId} (${r.model}) is training: ${r.note}. Follow it on the Train page.`);
      notify('Training continues here', `Run ${r.runId} started from the PyTorch checkpoints`, 'success');
    } catch (e) {
      reportError('Continue training', e);
    } finally {
      setStarting(false);
    }
  };

  return (
    <div className="card" data-testid="pytorch-import">
      <div className="card-title">Import PyTorch checkpoints</div>
      <DropZone testId="pytorch-drop" accept=".pth,.pt" folders={false} label="Choose .pth files" onFiles={onFiles} disabled={busy}>
        <div className="small">
          Drop the reference implementation&apos;s <code>latest_net_G.pth</code>, or <code>latest_net_G_A.pth</code> + <code>latest_net_G_B.pth</code> (discriminators may come along). Nothing in a file is run.
        </div>
      </DropZone>
      <label className="small">
        <input type="checkbox" checked={mode === 'train'} onChange={(e) => setMode(e.target.checked ? 'train' : 'eval')} disabled={busy} /> the reference&apos;s train-mode test (batch statistics per image, dropout on)
      </label>
      {busy && job ? (
        <>
          <ProgressBar step={job.step} total={job.total} testId="pytorch-import-progress" />
          <span className="small muted">{job.message ?? 'importing'}</span>
        </>
      ) : null}
      {result ? (
        <div className="small" data-testid="pytorch-import-result">
          {result.id}: {result.networks.map((n) => `${n.name} (${n.detected})`).join('; ')}
        </div>
      ) : null}
      {result && paths.length && available('import.pytorchRun') ? (
        <div className="small" data-testid="pytorch-continue">
          Continue training these checkpoints here on{' '}
          <select value={datasetId} onChange={(e) => setDatasetId(e.currentTarget.value)} aria-label="Dataset to continue on" data-testid="pytorch-continue-dataset">
            <option value="">a dataset…</option>
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>{' '}
          for <input type="number" min={1} value={steps} onChange={(e) => setSteps(Math.max(1, Number(e.currentTarget.value) || 1))} aria-label="Steps" data-testid="pytorch-continue-steps" style={{ width: '6em' }} /> steps{' '}
          <button type="button" className="btn small" onClick={() => void onContinue()} disabled={!datasetId || starting} data-testid="pytorch-continue-start">
            Continue training
          </button>
          {runNote ? <div data-testid="pytorch-continue-note">{runNote}</div> : null}
        </div>
      ) : null}
    </div>
  );
}
