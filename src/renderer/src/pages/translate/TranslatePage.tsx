/**
 * Translate: drop an image (or pick a test image from the bundle's own dataset), choose a bundle,
 * translate at the image's own resolution (or the model's, or a long side), see input and output
 * at full resolution with zoom and pan (1:1 pixels), side by side or in a before/after compare,
 * save the output; drop a folder to translate it as a job (infer.translateFolder) into the
 * workspace, next to the originals with a suffix (desktop app), or into a chosen folder.
 */
import { useEffect, useState } from 'react';
import type { DatasetSummary, DatasetThumb } from '../../../../shared/channels/dataset';
import { toErrorData, type ErrorData } from '../../../../shared/errors';
import type { TranslateFolderResult, TranslateResult } from '../../../../shared/channels/infer';
import { BeforeAfter } from '../../components/BeforeAfter';
import { DropZone } from '../../components/DropZone';
import { EmptyState, GoTo, MissingChannels } from '../../components/EmptyState';
import { DirectionSeg, type Direction } from '../../components/DirectionSeg';
import { Icon } from '../../components/Icons';
import { Field, PageLayout, Panel } from '../../components/Layout';
import { ErrorInline } from '../../components/Toasts';
import { translates, twoWay, useBundles } from '../../lib/bundles';
import { IMAGE_EXT, commonRoot, type DroppedFiles } from '../../lib/files';
import { usePngUrl } from '../../lib/png';
import { saveOutput } from '../../lib/save';
import { useLoad } from '../../lib/useLoad';
import { useKeys } from '../../lib/keys';
import { available, call, studio } from '../../studio';
import { useJobs, waitForJob } from '../../store/jobs';
import { useStatus } from '../../store/status';
import { notify, reportError } from '../../store/ui';
import { useRestore } from '../../store/restore';
import { isPng, sha256Hex, translateSettingsOf, type TranslateSettings } from '../../lib/restore';
import { RestoreNote } from '../../components/RestoreNote';
import type { ProvenanceCheck } from '../../../../shared/channels/provenance';

interface InputImage {
  name: string;
  bytes: Uint8Array;
  width: number;
  height: number;
}

type Output = Pick<TranslateResult, 'png' | 'width' | 'height'> & Partial<TranslateResult>;

async function imageSize(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return { width: img.naturalWidth, height: img.naturalHeight };
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The dataset a bundle was trained on, else one with a matching name (demo-x ~ x), else the first. */
function datasetFor(list: DatasetSummary[], prefer: string | undefined): DatasetSummary | undefined {
  if (!prefer) return list[0];
  const bare = prefer.replace(/^demo-/, '');
  return list.find((d) => d.id === prefer) ?? list.find((d) => d.id.replace(/^demo-/, '') === bare || d.name.replace(/^demo-/, '') === bare) ?? list[0];
}

function TestImages({ onPick, prefer }: { onPick(i: InputImage): void; prefer?: string }) {
  const datasets = useLoad(available('dataset.list') ? () => call('dataset.list', {}) : null, []);
  const [id, setId] = useState('');
  // The offered test images follow the bundle: its training data, until the user picks another.
  useEffect(() => setId(''), [prefer]);
  const ds = (datasets.data ?? []).find((d) => d.id === id) ?? datasetFor(datasets.data ?? [], prefer);
  const page = useLoad(
    ds ? () => call('dataset.get', { id: ds.id, split: 'test', limit: 12, thumbSize: Math.max(ds.image.width, 8) }) : null,
    [ds?.id],
  );
  if (datasets.error) return <ErrorInline title="List datasets" error={datasets.error} />;
  if (!datasets.data?.length) return <div className="muted small">No datasets to pick test images from.</div>;
  return (
    <div className="col">
      <select value={ds?.id ?? ''} onChange={(e) => setId(e.currentTarget.value)} aria-label="Dataset for test images">
        {datasets.data.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
          </option>
        ))}
      </select>
      {page.error ? <ErrorInline title="Load test images" error={page.error} /> : null}
      <div className="thumbs" style={{ gridTemplateColumns: 'repeat(6, 1fr)' }} data-testid="test-images">
        {(page.data?.items ?? [])
          .filter((t) => t.role !== 'b')
          .map((t) => (
            <TestThumb key={`${t.index}-${t.role}`} t={t} onPick={onPick} />
          ))}
      </div>
    </div>
  );
}

