/**
 * Explore: choose what to analyse (dataset images, a generator's latents or outputs, an
 * autoencoder's features, a dropped CSV/JSON/NPY matrix); PCA scatter on canvas coloured by
 * k-means cluster, true label or the dendrogram's cut; hover/click a point to see its image; a k
 * slider re-runs k-means; a dendrogram with linkage and metric pickers and a draggable cut line;
 * explained variance bars; PCA-k against an autoencoder's reconstructions. (analysis.* channels;
 * big requests run as jobs and show in the jobs strip.)
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { AnalysisReply, HierarchicalResult, KMeansResultDto, PcaResult } from '../../../../shared/channels/analysis';
import type { RequestOf, ResponseOf } from '../../../../shared/contract';
import type { DatasetSummary } from '../../../../shared/channels/dataset';
import { StudioError, toErrorData, type ErrorData } from '../../../../shared/errors';
import { DropZone } from '../../components/DropZone';
import { hasFeatures, useBundles } from '../../lib/bundles';
import type { DroppedFiles } from '../../lib/files';
import { available, call, studio } from '../../studio';
import { ReconstructPanel } from './ReconstructPanel';
import { MATRIX_EXT, SOURCE_KINDS, type SourceKind, type SourceSel, clustersOnScatter, fileName, toRequestSource } from './sources';
import { VarianceBars } from '../../components/BarChart';
import { Dendrogram, cutTree } from '../../components/Dendrogram';
import { EmptyState, GoTo, MissingChannels } from '../../components/EmptyState';
import { Field, PageLayout, Panel } from '../../components/Layout';
import { CLUSTER_COLOURS, Scatter } from '../../components/Scatter';
import { LabeledSlider } from '../../components/Slider';
import { ErrorInline } from '../../components/Toasts';
import { usePngUrl } from '../../lib/png';
import { useLoad } from '../../lib/useLoad';
import { useJobs, waitForJob } from '../../store/jobs';

/** Runs an analysis; a big one is a job: onJob gets its id while it runs (null when it ends), for inline progress. */
type AnalysisChannel = 'analysis.pca' | 'analysis.kmeans' | 'analysis.hierarchical';
type ResultOf<C extends AnalysisChannel> = ResponseOf<C> extends AnalysisReply<infer T> ? T : never;

async function analysis<C extends AnalysisChannel>(channel: C, req: RequestOf<C>, onJob?: (jobId: string | null) => void): Promise<ResultOf<C>> {
  const r = (await call(channel, req)) as AnalysisReply<ResultOf<C>>;
  if (r.result !== undefined) return r.result;
  onJob?.(r.jobId!);
  try {
    return await waitForJob<ResultOf<C>>(r.jobId!);
  } finally {
    onJob?.(null);
  }
}

/** The latest progress of an analysis job (its message and a bar), where the result will appear. */
function JobProgress({ jobId, what }: { jobId: string | null; what: string }) {
  const job = useJobs((s) => (jobId ? s.jobs[jobId] : undefined));
  if (!jobId) return null;
  const frac = job && job.total > 0 ? Math.min(1, job.step / job.total) : 0;
  return (
    <div className="muted small" data-testid="explore-progress">
      <progress value={frac} max={1} aria-label={`${what} progress`} /> {what}: {job?.message ?? 'starting'} ({Math.round(frac * 100)}%)
    </div>
  );
}

type ColourBy = 'cluster' | 'label' | 'tree' | 'none';
type Linkage = 'single' | 'complete' | 'average' | 'weighted' | 'ward';
type Metric = 'euclidean' | 'manhattan' | 'cosine';


/**
 * A point's image: `load` fetches its PNG, remembered per `cacheKey` (which names everything the
 * image depends on) for as long as the figure is shown.
 */
