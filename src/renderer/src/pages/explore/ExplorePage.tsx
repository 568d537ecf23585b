/**
 * Explore: choose a dataset; PCA scatter on canvas coloured by k-means cluster or true label,
 * hover/click a point to see its image; a k slider re-runs k-means; a dendrogram with linkage
 * and metric pickers and a draggable cut line; explained variance bars. (analysis.* channels;
 * big requests run as jobs and show in the jobs strip.)
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { AnalysisReply, HierarchicalResult, KMeansResultDto, PcaResult } from '../../../../shared/channels/analysis';
import type { DatasetSummary, DatasetThumb } from '../../../../shared/channels/dataset';
import { toErrorData, type ErrorData } from '../../../../shared/errors';
import { callAny, has } from '../../api';
import { VarianceBars } from '../../components/BarChart';
import { Dendrogram, cutTree } from '../../components/Dendrogram';
import { EmptyState, GoTo, MissingChannels } from '../../components/EmptyState';
import { Field, PageLayout, Panel } from '../../components/Layout';
import { CLUSTER_COLOURS, Scatter } from '../../components/Scatter';
import { LabeledSlider } from '../../components/Slider';
import { ErrorInline } from '../../components/Toasts';
import { usePngUrl } from '../../lib/png';
import { useLoad } from '../../lib/useLoad';
import { waitForJob } from '../../store/jobs';

async function analysis<T>(channel: string, req: unknown): Promise<T> {
  const r = await callAny<AnalysisReply<T>>(channel, req);
  if (r.result !== undefined) return r.result;
  return waitForJob<T>(r.jobId!);
}

type ColourBy = 'cluster' | 'label' | 'none';
type Linkage = 'single' | 'complete' | 'average' | 'weighted' | 'ward';
type Metric = 'euclidean' | 'manhattan' | 'cosine';

interface SourceSel {
  datasetId: string;
  split: 'train' | 'test';
  role?: 'a' | 'b' | 'x';
  limit: number;
}

function PointImage({ ds, index, role, caption }: { ds: DatasetSummary; index: number; role?: string; caption: string }) {
  const [thumb, setThumb] = useState<DatasetThumb | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const cache = useRef(new Map<string, DatasetThumb>());
  useEffect(() => {
    const key = `${ds.id}:${index}:${role ?? ''}`;
    const hit = cache.current.get(key);
    if (hit) return setThumb(hit);
    let live = true;
    callAny<{ items: DatasetThumb[] }>('dataset.get', { id: ds.id, split: 'train', offset: index, limit: 2, thumbSize: 128 }).then(
      (r) => {
        const t = r.items.find((i) => i.index === index && (!role || i.role === role)) ?? r.items[0] ?? null;
        if (t) cache.current.set(key, t);
        if (live) {
          setThumb(t);
          setErr(null);
        }
      },
      (e: unknown) => {
        if (!live) return;
        setThumb(null);
        setErr(toErrorData(e).message);
      },
    );
    return () => {
      live = false;
    };
  }, [ds.id, index, role]);
  const url = usePngUrl(thumb?.png);
  return (
    <div className="col" style={{ alignItems: 'center' }} data-testid="point-image">
      {url ? <img src={url} alt={caption} width={128} height={128} className="pixelated" style={{ borderRadius: 6, background: '#0e0f12' }} /> : <div className="thumb" style={{ width: 128 }} />}
      <span className="small muted">{caption}</span>
      {err ? <span className="small" style={{ color: 'var(--err)' }}>{err}</span> : null}
    </div>
  );
}

export function ExplorePage() {
  const ready = has('analysis.pca') && has('dataset.list');
  const datasets = useLoad(has('dataset.list') ? () => callAny<DatasetSummary[]>('dataset.list', {}) : null, []);
  const [dsId, setDsId] = useState('');
  const ds = (datasets.data ?? []).find((d) => d.id === dsId) ?? datasets.data?.[0] ?? null;
  const [role, setRole] = useState<'a' | 'b'>('a');
  const [limit, setLimit] = useState(1000);
  const [pca, setPca] = useState<PcaResult | null>(null);
  const [pcaError, setPcaError] = useState<ErrorData | null>(null);
  const [pcaBusy, setPcaBusy] = useState(false);
  const [k, setK] = useState(6);
  const [km, setKm] = useState<KMeansResultDto | null>(null);
  const [kmError, setKmError] = useState<ErrorData | null>(null);
  const [colourBy, setColourBy] = useState<ColourBy>('cluster');
  const [hover, setHover] = useState<number | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [linkage, setLinkage] = useState<Linkage>('average');
  const [metric, setMetric] = useState<Metric>('euclidean');
  const [treeLimit, setTreeLimit] = useState(200);
  const [tree, setTree] = useState<HierarchicalResult | null>(null);
  const [treeError, setTreeError] = useState<ErrorData | null>(null);
  const [treeBusy, setTreeBusy] = useState(false);
  const [cut, setCut] = useState(0);
  const kmSeq = useRef(0);

  const hasRoles = ds?.kind === 'paired' || ds?.kind === 'unpaired';
  const source = useMemo<SourceSel | null>(() => (ds ? { datasetId: ds.id, split: 'train', ...(hasRoles ? { role } : {}), limit } : null), [ds, hasRoles, role, limit]);
  const sourceReq = (s: SourceSel, lim = s.limit) => ({ kind: 'dataset' as const, datasetId: s.datasetId, split: s.split, limit: lim, ...(s.role ? { role: s.role } : {}) });

  const runKmeans = async (kk: number) => {
    if (!source || !has('analysis.kmeans')) return;
    const my = ++kmSeq.current;
    setKmError(null);
    try {
      const r = await analysis<KMeansResultDto>('analysis.kmeans', { source: sourceReq(source), k: kk, nInit: 2 });
      if (my === kmSeq.current) setKm(r);
    } catch (e) {
      if (my === kmSeq.current) setKmError(toErrorData(e));
    }
  };

  const runPca = async () => {
    if (!source) return;
    setPcaBusy(true);
    setPcaError(null);
    setSelected(null);
    setKm(null);
    try {
      const r = await analysis<PcaResult>('analysis.pca', { source: sourceReq(source), nComponents: 10, returnComponents: 0, projectionDims: 2 });
      setPca(r);
      if (!r.source.classLabels && colourBy === 'label') setColourBy('cluster');
      void runKmeans(k);
    } catch (e) {
      setPcaError(toErrorData(e));
    } finally {
      setPcaBusy(false);
    }
  };

  const runTree = async () => {
    if (!source || !has('analysis.hierarchical')) return;
    setTreeBusy(true);
    setTreeError(null);
    try {
      const r = await analysis<HierarchicalResult>('analysis.hierarchical', { source: sourceReq(source, treeLimit), linkage, metric: linkage === 'ward' ? 'euclidean' : metric });
      setTree(r);
      // Start with the cut that leaves k clusters (the k-means k), a useful first view.
      const hs = r.linkage.map((row) => row[2]!).sort((a, b) => a - b);
      const idx = Math.max(0, hs.length - k);
      setCut(hs.length ? (hs[idx]! + (hs[idx - 1] ?? 0)) / 2 : 0);
    } catch (e) {
      setTreeError(toErrorData(e));
    } finally {
      setTreeBusy(false);
    }
  };

  // New source: clear results.
  useEffect(() => {
    setPca(null);
    setKm(null);
    setTree(null);
    setSelected(null);
  }, [source?.datasetId, source?.role, source?.limit]);

  const xs = useMemo(() => pca?.projection.map((p) => p[0]!) ?? [], [pca]);
  const ys = useMemo(() => pca?.projection.map((p) => p[1] ?? 0) ?? [], [pca]);
  const group = useMemo(() => {
    if (!pca) return undefined;
    if (colourBy === 'label') return pca.source.classLabels;
    if (colourBy === 'cluster' && km && km.labels.length === xs.length) return km.labels;
    return undefined;
  }, [pca, km, colourBy, xs.length]);
  const treeClusters = useMemo(() => (tree ? cutTree(tree.linkage, tree.source.n, cut) : null), [tree, cut]);

  if (!ready) {
    return (
      <PageLayout title="Explore" testId="page-explore">
        <MissingChannels what="Exploration" channels={['analysis.pca', 'analysis.kmeans', 'analysis.hierarchical']} />
      </PageLayout>
    );
  }

  const shown = selected ?? hover;
  const describe = (i: number) => {
    const lab = pca?.source.classLabels?.[i];
    const cls = lab !== undefined ? (pca?.source.classes?.[lab] ?? String(lab)) : null;
    const c = km?.labels[i];
    return `#${pca?.source.indices?.[i] ?? i}${cls ? ` · ${cls}` : ''}${c !== undefined ? ` · cluster ${c + 1}` : ''}`;
  };

  const side = (
    <>
      <Panel title="Source">
        {datasets.error ? <ErrorInline title="List datasets" error={datasets.error} /> : null}
        <Field label="Dataset">
          <select value={ds?.id ?? ''} onChange={(e) => setDsId(e.currentTarget.value)} data-testid="explore-dataset" disabled={!datasets.data?.length}>
            {(datasets.data ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.kind}, {d.counts.train})
              </option>
            ))}
          </select>
        </Field>
        {hasRoles ? (
          <Field group label="Images">
            <div className="seg">
              {(['a', 'b'] as const).map((r) => (
                <button key={r} type="button" className={role === r ? 'on' : ''} onClick={() => setRole(r)}>
                  domain {r.toUpperCase()}
                </button>
              ))}
            </div>
          </Field>
        ) : null}
        <Field label="Images analysed" hint="A seeded random subset when the dataset holds more.">
          <select value={limit} onChange={(e) => setLimit(Number(e.currentTarget.value))}>
            {[250, 500, 1000, 2000, 5000].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Field>
        <button type="button" className="btn primary" disabled={!ds || pcaBusy} onClick={() => void runPca()} data-testid="run-pca">
          {pcaBusy ? 'Computing PCA…' : pca ? 'Recompute' : 'Compute PCA'}
        </button>
      </Panel>
      <Panel title="Colour">
        <div className="seg">
          <button type="button" className={colourBy === 'cluster' ? 'on' : ''} onClick={() => setColourBy('cluster')}>
            k-means
          </button>
          <button type="button" className={colourBy === 'label' ? 'on' : ''} disabled={!pca?.source.classLabels} onClick={() => setColourBy('label')}>
            true label
          </button>
          <button type="button" className={colourBy === 'none' ? 'on' : ''} onClick={() => setColourBy('none')}>
            none
          </button>
        </div>
        <LabeledSlider label="k (clusters)" value={k} min={2} max={16} step={1} onChange={setK} onCommit={(v) => void runKmeans(v)} disabled={!pca || !has('analysis.kmeans')} testId="k-slider" />
        {km ? (
          <div className="muted small">
            inertia {km.inertia.toPrecision(4)} · {km.iterations} iterations{km.converged ? '' : ' (not converged)'}
          </div>
        ) : null}
        {kmError ? <ErrorInline title="k-means" error={kmError} /> : null}
        {colourBy === 'label' && pca?.source.classes ? (
          <div className="row small">
            {pca.source.classes.map((c, i) => (
              <span key={c} className="row" style={{ gap: 4 }}>
                <span style={{ width: 8, height: 8, borderRadius: 4, background: CLUSTER_COLOURS[i % CLUSTER_COLOURS.length] }} />
                {c}
              </span>
            ))}
          </div>
        ) : null}
      </Panel>
      {pca && ds && shown !== null && pca.source.indices ? (
        <Panel title={selected !== null ? 'Selected point' : 'Point'}>
          <PointImage ds={ds} index={pca.source.indices[shown]!} role={hasRoles ? role : undefined} caption={describe(shown)} />
        </Panel>
      ) : null}
      {pca ? (
        <Panel title="Explained variance">
          <VarianceBars ratios={pca.ratio} />
          <div className="muted small">
            PC1+PC2 explain {(((pca.ratio[0] ?? 0) + (pca.ratio[1] ?? 0)) * 100).toFixed(1)}%; first {pca.ratio.length} explain {((pca.cumulative[pca.cumulative.length - 1] ?? 0) * 100).toFixed(1)}%.
          </div>
        </Panel>
      ) : null}
    </>
  );

  return (
    <PageLayout title="Explore" side={side} testId="page-explore">
      {datasets.data && !datasets.data.length ? (
        <EmptyState title="No datasets yet" testId="explore-empty">
          <p>Import a dataset or build the demo datasets on the Data page, then explore it here.</p>
          <GoTo page="data">Go to Data</GoTo>
        </EmptyState>
      ) : null}
      {pcaError ? <ErrorInline title="PCA" error={pcaError} onDismiss={() => setPcaError(null)} /> : null}
      {ds && !pca && !pcaBusy && !pcaError ? (
        <EmptyState title={`Explore “${ds.name}”`} testId="explore-start">
          <p>Compute a PCA of its images to see them as points; colours show k-means clusters or the true labels.</p>
          <button type="button" className="btn primary" onClick={() => void runPca()}>
            Compute PCA
          </button>
        </EmptyState>
      ) : null}
      {pcaBusy && !pca ? <div className="muted">Computing PCA of {limit} images… (progress in the jobs strip)</div> : null}
      {pca ? (
        <div className="section">
          <div className="section-head">
            <h3>PCA</h3>
            <span className="muted small">{pca.source.description} · {pca.method}</span>
          </div>
          <Scatter x={xs} y={ys} group={group} selected={selected} onHover={setHover} onSelect={setSelected} />
        </div>
      ) : null}
      {pca && has('analysis.hierarchical') ? (
        <div className="section">
          <div className="section-head">
            <h3>Hierarchical clustering</h3>
            <select value={linkage} onChange={(e) => setLinkage(e.currentTarget.value as Linkage)} style={{ width: 170 }} aria-label="Linkage" data-testid="linkage">
              {(['single', 'complete', 'average', 'weighted', 'ward'] as const).map((l) => (
                <option key={l} value={l}>
                  {l} linkage
                </option>
              ))}
            </select>
            <select value={linkage === 'ward' ? 'euclidean' : metric} disabled={linkage === 'ward'} onChange={(e) => setMetric(e.currentTarget.value as Metric)} style={{ width: 130 }} aria-label="Metric" data-testid="metric">
              {(['euclidean', 'manhattan', 'cosine'] as const).map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
            <select value={treeLimit} onChange={(e) => setTreeLimit(Number(e.currentTarget.value))} style={{ width: 130 }} aria-label="Images in the tree">
              {[50, 100, 200, 500, 1000].map((n) => (
                <option key={n} value={n}>
                  {n} images
                </option>
              ))}
            </select>
            <button type="button" className="btn small" disabled={treeBusy} onClick={() => void runTree()} data-testid="run-tree">
              {treeBusy ? 'Clustering…' : tree ? 'Recompute' : 'Build tree'}
            </button>
          </div>
          {treeError ? <ErrorInline title="Hierarchical clustering" error={treeError} onDismiss={() => setTreeError(null)} /> : null}
          {tree ? (
            <Dendrogram
              linkage={tree.linkage}
              n={tree.source.n}
              cut={cut}
              onCut={setCut}
              labels={tree.source.classLabels?.map((l) => tree.source.classes?.[l] ?? String(l))}
            />
          ) : (
            <div className="muted small">Build the merge tree of a subset ({treeLimit} images) to see how they group at every scale.</div>
          )}
          {tree && treeClusters ? <div className="muted small">{tree.method} linkage, {tree.metric} distance, {tree.source.description}.</div> : null}
        </div>
      ) : null}
    </PageLayout>
  );
}
