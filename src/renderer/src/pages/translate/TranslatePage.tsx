/**
 * Translate: drop an image (or pick a test image from a dataset), choose a bundle, see input
 * and output side by side and in a before/after compare, save the output; drop a folder to
 * translate it as a job (infer.translateFolder).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { DatasetSummary, DatasetThumb } from '../../../../shared/channels/dataset';
import { toErrorData, type ErrorData } from '../../../../shared/errors';
import type { TranslateFolderResult, TranslateResult } from '../../../../shared/channels/infer';
import { callAny, has } from '../../api';
import { CompareSlider } from '../../components/CompareSlider';
import { DropZone } from '../../components/DropZone';
import { EmptyState, GoTo, MissingChannels } from '../../components/EmptyState';
import { DirectionSeg, type Direction } from '../../components/DirectionSeg';
import { Icon } from '../../components/Icons';
import { fitScale, PixelImage } from '../../components/ImageView';
import { Field, PageLayout, Panel } from '../../components/Layout';
import { ErrorInline } from '../../components/Toasts';
import { TRANSLATORS, useBundles } from '../../lib/bundles';
import { IMAGE_EXT, commonRoot, type DroppedFiles } from '../../lib/files';
import { downloadBytes, usePngUrl } from '../../lib/png';
import { useLoad } from '../../lib/useLoad';
import { useKeys } from '../../lib/keys';
import { studio } from '../../studio';
import { waitForJob } from '../../store/jobs';
import { useStatus } from '../../store/status';
import { notify, reportError } from '../../store/ui';

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

function TestImages({ onPick }: { onPick(i: InputImage): void }) {
  const datasets = useLoad(has('dataset.list') ? () => callAny<DatasetSummary[]>('dataset.list', {}) : null, []);
  const [id, setId] = useState('');
  const ds = (datasets.data ?? []).find((d) => d.id === id) ?? datasets.data?.[0];
  const page = useLoad(
    ds ? () => callAny<{ items: DatasetThumb[] }>('dataset.get', { id: ds.id, split: 'test', limit: 12, thumbSize: Math.max(ds.image.width, 8) }) : null,
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
  const ready = has('infer.translate') && has('bundle.list');
  const bundles = useBundles((b) => TRANSLATORS.has(b.kind));
  const [bundleId, setBundleId] = useState('');
  const [input, setInput] = useState<InputImage | null>(null);
  const [output, setOutput] = useState<Output | null>(null);
  const [error, setError] = useState<ErrorData | null>(null);
  const [busy, setBusy] = useState(false);
  const [view, setView] = useState<'side' | 'compare'>('side');
  const [direction, setDirection] = useState<Direction>('AtoB');
  const [fit, setFit] = useState<'fill' | 'cover' | 'contain'>('fill');
  const [runtime, setRuntime] = useState<'onnx' | 'tfjs'>('onnx');
  const [folderBusy, setFolderBusy] = useState(false);
  const [folderResult, setFolderResult] = useState<{ outDir: string; count: number; total: number; failed: TranslateFolderResult['failed'] } | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const [boxW, setBoxW] = useState(800);
  const bundle = bundles.list.find((b) => b.id === bundleId) ?? bundles.list[0] ?? null;
  const inUrl = usePngUrl(input?.bytes, 'image/*');
  const outUrl = usePngUrl(output?.png);

  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setBoxW(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, [ready]);

  const run = async (img: InputImage, b = bundle) => {
    if (!b) return;
    setBusy(true);
    setError(null);
    try {
      const out = await callAny<Output>('infer.translate', { model: b.id, image: img.bytes, fit, runtime, ...(b.kind === 'cyclegan' ? { direction } : {}) });
      setOutput(out);
    } catch (e) {
      setError(toErrorData(e));
      setOutput(null);
    } finally {
      setBusy(false);
    }
  };

  // Re-run when the bundle or a setting changes.
  useEffect(() => {
    if (input && bundle) void run(input, bundle);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bundle?.id, direction, fit, runtime]);

  const showImage = async (img: InputImage) => {
    setInput(img);
    setOutput(null);
    await run(img);
  };

  const onDrop = async (d: DroppedFiles) => {
    const images = d.files.filter((f, i) => IMAGE_EXT.test(d.relPaths[i] ?? f.name) || f.type.startsWith('image/'));
    if (d.folders.length || images.length > 1) return translateFolder(d);
    const f = images[0];
    if (!f) throw new Error('No image among the dropped files.');
    const bytes = new Uint8Array(await f.arrayBuffer());
    const size = await imageSize(bytes).catch(() => ({ width: 0, height: 0 }));
    await showImage({ name: f.name, bytes, ...size });
  };

  const translateFolder = async (d: DroppedFiles) => {
    if (!bundle) return;
    if (!has('infer.translateFolder')) {
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
      // Results go to <workspace>/translations/<folder>-<model> (uploads live in a temp folder).
      const ws = useStatus.getState().doctor?.workspace;
      const folderName = (d.folders[0] ?? root.split('/').filter(Boolean).pop() ?? 'images').replace(/[^A-Za-z0-9_-]+/g, '-');
      const tag = `${folderName}-${bundle.id.replace(/[^A-Za-z0-9_-]+/g, '-')}-${Date.now().toString(36)}`;
      const output = ws ? `${ws.replace(/\/+$/, '')}/translations/${tag}` : `${root.replace(/\/+$/, '')}-${tag}`;
      const { jobId } = await callAny<{ jobId: string }>('infer.translateFolder', { model: bundle.id, input: root, output, fit, runtime, ...(bundle.kind === 'cyclegan' ? { direction } : {}) });
      const res = await waitForJob<TranslateFolderResult>(jobId);
      setFolderResult({ outDir: res.outDir, count: res.written.length, failed: res.failed, total: res.total });
      notify('Folder translated', `${res.written.length} of ${res.total} images written to ${res.outDir}${res.failed.length ? `; ${res.failed.length} failed` : ''}.`, 'success');
    } catch (e) {
      reportError('Translate folder', e);
    } finally {
      setFolderBusy(false);
    }
  };

  // Both images are shown at the input's size (the engine restores it), pixel-exact when small.
  const dispW = input?.width || output?.width || 256;
  const dispH = input?.height || output?.height || 256;
  const scale = useMemo(() => {
    const avail = view === 'side' ? (boxW - 48) / 2 : boxW - 32;
    return fitScale(dispW, dispH, Math.min(avail, 512), 512, 8);
  }, [dispW, dispH, boxW, view]);

  const save = () => output && downloadBytes(output.png, `${(input?.name ?? 'image').replace(/\.[^.]+$/, '')}-${bundle?.name ?? 'out'}.png`);
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
        {bundle?.kind === 'cyclegan' ? (
          <Field group label="Direction" hint="CycleGAN learns both ways.">
            <DirectionSeg value={direction} onChange={setDirection} testId="direction" />
          </Field>
        ) : null}
        <Field label="Fit" hint="How a non-square input meets the model's square size.">
          <select value={fit} onChange={(e) => setFit(e.currentTarget.value as typeof fit)}>
            <option value="fill">fill (stretch)</option>
            <option value="cover">cover (centre crop)</option>
            <option value="contain">contain (letterbox)</option>
          </select>
        </Field>
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
        {folderBusy ? <div className="muted small">Translating the folder… (progress in the jobs strip)</div> : null}
        {folderResult ? (
          <div className="notice ok" data-testid="folder-result">
            Translated {folderResult.count} of {folderResult.total} images into <code>{folderResult.outDir}</code>.
            {folderResult.failed.length ? ` ${folderResult.failed.length} failed: ${folderResult.failed.slice(0, 3).map((f) => `${f.file} (${f.error})`).join('; ')}` : ''}
            {folderResult.outDir && has('app.reveal') && studio().transport === 'electron' ? (
              <button type="button" className="btn ghost small" onClick={() => void callAny('app.reveal', { path: folderResult.outDir }).catch((e: unknown) => reportError('Reveal folder', e))}>
                Reveal
              </button>
            ) : null}
          </div>
        ) : null}
      </Panel>
      <Panel title="Test images">
        <TestImages onPick={(i) => void showImage(i)} />
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
      <div ref={box} style={{ height: '100%' }}>
        <DropZone testId="translate-canvas-drop" className="page-drop" onFiles={onDrop}>
          {error ? <ErrorInline title="Translate" error={error} onDismiss={() => setError(null)} /> : null}
          {!input ? (
            <EmptyState title="Drop an image to translate" testId="translate-empty">
              <p>Or pick a test image on the right. A folder dropped here is translated image by image as a job.</p>
            </EmptyState>
          ) : view === 'side' || !outUrl || !inUrl ? (
            <div className="row" style={{ alignItems: 'flex-start', gap: 16 }}>
              <figure className="col" style={{ margin: 0 }}>
                {inUrl ? <PixelImage src={inUrl} width={dispW} height={dispH} scale={scale} alt="Input" testId="translate-input" /> : null}
                <figcaption className="muted small">
                  Input — {input.name} {input.width ? `(${input.width}×${input.height})` : ''}
                </figcaption>
              </figure>
              <figure className="col" style={{ margin: 0 }}>
                {outUrl && output ? (
                  <PixelImage src={outUrl} width={output.width} height={output.height} scale={(dispW * scale) / output.width} alt="Output" testId="translate-output" />
                ) : (
                  <div className="muted" style={{ width: Math.round(dispW * scale), height: Math.round(dispH * scale), display: 'grid', placeItems: 'center', background: '#0e0f12', borderRadius: 8 }}>
                    {busy ? 'Translating…' : '—'}
                  </div>
                )}
                <figcaption className="muted small">
                  Output{bundle ? ` — ${bundle.name}` : ''}
                  {output?.ms ? ` · ${Math.round(output.ms)} ms${output.runtime ? ` (${output.runtime})` : ''}` : ''}
                </figcaption>
              </figure>
            </div>
          ) : (
            <CompareSlider before={inUrl} after={outUrl} size={Math.round(Math.max(dispW, dispH) * scale)} pixelated={scale >= 2} />
          )}
        </DropZone>
      </div>
    </PageLayout>
  );
}