function PointFigure({ cacheKey, load, caption }: { cacheKey: string; load: () => Promise<Uint8Array | null>; caption: string }) {
  const cache = useRef(new Map<string, Uint8Array>());
  const r = useLoad(() => {
    const hit = cache.current.get(cacheKey);
    if (hit) return Promise.resolve(hit);
    return load().then((png) => {
      if (png) cache.current.set(cacheKey, png);
      return png;
    });
  }, [cacheKey]);
  const url = usePngUrl(r.error ? null : r.data);
  return (
    <div className="col" style={{ alignItems: 'center' }} data-testid="point-image">
      {url ? <img src={url} alt={caption} width={128} height={128} className="pixelated" style={{ borderRadius: 6, background: '#0e0f12' }} /> : <div className="thumb" style={{ width: 128 }} />}
      <span className="small muted">{caption}</span>
      {r.error ? <span className="small" style={{ color: 'var(--err)' }}>{r.error.message}</span> : null}
    </div>
  );
}

/** The image a generator makes from a point's z (latent.render). */
function ModelPointImage({ model, seed, label, caption }: { model: string; seed: number; label?: number; caption: string }) {
  const load = () => call('latent.render', { model, z: { seed }, ...(label !== undefined ? { label } : {}) }).then((r) => r.png);
  return <PointFigure cacheKey={`${model}:${seed}:${label ?? ''}`} load={load} caption={caption} />;
}

function PointImage({ ds, index, role, split = 'train', caption }: { ds: DatasetSummary; index: number; role?: string; split?: 'train' | 'test'; caption: string }) {
  const load = () =>
    call('dataset.get', { id: ds.id, split, offset: index, limit: 2, thumbSize: 128 }).then(
      (r) => (r.items.find((i) => i.index === index && (!role || i.role === role)) ?? r.items[0])?.png ?? null,
    );
  return <PointFigure cacheKey={`${ds.id}:${split}:${index}:${role ?? ''}`} load={load} caption={caption} />;
}