function TestThumb({ t, onPick }: { t: DatasetThumb; onPick(i: InputImage): void }) {
  const url = usePngUrl(t.png);
  return (
    <button type="button" className="thumb" style={{ padding: 0, cursor: 'pointer' }} onClick={() => onPick({ name: `${t.name}.png`, bytes: t.png, width: t.width, height: t.height })} title={t.name}>
      {url ? <img src={url} alt={t.name} /> : null}
    </button>
  );
}

export function TranslatePage() {
  const ready = available('infer.translate') && available('bundle.list');
  const bundles = useBundles(translates);
  const [bundleId, setBundleId] = useState('');
  const [input, setInput] = useState<InputImage | null>(null);
  const [output, setOutput] = useState<Output | null>(null);
  const [error, setError] = useState<ErrorData | null>(null);
  const [busy, setBusy] = useState(false);
  const [view, setView] = useState<'side' | 'compare'>('side');
  const [direction, setDirection] = useState<Direction>('AtoB');
  const [fit, setFit] = useState<'fill' | 'cover' | 'contain'>('fill');
  const [runtime, setRuntime] = useState<'onnx' | 'tfjs'>('onnx');
  const [scaleMode, setScaleMode] = useState<'native' | 'model' | 'long'>('native');
  const [longSide, setLongSide] = useState(512);
  const [tile, setTile] = useState<'auto' | number>('auto');
  const [jobId, setJobId] = useState<string | null>(null);
  const [folderBusy, setFolderBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [restoredInput, setRestoredInput] = useState<TranslateSettings['input'] | null>(null);
  const [folderResult, setFolderResult] = useState<{ outDir: string; count: number; total: number; failed: TranslateFolderResult['failed'] } | null>(null);
  const electron = studio().transport === 'electron';
  const [dest, setDest] = useState<'workspace' | 'beside' | 'folder'>('workspace');
  const [destFolder, setDestFolder] = useState('');
  const [suffix, setSuffix] = useState('');
  const bundle = bundles.list.find((b) => b.id === bundleId) ?? bundles.list[0] ?? null;
  const inUrl = usePngUrl(input?.bytes, 'image/*');
  const outUrl = usePngUrl(output?.png);
  const job = useJobs((st) => (jobId ? st.jobs[jobId] : undefined));
  const scale = scaleMode === 'long' ? longSide : scaleMode;
  const settings = () => ({ fit, runtime, scale, ...(tile !== 'auto' ? { tile } : {}), ...(twoWay(bundle) ? { direction } : {}) });

  const run = async (img: InputImage, b = bundle) => {
    if (!b) return;
    setBusy(true);
    setError(null);
    try {
      const req = { model: b.id, image: img.bytes, inputName: img.name.slice(0, 255) || 'image', ...settings() };
      // As a job where the engine offers it: big images show tile progress and can be cancelled.
      let out: Output;
      if (available('infer.translateJob')) {
        const { jobId: id } = await call('infer.translateJob', req);
        setJobId(id);
        out = await waitForJob<Output>(id);
      } else out = await call('infer.translate', req);
      setOutput(out);
    } catch (e) {
      const err = toErrorData(e);
      if (err.code !== 'CANCELLED') setError(err);
      setOutput(null);
    } finally {
      setBusy(false);
      setJobId(null);
    }
  };

  const cancel = () => {
    if (jobId) void call('job.cancel', { jobId }).catch((e: unknown) => reportError('Cancel', e));
  };

  // Re-run when the bundle or a setting changes.
  useEffect(() => {
    if (input && bundle) void run(input, bundle);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bundle?.id, direction, fit, runtime, scale, tile]);

  const showImage = async (img: InputImage) => {
    setInput(img);
    setOutput(null);
    await run(img);
  };

  /** Apply a translation's provenance: model and settings; the dropped output is shown until its input comes back. */
  const apply = (check: ProvenanceCheck, png?: Uint8Array): boolean => {
    const r = translateSettingsOf(check, bundles.list, translates);
    if (!r.ok) {
      setNote({ ok: false, text: r.message });
      return false;
    }
    const st = r.settings;
    setBundleId(r.bundleId);
    setRuntime(st.runtime);
    if (st.direction) setDirection(st.direction);
    setScaleMode(st.scaleMode);
    if (st.longSide) setLongSide(st.longSide);
    setTile(st.tile ?? 'auto');
    if (st.fit) setFit(st.fit);
    setRestoredInput(st.input ?? null);
    setInput(null);
    if (png && check.provenance) setOutput({ png, width: check.provenance.width, height: check.provenance.height });
    setNote({ ok: true, text: r.note });
    return true;
  };

  // "Reuse settings" from the Gallery: taken once the bundle list is here.
  const pending = useRestore((st) => st.pending);
  useEffect(() => {
    if (pending?.page !== 'translate' || !bundles.data) return;
    const p = useRestore.getState().take('translate');
    if (p) apply(p.check);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pending, bundles.data]);

  const onDrop = async (d: DroppedFiles) => {
    const images = d.files.filter((f, i) => IMAGE_EXT.test(d.relPaths[i] ?? f.name) || f.type.startsWith('image/'));
    if (d.folders.length || images.length > 1) return translateFolder(d);
    const f = images[0];
    if (!f) throw new Error('No image among the dropped files.');
    const bytes = new Uint8Array(await f.arrayBuffer());
    // A translation Atelier made restores its settings; any other image (or one whose chunk is
    // damaged or forged: said in the note) is an input to translate.
    if (isPng(bytes) && available('provenance.read')) {
      try {
        const check = await call('provenance.read', { image: bytes });
        if (check.provenance?.op === 'translate' && apply(check, bytes)) return;
        if (check.provenance?.op === 'translate') return;
      } catch (e) {
        setNote({ ok: false, text: `Provenance not read: ${toErrorData(e).message} The image is translated as a new input.` });
      }
    }
    const size = await imageSize(bytes).catch(() => ({ width: 0, height: 0 }));
    if (restoredInput) {
      const sha = await sha256Hex(bytes);
      if (sha) setNote({ ok: true, text: sha === restoredInput.sha256 ? `${f.name} is the input the restored image was made from: translated again with its settings.` : `${f.name} is not the restored image's input (${restoredInput.name}); translated with the restored settings.` });
      setRestoredInput(null);
    }
    await showImage({ name: f.name, bytes, ...size });
  };

  const translateFolder = async (d: DroppedFiles) => {
    if (!bundle) return;
    if (!available('infer.translateFolder')) {
      reportError('Translate folder', new Error('Folder translation is not available in this build (no infer.translateFolder channel).'));
      return;
    }
    setFolderBusy(true);
    setFolderResult(null);
    try {
      const paths = await studio().pathsForFiles(d.files, d.relPaths);
      let root = commonRoot(paths, d.relPaths);
      if (d.folders.length === 1) root = `${root}/${d.folders[0]}`.replace(/\/\/+/g, '/');
      if (!root) return;
      const modelTag = bundle.id.replace(/[^A-Za-z0-9_-]+/g, '-');
      let output: string;
      let sfx: string | undefined;
      if (dest === 'beside') {
        // Next to the originals (desktop app: the dropped folder itself), names + suffix.
        output = root;
        sfx = suffix || `-${modelTag}`;
      } else if (dest === 'folder' && destFolder.trim()) {
        output = destFolder.trim();
        sfx = suffix || undefined;
      } else {
        // <workspace>/translations/<folder>-<model> (in the browser, uploads live in a temp folder).
        const ws = useStatus.getState().doctor?.workspace;
        const folderName = (d.folders[0] ?? root.split('/').filter(Boolean).pop() ?? 'images').replace(/[^A-Za-z0-9_-]+/g, '-');
        const tag = `${folderName}-${modelTag}-${Date.now().toString(36)}`;
        output = ws ? `${ws.replace(/\/+$/, '')}/translations/${tag}` : `${root.replace(/\/+$/, '')}-${tag}`;
        sfx = suffix || undefined;
      }
      const { jobId } = await call('infer.translateFolder', { model: bundle.id, input: root, output, ...settings(), ...(sfx ? { suffix: sfx } : {}) });
      const res = await waitForJob<TranslateFolderResult>(jobId);
      setFolderResult({ outDir: res.outDir, count: res.written.length, failed: res.failed, total: res.total });
      notify('Folder translated', `${res.written.length} of ${res.total} images written to ${res.outDir}${res.failed.length ? `; ${res.failed.length} failed` : ''}.`, 'success');
    } catch (e) {
      reportError('Translate folder', e);
    } finally {
      setFolderBusy(false);
    }
  };

  // Both images are shown at the input's size (the engine's output has it).
  const dispW = input?.width || output?.width || 256;
  const dispH = input?.height || output?.height || 256;

  const save = () => output && saveOutput(output.png, `${(input?.name ?? 'image').replace(/\.[^.]+$/, '')}-${bundle?.name ?? 'out'}.png`);
  useKeys({ c: () => setView((v) => (v === 'side' ? 'compare' : 'side')), s: save });

  if (!ready) {
    return (
      <PageLayout title="Translate" testId="page-translate">
        <MissingChannels what="Translation" channels={['bundle.list', 'infer.translate']} />
      </PageLayout>
    );
  }

  const side = (
    <>
      <Panel title="Model">
        {bundles.error ? <ErrorInline title="List models" error={bundles.error} /> : null}
        {bundles.data && !bundles.list.length ? (
          <div className="notice warn col">
            No image-to-image models yet. Train pix2pix or CycleGAN on the Train page.
            <GoTo page="train">Go to Train</GoTo>
          </div>
        ) : null}
        <Field label="Bundle">
          <select value={bundle?.id ?? ''} onChange={(e) => setBundleId(e.currentTarget.value)} data-testid="translate-bundle" disabled={!bundles.list.length}>
            {bundles.list.map((b) => (
              <option key={b.id} value={b.id}>
                {b.name} ({b.kind}, {b.imageSize}px)
              </option>
            ))}
          </select>
        </Field>
        {twoWay(bundle) ? (
          <Field group label="Direction" hint="CycleGAN learns both ways.">
            <DirectionSeg value={direction} onChange={setDirection} testId="direction" />
          </Field>
        ) : null}
        <Field label="Scale" hint={bundle ? `The network runs at this size; the output always has the input's size. Trained at ${bundle.imageSize}px.` : undefined}>
          <select value={scaleMode} onChange={(e) => setScaleMode(e.currentTarget.value as typeof scaleMode)} data-testid="translate-scale">
            <option value="native">native (the image's own size)</option>
            <option value="model">model ({bundle?.imageSize ?? '?'}px, scaled back)</option>
            <option value="long">long side…</option>
          </select>
        </Field>
        {scaleMode === 'long' ? (
          <Field label="Long side (px)">
            <input type="number" min={8} max={16384} step={32} value={longSide} onChange={(e) => setLongSide(Math.max(8, Math.min(16384, Number(e.currentTarget.value) || 512)))} data-testid="translate-long-side" />
          </Field>
        ) : null}
        {scaleMode === 'model' ? (
          <Field label="Fit" hint="How a non-square input meets the model's square size.">
            <select value={fit} onChange={(e) => setFit(e.currentTarget.value as typeof fit)}>
              <option value="fill">fill (stretch)</option>
              <option value="cover">cover (centre crop)</option>
              <option value="contain">contain (letterbox)</option>
            </select>
          </Field>
        ) : (
          <Field label="Tiles" hint="Large images run in overlapping, blended tiles; auto tiles only above the memory budget.">
            <select value={String(tile)} onChange={(e) => setTile(e.currentTarget.value === 'auto' ? 'auto' : Number(e.currentTarget.value))} data-testid="translate-tile">
              <option value="auto">auto (memory budget)</option>
              {[256, 512, 1024, 2048].map((t) => (
                <option key={t} value={t}>
                  {t}px
                </option>
              ))}
            </select>
          </Field>
        )}
        <Field group label="Runtime" hint="ONNX Runtime (the exported model) or tfjs (the trained weights).">
          <div className="seg">
            {(['onnx', 'tfjs'] as const).map((r) => (
              <button key={r} type="button" className={runtime === r ? 'on' : ''} onClick={() => setRuntime(r)}>
                {r}
              </button>
            ))}
          </div>
        </Field>
      </Panel>
      <Panel title="Input">
        <DropZone testId="translate-drop" onFiles={onDrop} label="Browse image">
          <Icon name="upload" size={20} />
          <div>Drop an image to translate it, or a folder to translate every image in it.</div>
        </DropZone>
        <Field label="Folder output" hint="Where a dropped folder's translations go (PNG, same names).">
          <select value={dest} onChange={(e) => setDest(e.currentTarget.value as typeof dest)} data-testid="translate-dest">
            <option value="workspace">workspace translations folder</option>
            {electron ? <option value="beside">next to the originals</option> : null}
            <option value="folder">a folder…</option>
          </select>
        </Field>
        {dest === 'folder' ? (
          <Field label="Output folder">
            <input type="text" placeholder="/path/to/folder" value={destFolder} onChange={(e) => setDestFolder(e.currentTarget.value)} data-testid="translate-dest-folder" />
          </Field>
        ) : null}
        <Field label="Name suffix" hint={dest === 'beside' ? `Default -${bundle?.id ?? 'model'} (needed next to the originals).` : 'Optional, appended to each name.'}>
          <input type="text" value={suffix} placeholder={dest === 'beside' ? `-${bundle?.id ?? 'model'}` : ''} onChange={(e) => setSuffix(e.currentTarget.value.replace(/[^A-Za-z0-9._-]/g, ''))} data-testid="translate-suffix" />
        </Field>
        {folderBusy ? <div className="muted small">Translating the folder at {scaleMode === 'long' ? `long side ${longSide}px` : `${scaleMode} size`}… (progress in the jobs strip)</div> : null}
        {folderResult ? (
          <div className="notice ok" data-testid="folder-result">
            Translated {folderResult.count} of {folderResult.total} images into <code>{folderResult.outDir}</code>.
            {folderResult.failed.length ? ` ${folderResult.failed.length} failed: ${folderResult.failed.slice(0, 3).map((f) => `${f.file} (${f.error})`).join('; ')}` : ''}
            {folderResult.outDir && available('app.reveal') && studio().transport === 'electron' ? (
              <button type="button" className="btn ghost small" onClick={() => void call('app.reveal', { path: folderResult.outDir }).catch((e: unknown) => reportError('Reveal folder', e))}>
                Reveal
              </button>
            ) : null}
          </div>
        ) : null}
      </Panel>
      <Panel title="Test images">
        <TestImages onPick={(i) => void showImage(i)} prefer={bundle?.datasetId} />
      </Panel>
    </>
  );

  const tools = (
    <>
      <div className="seg">
        <button type="button" className={view === 'side' ? 'on' : ''} onClick={() => setView('side')}>
          Side by side
        </button>
        <button type="button" className={view === 'compare' ? 'on' : ''} onClick={() => setView('compare')} data-testid="view-compare">
          Compare
        </button>
      </div>
      <button type="button" className="btn" disabled={!output} onClick={save} title="Save output (S)" data-testid="translate-save">
        <Icon name="download" size={14} /> Save output
      </button>
    </>
  );

  return (
    <PageLayout title="Translate" tools={tools} side={side} testId="page-translate">
      <div style={{ height: '100%' }}>
        <DropZone testId="translate-canvas-drop" className="page-drop" onFiles={onDrop}>
          <RestoreNote note={note} onDismiss={() => setNote(null)} />
          {error ? <ErrorInline title="Translate" error={error} onDismiss={() => setError(null)} /> : null}
          {!input && output && outUrl ? (
            <div style={{ height: '100%', display: 'grid', placeItems: 'center' }}>
              <img src={outUrl} alt="Restored output" className="pixelated" style={{ maxWidth: '100%', maxHeight: '100%' }} data-testid="translate-restored" />
            </div>
          ) : !input ? (
            <EmptyState title="Drop an image to translate" testId="translate-empty">
              <p>Or pick a test image on the right. A folder dropped here is translated image by image as a job.</p>
            </EmptyState>
          ) : inUrl ? (
            <div className="col" style={{ height: '100%', gap: 8 }}>
              {output?.warning ? (
                <div className="notice warn small" data-testid="translate-warning">
                  {output.warning}
                </div>
              ) : null}
              {output?.notes?.length ? (
                <div className="muted small" data-testid="translate-notes">
                  {output.notes.join(' ')}
                </div>
              ) : null}
              <div style={{ flex: 1, minHeight: 0 }}>
                <BeforeAfter
                  before={inUrl}
                  after={outUrl}
                  width={dispW}
                  height={dispH}
                  mode={view}
                  placeholder={
                    busy ? (
                      <div className="col" style={{ alignItems: 'center', gap: 6 }}>
                        <span>Translating…{job && job.total > 1 ? ` tile ${job.step}/${job.total}` : ''}</span>
                        {jobId ? (
                          <button type="button" className="btn ghost small" onClick={cancel} data-testid="translate-cancel">
                            Cancel
                          </button>
                        ) : null}
                      </div>
                    ) : (
                      '—'
                    )
                  }
                  afterLabel={bundle ? `Output — ${bundle.name}` : 'Output'}
                />
              </div>
              <div className="muted small" data-testid="translate-caption">
                {input.name} {input.width ? `(${input.width}×${input.height})` : ''}
                {output?.workWidth ? ` · ran at ${output.workWidth}×${output.workHeight}` : ''}
                {output?.tiles && output.tiles > 1 ? ` in ${output.tiles} tiles of ${output.tileSize}px` : ''}
                {output?.ms ? ` · ${Math.round(output.ms)} ms${output.runtime ? ` (${output.runtime})` : ''}` : ''}
              </div>
            </div>
          ) : null}
        </DropZone>
      </div>
    </PageLayout>
  );
}
