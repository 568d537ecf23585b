/**
 * Data: drop images or folders anywhere, check them (dataset.validate: a per-file report),
 * import with a name (dataset.import, a job), build pairs by hand, browse datasets as
 * thumbnail grids, build the demo datasets, delete.
 */
import { useMemo, useState } from 'react';
import {
  DATASET_KINDS,
  type DatasetDemoResult,
  type DatasetImportResult,
  type DatasetKind,
  type DatasetSourceRequest,
  type DatasetSummary,
  type FitMode,
  type ValidationReport,
} from '../../../../shared/channels/dataset';
import { toErrorData, type ErrorData } from '../../../../shared/errors';
import { DropZone } from '../../components/DropZone';
import { EmptyState, MissingChannels } from '../../components/EmptyState';
import { Icon } from '../../components/Icons';
import { Field, PageLayout, Panel } from '../../components/Layout';
import { ErrorInline } from '../../components/Toasts';
import { IMAGE_EXT, commonRoot, type DroppedFiles } from '../../lib/files';
import { useLoad } from '../../lib/useLoad';
import { available, call, studio } from '../../studio';
import { waitForJob } from '../../store/jobs';
import { notify, reportError } from '../../store/ui';
import { ValidationReportView } from './ValidationReport';
import { PairBuilder, type PendingPair } from './PairBuilder';
import { DatasetCard, DatasetDetail } from './DatasetGrid';

interface Staged {
  /** For people: "folder edges2shoes (412 files)". */
  label: string;
  source: DatasetSourceRequest;
  /** Suggested dataset name. */
  name: string;
}

const KIND_HELP: Record<DatasetKind, string> = {
  paired: 'A→B pairs: side-by-side images, or A/ and B/ folders matched by name (pix2pix).',
  unpaired: 'Two domains without pairs: trainA/ and trainB/ folders (CycleGAN).',
  labeled: 'One folder per class (conditional GAN, analysis).',
  'fashion-mnist': 'Fashion-MNIST idx files (.gz or raw).',
};

/** A first guess of the kind from the dropped structure; the user can change it. */
export function guessKind(relPaths: string[]): DatasetKind {
  const lower = relPaths.map((p) => p.toLowerCase());
  if (lower.some((p) => /idx\d?-ubyte(\.gz)?$/.test(p))) return 'fashion-mnist';
  const segs = new Set(lower.flatMap((p) => p.split('/').slice(0, -1)));
  if (segs.has('traina') || segs.has('trainb')) return 'unpaired';
  if (segs.has('a') && segs.has('b')) return 'paired';
  const dirs = new Set(lower.filter((p) => p.includes('/')).map((p) => p.split('/').slice(-2, -1)[0]));
  if (dirs.size >= 2 && !segs.has('train') && !segs.has('val')) return 'labeled';
  return 'paired';
}

function slug(s: string): string {
  return s.replace(/\.[a-z0-9]+$/i, '').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'dataset';
}