export function ExplorePage() {
  const ready = available('analysis.pca') && available('dataset.list');
  const datasets = useLoad(available('dataset.list') ? () => call('dataset.list', {}) : null, []);
  const bundles = useBundles();
  // Latent and generated sources: models that sample a latent space from noise (not encoders).
  const generators = bundles.list.filter((b) => !!b.capabilities.generate && !b.capabilities.encode);
  const autoencoders = bundles.list.filter((b) => !!b.capabilities.encode);
  // Features: an autoencoder's encoder, or a translator's bottleneck.
  const encoders = bundles.list.filter(hasFeatures);
  const [kind, setKind] = useState<SourceKind>('dataset');
  const [dsId, setDsId] = useState('');
  const ds = (datasets.data ?? []).find((d) => d.id === dsId) ?? datasets.data?.[0] ?? null;
  const [role, setRole] = useState<'a' | 'b'>('a');
  const [limit, setLimit] = useState(1000);
  const [genId, setGenId] = useState('');
  const [aeId, setAeId] = useState('');
  const [seed, setSeed] = useState(0);
  const [matrixPath, setMatrixPath] = useState('');
  const gen = generators.find((b) => b.id === genId) ?? generators[0] ?? null;
  const ae = encoders.find((b) => b.id === aeId) ?? encoders[0] ?? null;
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
  const [pcaJob, setPcaJob] = useState<string | null>(null);
  const [kmJob, setKmJob] = useState<string | null>(null);

  const hasRoles = ds?.kind === 'paired' || ds?.kind === 'unpaired';
  const usesDataset = kind === 'dataset' || kind === 'features';
  const sel = useMemo<SourceSel>(
    () => ({
      kind,
      ...(ds ? { datasetId: ds.id } : {}),
      split: 'train',
      ...(hasRoles ? { role } : {}),
      limit,
      ...(kind === 'features' && ae ? { model: ae.id } : (kind === 'latent' || kind === 'generated') && gen ? { model: gen.id } : {}),
      seed,
      ...(matrixPath ? { path: matrixPath } : {}),
    }),
    [kind, ds, hasRoles, role, limit, ae, gen, seed, matrixPath],
  );
  const source = useMemo(() => (toRequestSource(sel) ? sel : null), [sel]);
  const sourceKey = JSON.stringify(toRequestSource(sel));
  // `source` is set only when complete, so this never throws in practice.
  const sourceReq = (s: SourceSel, lim = s.limit) => {
    const r = toRequestSource(s, lim);
    if (!r) throw new StudioError('BAD_INPUT', 'Pick what to analyse first.');
    return r;
  };
  const what = kind === 'latent' ? 'latent vectors' : kind === 'matrix' ? 'rows' : 'images';

  const onMatrixFiles = async (d: DroppedFiles) => {
    const i = d.files.findIndex((f) => MATRIX_EXT.test(f.name));
    if (i < 0) {
      throw new StudioError('BAD_INPUT', `${d.files.map((f) => f.name).join(', ')}: not a matrix file.`, { hint: 'Drop a .csv, .tsv, .json or .npy file of numbers (one row per point).' });
    }
    const paths = await studio().pathsForFiles([d.files[i]!], [d.relPaths[i] ?? d.files[i]!.name]);
    if (!paths[0]) throw new StudioError('BAD_INPUT', `Could not read ${d.files[i]!.name}.`);
    setMatrixPath(paths[0]);
  };

  const runKmeans = async (kk: number) => {
    if (!source || !available('analysis.kmeans')) return;
    const my = ++kmSeq.current;
    setKmError(null);
    try {
      const r = await analysis('analysis.kmeans', { source: sourceReq(source), k: kk }, (id) => {
        if (my === kmSeq.current) setKmJob(id);
      });
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
      const r = await analysis('analysis.pca', { source: sourceReq(source), nComponents: 10, returnComponents: 0, projectionDims: 2 }, setPcaJob);
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
    if (!source || !available('analysis.hierarchical')) return;
    setTreeBusy(true);
    setTreeError(null);
    try {
      const r = await analysis('analysis.hierarchical', { source: sourceReq(source, Math.min(treeLimit, source.limit)), linkage, metric: linkage === 'ward' ? 'euclidean' : metric });
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
    // The tree is gone with its source: its colours too.
    setColourBy((c) => (c === 'tree' ? 'cluster' : c));
  }, [sourceKey]);

  const treeClusters = useMemo(() => (tree ? cutTree(tree.linkage, tree.source.n, cut) : null), [tree, cut]);
  const xs = useMemo(() => pca?.projection.map((p) => p[0]!) ?? [], [pca]);
  const ys = useMemo(() => pca?.projection.map((p) => p[1] ?? 0) ?? [], [pca]);
  const group = useMemo(() => {
    if (!pca) return undefined;
    if (colourBy === 'label') return pca.source.classLabels;
    if (colourBy === 'cluster' && km && km.labels.length === xs.length) return km.labels;
    if (colourBy === 'tree' && tree && treeClusters) return clustersOnScatter(pca.source, tree.source, treeClusters);
    return undefined;
  }, [pca, km, colourBy, xs.length, tree, treeClusters]);

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
    const c = colourBy === 'tree' ? group?.[i] : km?.labels[i];
    const id = pca?.source.indices?.[i] ?? (pca?.source.seeds ? `seed ${pca.source.seeds[i]}` : i);
    return `#${id}${cls ? ` · ${cls}` : ''}${c !== undefined && c >= 0 ? ` · cluster ${c + 1}` : ''}`;
  };

  const pointView = (i: number) => {
    const src = pca!.source;
    const pds = (datasets.data ?? []).find((d) => d.id === src.datasetId) ?? ds;
    if (src.indices && pds) {
      return <PointImage ds={pds} index={src.indices[i]!} role={hasRoles ? role : undefined} split={src.split ?? 'train'} caption={describe(i)} />;
    }
    if (src.model && src.seeds) {
      return <ModelPointImage model={src.model} seed={src.seeds[i]!} {...(src.classLabels ? { label: src.classLabels[i] } : {})} caption={describe(i)} />;
    }
    return (
      <div className="small muted" data-testid="point-image">
        row {i} · {describe(i)}
      </div>
    );
  };
  const treeLegend = colourBy === 'tree' && tree && treeClusters && group ? { clusters: new Set(treeClusters).size, outside: Array.from(group).filter((g) => g < 0).length } : null;

  const side = (
    <>
      <Panel title="Source">
        <Field label="Analyse" hint={SOURCE_KINDS.find((k) => k.kind === kind)?.hint}>
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value as SourceKind)} data-testid="explore-source">
            {SOURCE_KINDS.map((k) => (
              <option key={k.kind} value={k.kind} disabled={(k.kind === 'latent' || k.kind === 'generated') && !generators.length ? true : k.kind === 'features' && !encoders.length}>
                {k.label}
              </option>
            ))}
          </select>
        </Field>
        {bundles.error && kind !== 'dataset' && kind !== 'matrix' ? <ErrorInline title="List models" error={bundles.error} /> : null}
        {kind === 'latent' || kind === 'generated' ? (
          <Field label="Generator">
            <select value={gen?.id ?? ''} onChange={(e) => setGenId(e.currentTarget.value)} data-testid="explore-generator" disabled={!generators.length}>
              {generators.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name} ({b.kind}, z {b.latentSize ?? '?'})
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        {kind === 'features' ? (
          <Field label="Encoder" hint="An autoencoder's z, or a pix2pix/cyclegan bottleneck (needs its ONNX export).">
            <select value={ae?.id ?? ''} onChange={(e) => setAeId(e.currentTarget.value)} data-testid="explore-autoencoder" disabled={!encoders.length}>
              {encoders.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name} ({b.capabilities.encode ? `z ${b.latentSize ?? '?'}` : `${b.kind} bottleneck`})
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        {usesDataset ? (
          <>
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
          </>
        ) : null}
        {kind === 'matrix' ? (
          <DropZone testId="matrix-drop" accept=".csv,.tsv,.txt,.json,.npy" multiple={false} folders={false} label="Pick a file" onFiles={onMatrixFiles}>
            <div className="small" data-testid="matrix-file">
              {matrixPath ? fileName(matrixPath) : 'Drop a .csv, .json or .npy matrix (one row per point).'}
            </div>
          </DropZone>
        ) : (
          <Field label={kind === 'latent' ? 'Latent vectors' : usesDataset ? 'Images analysed' : 'Images generated'} hint={usesDataset ? 'A seeded random subset when the dataset holds more.' : 'Vector i comes from seed + i.'}>
            <select value={limit} onChange={(e) => setLimit(Number(e.currentTarget.value))} data-testid="explore-limit">
              {[250, 500, 1000, 2000, 5000].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </Field>
        )}
        {kind === 'latent' || kind === 'generated' ? (
          <Field label="Seed">
            <input type="number" min={0} value={seed} onChange={(e) => setSeed(Math.max(0, Math.floor(Number(e.currentTarget.value) || 0)))} data-testid="explore-seed" />
          </Field>
        ) : null}
        <button type="button" className="btn primary" disabled={!source || pcaBusy} onClick={() => void runPca()} data-testid="run-pca">
          {pcaBusy ? 'Computing PCA…' : pca ? 'Recompute' : 'Compute PCA'}
        </button>
        <JobProgress jobId={pcaJob} what="PCA" />
      </Panel>
      <Panel title="Colour">
        <div className="seg">
          <button type="button" className={colourBy === 'cluster' ? 'on' : ''} onClick={() => setColourBy('cluster')}>
            k-means
          </button>
          <button type="button" className={colourBy === 'label' ? 'on' : ''} disabled={!pca?.source.classLabels} onClick={() => setColourBy('label')}>
            label
          </button>
          <button type="button" className={colourBy === 'tree' ? 'on' : ''} disabled={!tree} onClick={() => setColourBy('tree')} title={tree ? 'Clusters below the dendrogram cut line' : 'Build the tree first'} data-testid="colour-tree">
            dendrogram cut
          </button>
          <button type="button" className={colourBy === 'none' ? 'on' : ''} onClick={() => setColourBy('none')}>
            none
          </button>
        </div>
        <LabeledSlider label="k (clusters)" value={k} min={2} max={16} step={1} onChange={setK} onCommit={(v) => void runKmeans(v)} disabled={!pca || !available('analysis.kmeans')} testId="k-slider" />
        <JobProgress jobId={kmJob} what="k-means" />
        {km ? (
          <div className="muted small">
            inertia {km.inertia.toPrecision(4)} · {km.iterations} iterations{km.converged ? '' : ' (not converged)'} · best of {km.nInit} initialisation{km.nInit === 1 ? '' : 's'}
          </div>
        ) : null}
        {kmError ? <ErrorInline title="k-means" error={kmError} /> : null}
        {treeLegend ? (
          <div className="muted small" data-testid="tree-legend">
            {treeLegend.clusters} clusters below the cut{treeLegend.outside ? ` · ${treeLegend.outside} points outside the tree (grey)` : ''}
          </div>
        ) : null}
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
      {pca && shown !== null ? <Panel title={selected !== null ? 'Selected point' : 'Point'}>{pointView(shown)}</Panel> : null}
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
      {usesDataset && datasets.data && !datasets.data.length ? (
        <EmptyState title="No datasets yet" testId="explore-empty">
          <p>Import a dataset or build the demo datasets on the Data page, then explore it here.</p>
          <GoTo page="data">Go to Data</GoTo>
        </EmptyState>
      ) : null}
      {pcaError ? <ErrorInline title="PCA" error={pcaError} onDismiss={() => setPcaError(null)} /> : null}
      {(kind === 'latent' || kind === 'generated') && bundles.data && !generators.length ? (
        <EmptyState title="No generator yet" testId="explore-empty-models">
          <p>Train a gan or cgan on the Train page (or add a bundle on the Models page) to explore its latent space and outputs.</p>
          <GoTo page="train">Go to Train</GoTo>
        </EmptyState>
      ) : null}
      {kind === 'features' && bundles.data && !encoders.length ? (
        <EmptyState title="No autoencoder or translator yet" testId="explore-empty-models">
          <p>Train an autoencoder (or a pix2pix/cyclegan translator) on the Train page to explore its bottleneck features.</p>
          <GoTo page="train">Go to Train</GoTo>
        </EmptyState>
      ) : null}
      {kind === 'matrix' && !matrixPath && !pca ? (
        <EmptyState title="Bring a matrix" testId="explore-matrix-empty">
          <p>Drop a CSV, JSON or NPY file of numbers on the Source panel (or pick one): each row is a point.</p>
        </EmptyState>
      ) : null}
      {source && !pca && !pcaBusy && !pcaError ? (
        <EmptyState title={`Explore ${kind === 'dataset' && ds ? `“${ds.name}”` : (SOURCE_KINDS.find((k) => k.kind === kind)?.label.toLowerCase() ?? '')}`} testId="explore-start">
          <p>Compute a PCA of the {what} to see them as points; colours show k-means clusters, the true labels or the dendrogram's clusters.</p>
          <button type="button" className="btn primary" onClick={() => void runPca()}>
            Compute PCA
          </button>
        </EmptyState>
      ) : null}
      {pcaBusy && !pca ? (
        <div className="muted">
          Computing PCA of {kind === 'matrix' ? fileName(matrixPath) : `${limit} ${what}`}… (progress in the jobs strip)
        </div>
      ) : null}
      {pca ? (
        <div className="section">
          <div className="section-head">
            <h3>PCA</h3>
            <span className="muted small">{pca.source.description} · {pca.method}</span>
          </div>
          <Scatter x={xs} y={ys} group={group} selected={selected} onHover={setHover} onSelect={setSelected} />
        </div>
      ) : null}
      {pca && available('analysis.hierarchical') ? (
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
            {kind !== 'matrix' ? (
              <select value={treeLimit} onChange={(e) => setTreeLimit(Number(e.currentTarget.value))} style={{ width: 130 }} aria-label="Points in the tree">
                {[50, 100, 200, 500, 1000].map((n) => (
                  <option key={n} value={n}>
                    {n} {what}
                  </option>
                ))}
              </select>
            ) : null}
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
            <div className="muted small">
              Build the merge tree of {kind === 'matrix' ? 'the rows' : `a subset (${Math.min(treeLimit, limit)} ${what})`} to see how they group at every scale; colour the scatter by its cut.
            </div>
          )}
          {tree && treeClusters ? <div className="muted small">{tree.method} linkage, {tree.metric} distance, {tree.source.description}.</div> : null}
        </div>
      ) : null}
      {available('analysis.reconstruct') && autoencoders.length ? (
        <div className="section">
          <div className="section-head">
            <h3>PCA vs autoencoder</h3>
          </div>
          <ReconstructPanel autoencoders={autoencoders} datasets={datasets.data ?? []} {...(ds ? { datasetId: ds.id } : {})} {...(kind === 'features' && ae?.capabilities.encode ? { model: ae.id } : {})} />
        </div>
      ) : null}
    </PageLayout>
  );
}