export function DataPage() {
  const ready = available('dataset.list');
  const list = useLoad(ready ? () => call('dataset.list', {}) : null, [ready]);
  const [selected, setSelected] = useState<string | null>(null);
  const [staged, setStaged] = useState<Staged | null>(null);
  const [report, setReport] = useState<ValidationReport | null>(null);
  const [validating, setValidating] = useState(false);
  const [validateError, setValidateError] = useState<ErrorData | null>(null);
  const [importing, setImporting] = useState(false);
  const [importName, setImportName] = useState('');
  const [size, setSize] = useState<string>('');
  const [fit, setFit] = useState<FitMode>('cover');
  const [acceptPartial, setAcceptPartial] = useState(false);
  const [pairs, setPairs] = useState<PendingPair[]>([]);
  const [pairBusy, setPairBusy] = useState(false);
  const [demoBusy, setDemoBusy] = useState(false);

  const datasets = useMemo(() => list.data ?? [], [list.data]);
  const current = useMemo(() => datasets.find((d) => d.id === selected) ?? datasets[0] ?? null, [datasets, selected]);

  if (!ready) {
    return (
      <PageLayout title="Data" testId="page-data">
        <MissingChannels what="Datasets" channels={['dataset.list', 'dataset.validate', 'dataset.import']} />
      </PageLayout>
    );
  }

  const validate = async (s: Staged) => {
    setValidating(true);
    setValidateError(null);
    setReport(null);
    try {
      const sizeN = Number(size);
      const r = await call('dataset.validate', { ...s.source, ...(sizeN ? { size: sizeN } : {}) });
      setReport(r);
      setAcceptPartial(false);
    } catch (e) {
      setValidateError(toErrorData(e));
    } finally {
      setValidating(false);
    }
  };

  const onDrop = async (d: DroppedFiles) => {
    const paths = await studio().pathsForFiles(d.files, d.relPaths);
    let root = commonRoot(paths, d.relPaths);
    let label: string;
    let name: string;
    const tops = new Set(d.relPaths.map((r) => (r.includes('/') ? r.split('/')[0]! : '')));
    if (tops.size === 1 && !tops.has('')) {
      const top = [...tops][0]!;
      root = `${root}/${top}`.replace(/\/\/+/g, '/');
      label = `folder “${top}” (${d.files.length} files)`;
      name = slug(top);
    } else if (d.files.length === 1 && !/\.(zip)$/i.test(d.files[0]!.name) && !IMAGE_EXT.test(d.files[0]!.name)) {
      root = paths[0]!;
      label = d.files[0]!.name;
      name = slug(d.files[0]!.name);
    } else {
      label = `${d.files.length} file${d.files.length === 1 ? '' : 's'}`;
      name = slug(d.relPaths[0] ?? 'dataset');
    }
    if (!root) return;
    const s: Staged = { label, name, source: { kind: guessKind(d.relPaths), path: root } };
    setStaged(s);
    setImportName(name);
    await validate(s);
  };

  const setKind = (kind: DatasetKind) => {
    if (!staged) return;
    const s = { ...staged, source: { ...staged.source, kind, layout: 'auto' as const } };
    setStaged(s);
    void validate(s);
  };

  const runImport = async (s: Staged, name: string, partial: boolean): Promise<void> => {
    const sizeN = Number(size);
    const { jobId } = await call('dataset.import', {
      ...s.source,
      name,
      fit,
      acceptPartial: partial,
      ...(sizeN ? { size: sizeN } : {}),
    });
    const res = await waitForJob<DatasetImportResult>(jobId);
    notify(`Imported “${res.dataset.name}”`, `${res.imported} items${res.skipped.length ? `, ${res.skipped.length} skipped` : ''}${res.warnings ? `, ${res.warnings} warnings` : ''}.`, 'success');
    setSelected(res.dataset.id);
    list.reload();
  };

  const doImport = async () => {
    if (!staged || !importName.trim()) return;
    setImporting(true);
    try {
      await runImport(staged, importName.trim(), acceptPartial);
      setStaged(null);
      setReport(null);
    } catch (e) {
      reportError(`Import “${importName}”`, e);
    } finally {
      setImporting(false);
    }
  };

  const importPairs = async (name: string) => {
    setPairBusy(true);
    try {
      const files: File[] = [];
      const rel: string[] = [];
      pairs.forEach((p, i) => {
        const n = String(i + 1).padStart(4, '0');
        files.push(p.a, p.b);
        rel.push(`A/${n}-${p.a.name}`, `B/${n}-${p.b.name}`);
      });
      const paths = await studio().pathsForFiles(files, rel);
      const s: Staged = {
        label: `${pairs.length} hand-made pair${pairs.length === 1 ? '' : 's'}`,
        name,
        source: { kind: 'paired', layout: 'pairs', pairs: pairs.map((_, i) => ({ a: paths[2 * i]!, b: paths[2 * i + 1]! })) },
      };
      const r = await call('dataset.validate', s.source);
      if (!r.clean) {
        // Show the report; the user decides in the import panel.
        setStaged(s);
        setImportName(name);
        setReport(r);
        notify('Some pairs need a look', 'See the validation report before importing.');
        return;
      }
      await runImport(s, name, false);
      for (const p of pairs) {
        URL.revokeObjectURL(p.urlA);
        URL.revokeObjectURL(p.urlB);
      }
      setPairs([]);
    } catch (e) {
      reportError(`Import pairs as “${name}”`, e);
    } finally {
      setPairBusy(false);
    }
  };

  const buildDemo = async () => {
    setDemoBusy(true);
    try {
      const { jobId } = await call('dataset.demo', {});
      const res = await waitForJob<DatasetDemoResult>(jobId);
      notify('Demo datasets ready', `${res.datasets.map((d) => d.name).join(', ')} (from ${res.from}).`, 'success');
      list.reload();
    } catch (e) {
      reportError('Build demo datasets', e);
    } finally {
      setDemoBusy(false);
    }
  };

  const remove = async (d: DatasetSummary) => {
    if (!window.confirm(`Delete dataset “${d.name}”? Its imported files are removed from the workspace.`)) return;
    try {
      await call('dataset.delete', { id: d.id });
      notify(`Deleted “${d.name}”`);
      if (selected === d.id) setSelected(null);
      list.reload();
    } catch (e) {
      reportError(`Delete “${d.name}”`, e);
    }
  };

  const tools = (
    <>
      {available('dataset.demo') ? (
        <button type="button" className="btn" onClick={() => void buildDemo()} disabled={demoBusy} data-testid="build-demo">
          {demoBusy ? 'Building demo datasets…' : 'Build demo datasets'}
        </button>
      ) : null}
    </>
  );

  const side = (
    <>
      <Panel title="Import">
        {staged ? (
          <div className="col" data-testid="import-panel">
            <div className="small">
              Source: <b>{staged.label}</b>
            </div>
            <Field label="Kind" hint={KIND_HELP[staged.source.kind]}>
              <select value={staged.source.kind} onChange={(e) => setKind(e.currentTarget.value as DatasetKind)} data-testid="kind-select">
                {DATASET_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Resize to (px, square)" hint="Empty keeps the source size. U-Net needs a power of two ≥ 16.">
              <input type="number" min={8} max={2048} value={size} placeholder={report?.size.suggestions[0] ? `e.g. ${report.size.suggestions[0]}` : 'keep'} onChange={(e) => setSize(e.currentTarget.value)} />
            </Field>
            <Field label="Fit">
              <select value={fit} onChange={(e) => setFit(e.currentTarget.value as FitMode)}>
                <option value="cover">cover (crop)</option>
                <option value="contain">contain (pad)</option>
                <option value="fill">fill (stretch)</option>
              </select>
            </Field>
            <button type="button" className="btn" onClick={() => void validate(staged)} disabled={validating}>
              {validating ? 'Checking…' : 'Check again'}
            </button>
            <Field label="Dataset name">
              <input value={importName} onChange={(e) => setImportName(e.currentTarget.value)} data-testid="import-name" />
            </Field>
            {report && !report.clean && report.importable ? (
              <label className="check">
                <input type="checkbox" checked={acceptPartial} onChange={(e) => setAcceptPartial(e.currentTarget.checked)} />
                Import the good files, leave out {report.counts.errors} bad one{report.counts.errors === 1 ? '' : 's'}
              </label>
            ) : null}
            <button
              type="button"
              className="btn primary"
              disabled={!report || importing || !importName.trim() || !report.importable || (!report.clean && !acceptPartial)}
              onClick={() => void doImport()}
              data-testid="import-start"
            >
              {importing ? 'Importing…' : 'Import dataset'}
            </button>
            {report && !report.importable ? <span className="small" style={{ color: 'var(--err)' }}>This source cannot be imported as {staged.source.kind}; see the report.</span> : null}
            <button type="button" className="btn ghost small" onClick={() => (setStaged(null), setReport(null), setValidateError(null))}>
              Clear
            </button>
          </div>
        ) : (
          <DropZone testId="import-drop" onFiles={onDrop}>
            <Icon name="upload" size={22} />
            <div>Drop images or a folder here (or anywhere on the page) to check and import them.</div>
          </DropZone>
        )}
      </Panel>
      <Panel title="Pair builder">
        <PairBuilder pairs={pairs} setPairs={setPairs} onImport={(n) => void importPairs(n)} busy={pairBusy} />
      </Panel>
      {current ? (
        <Panel title="Selected dataset">
          <dl className="kv">
            <dt>id</dt>
            <dd>{current.id}</dd>
            <dt>kind</dt>
            <dd>{current.kind}</dd>
            <dt>image</dt>
            <dd>
              {current.image.width}×{current.image.height}, {current.image.channels === 1 ? 'greyscale' : 'RGB'}
            </dd>
            <dt>items</dt>
            <dd>
              {current.counts.train} train, {current.counts.test} test
            </dd>
            {current.counts.skipped ? (
              <>
                <dt>skipped</dt>
                <dd>{current.counts.skipped}</dd>
              </>
            ) : null}
            {current.classes?.length ? (
              <>
                <dt>classes</dt>
                <dd>{current.classes.join(', ')}</dd>
              </>
            ) : null}
            <dt>source</dt>
            <dd>{current.source.demo ? `demo (${current.source.demo})` : current.source.layout}</dd>
          </dl>
          {available('dataset.delete') ? (
            <button type="button" className="btn danger small" onClick={() => void remove(current)} data-testid="dataset-delete">
              <Icon name="trash" size={14} /> Delete dataset
            </button>
          ) : null}
        </Panel>
      ) : null}
    </>
  );

  return (
    <PageLayout title="Data" tools={tools} side={side} testId="page-data">
      <DropZone testId="page-drop" className="page-drop" onFiles={onDrop}>
        {staged ? (
          <div className="section">
            <div className="section-head">
              <h3>Check: {staged.label}</h3>
              <span className="tag">{staged.source.kind}</span>
              {validating ? <span className="muted small">checking every file…</span> : null}
            </div>
            {validateError ? <ErrorInline title="Check the source" error={validateError} onDismiss={() => setValidateError(null)} /> : null}
            {report ? <ValidationReportView report={report} /> : null}
          </div>
        ) : null}
        {list.error ? <ErrorInline title="List datasets" error={list.error} /> : null}
        {list.data && !datasets.length ? (
          <EmptyState title="No datasets yet" testId="data-empty">
            <p>Drop images or a folder here, build pairs in the side panel, or build the demo datasets.</p>
            {available('dataset.demo') ? (
              <button type="button" className="btn primary" onClick={() => void buildDemo()} disabled={demoBusy}>
                {demoBusy ? 'Building…' : 'Build demo datasets'}
              </button>
            ) : null}
          </EmptyState>
        ) : null}
        {datasets.length ? (
          <>
            <div className="section">
              <div className="section-head">
                <h3>Datasets</h3>
                <span className="muted small">{datasets.length}</span>
              </div>
              <div className="cards" data-testid="dataset-list">
                {datasets.map((d) => (
                  <DatasetCard key={d.id} d={d} selected={current?.id === d.id} onSelect={() => setSelected(d.id)} />
                ))}
              </div>
            </div>
            {current ? <DatasetDetail key={current.id} d={current} /> : null}
          </>
        ) : null}
      </DropZone>
    </PageLayout>
  );
}
