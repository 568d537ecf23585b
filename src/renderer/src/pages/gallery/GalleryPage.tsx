/**
 * Gallery: every output the studio saved (and folder translations' files), newest first, a page
 * of thumbnails at a time (gallery.list never sends images; each thumbnail is its own small
 * request), filtered by model, model kind and what made it. Open one at full size with its
 * provenance; reuse its settings (Translate or Latent opens with them), reveal the file, delete.
 * Drop PNGs Atelier made elsewhere to import them.
 *
 * Thousands of items: the grid is virtual. Only the rows in view (and a few around) exist in the
 * DOM, so only their thumbnails are requested; the index is fetched a page at a time for the
 * rows the user scrolls to, never all at once.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { GalleryItem, GalleryPage as GalleryPageDto } from '../../../../shared/channels/gallery';
import type { Provenance, ProvenanceOp } from '../../../../shared/provenance';
import { toErrorData, type ErrorData } from '../../../../shared/errors';
import { DropZone } from '../../components/DropZone';
import { EmptyState, MissingChannels } from '../../components/EmptyState';
import { Icon } from '../../components/Icons';
import { Field, PageLayout, Panel } from '../../components/Layout';
import { ErrorInline } from '../../components/Toasts';
import { downloadBytes, usePngUrl } from '../../lib/png';
import { useLoad } from '../../lib/useLoad';
import { available, call, studio } from '../../studio';
import { useRestore } from '../../store/restore';
import { notify, reportError, useUi } from '../../store/ui';

const PAGE = 60;
/** Grid geometry: a cell is at least this wide; rows are square cells plus the gap. */
const CELL_MIN = 112;
const GAP = 6;
/** Rows rendered above and below the visible ones (smooth scrolling without blank rows). */
const OVERSCAN = 2;

/** Which items a scrolled grid shows: columns from the width, rows from the scroll offset. */
export function visibleRange(o: { width: number; height: number; scrollTop: number; total: number }): { cols: number; rowHeight: number; first: number; last: number } {
  const cols = Math.max(1, Math.floor((o.width + GAP) / (CELL_MIN + GAP)));
  const cell = o.width > 0 ? (o.width - GAP * (cols - 1)) / cols : CELL_MIN;
  const rowHeight = cell + GAP;
  const rows = Math.ceil(o.total / cols);
  const firstRow = Math.max(0, Math.floor(o.scrollTop / rowHeight) - OVERSCAN);
  const lastRow = Math.min(rows - 1, Math.ceil((o.scrollTop + Math.max(o.height, rowHeight)) / rowHeight) + OVERSCAN);
  return { cols, rowHeight, first: firstRow * cols, last: Math.min(o.total - 1, (lastRow + 1) * cols - 1) };
}
const OP_LABEL: Record<ProvenanceOp, string> = { translate: 'Translations', generate: 'Generated', latent: 'Latent renders', interpolate: 'Interpolations', samples: 'Training samples' };

/** Which page reuses an item's settings. */
export function reusePage(op: ProvenanceOp): 'translate' | 'latent' | null {
  return op === 'translate' ? 'translate' : op === 'latent' || op === 'generate' || op === 'interpolate' ? 'latent' : null;
}

/** The provenance as lines for people (the same facts `atelier inspect` prints). */
export function provenanceLines(p: Provenance): [string, string][] {
  const m = p.model;
  const rows: [string, string][] = [
    ['Made by', `${OP_LABEL[p.op]} · Atelier ${p.app.version}`],
    ['When', new Date(p.createdAt).toLocaleString()],
    ['Model', `${m.id} (${m.kind})${m.step !== undefined ? ` · step ${m.step}` : ''}${m.direction ? ` · ${m.direction}` : ''}`],
    ['Runtime', `${m.runtime} · ${m.backend}`],
    ['Weights', m.weightsSha256 ? `sha256 ${m.weightsSha256.slice(0, 16)}…` : 'in training (not hashed)'],
    ['Size', `${p.width}×${p.height}`],
  ];
  if (p.input) rows.push(['Input', `${p.input.name} (${p.input.width}×${p.input.height})`]);
  if (p.scale !== undefined) rows.push(['Scale', `${p.scale}${p.tiles && p.tiles > 1 ? ` · ${p.tiles} tiles of ${p.tileSize}px` : ''}${p.fit ? ` · ${p.fit}` : ''}`]);
  if (p.seed !== undefined) rows.push(['Seed', String(p.seed)]);
  if (p.label !== undefined) rows.push(['Class', `${p.label}${p.className ? ` (${p.className})` : ''}`]);
  const pca = p.sliders?.pca;
  if (pca) rows.push(['PCA sliders', pca.amounts.map((a, i) => (a ? `PC${i + 1} ${a > 0 ? '+' : ''}${a.toFixed(2)}σ` : '')).filter(Boolean).join(', ') || 'at rest']);
  if (p.sliders?.dims) rows.push(['Dimensions', `${p.sliders.dims.length} set`]);
  if (p.sliders?.blend) rows.push(['Class blend', `${p.sliders.blend.a} → ${p.sliders.blend.b} at ${Math.round(p.sliders.blend.t * 100)}%`]);
  if (p.interpolation) rows.push(['Path', `${p.interpolation.mode}, ${p.interpolation.steps} frames${p.interpolation.frame !== undefined ? ` · frame ${p.interpolation.frame}` : ' · strip'}`]);
  if (p.run) rows.push(['Run', p.run.id]);
  return rows;
}

function Thumb({ item, selected, onOpen }: { item: GalleryItem; selected: boolean; onOpen(): void }) {
  const t = useLoad(() => call('gallery.thumb', { id: item.id, size: 128 }), [item.id]);
  const url = usePngUrl(t.data?.png);
  return (
    <button
      type="button"
      className={`thumb ${selected ? 'selected' : ''}`}
      style={{ padding: 0, cursor: 'pointer', outline: selected ? '2px solid var(--accent)' : undefined }}
      onClick={onOpen}
      title={`${item.name} · ${item.model.id} · ${new Date(item.createdAt).toLocaleString()}`}
      data-testid="gallery-item"
      data-op={item.op}
      data-model={item.model.id}
    >
      {url ? <img src={url} alt={item.name} /> : t.error ? <span className="muted small">missing</span> : null}
      <span className="thumb-label">{item.model.id}</span>
    </button>
  );
}

function Detail({ item, onDeleted }: { item: GalleryItem; onDeleted(): void }) {
  const full = useLoad(() => call('gallery.get', { id: item.id }), [item.id]);
  const url = usePngUrl(full.data?.png);
  const p = full.data?.provenance ?? null;
  const page = reusePage(item.op);
  const [busy, setBusy] = useState(false);

  const reuse = async () => {
    if (!full.data || !page) return;
    setBusy(true);
    try {
      // The engine checks the record again and whether the bundle is still here, unchanged.
      const check = await call('provenance.read', { image: full.data.png });
      useRestore.getState().hand(page, check);
      useUi.getState().setPage(page);
    } catch (e) {
      reportError('Reuse settings', e);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    try {
      const r = await call('gallery.delete', { id: item.id });
      notify('Deleted', r.fileRemoved ? `${item.name} was deleted.` : `${item.name} left the gallery; the file stays at ${item.file}.`);
      onDeleted();
    } catch (e) {
      reportError('Delete', e);
    }
  };
  const canReveal = available('app.reveal') && studio().transport === 'electron';

  return (
    <Panel title={item.name} testId="gallery-detail">
      {full.error ? <ErrorInline title="Open" error={full.error} /> : null}
      {url && full.data ? (
        <a href={url} target="_blank" rel="noreferrer" title="Open full size">
          <img src={url} alt={item.name} className="pixelated" style={{ width: '100%', background: '#0e0f12', borderRadius: 4 }} data-testid="gallery-full" />
        </a>
      ) : null}
      {p ? (
        <dl className="kv small" data-testid="gallery-provenance">
          {provenanceLines(p).map(([k, v]) => (
            <div key={k} className="row" style={{ gap: 8 }}>
              <dt className="muted" style={{ minWidth: 90 }}>{k}</dt>
              <dd style={{ margin: 0 }}>{v}</dd>
            </div>
          ))}
        </dl>
      ) : full.data ? (
        <div className="notice warn">This file no longer carries its provenance.</div>
      ) : null}
      <div className="row" style={{ flexWrap: 'wrap' }}>
        <button type="button" className="btn small primary" disabled={!page || !p || busy} onClick={() => void reuse()} title={page ? `Open ${page} with these settings` : 'Training samples have no page to restore into (open their run on the Train page)'} data-testid="gallery-reuse">
          Reuse settings
        </button>
        <button type="button" className="btn small" disabled={!full.data} onClick={() => full.data && downloadBytes(full.data.png, item.name.endsWith('.png') ? item.name : `${item.name}.png`)}>
          <Icon name="download" size={14} /> Save
        </button>
        {canReveal ? (
          <button type="button" className="btn small ghost" onClick={() => void call('app.reveal', { path: item.file }).catch((e: unknown) => reportError('Reveal', e))}>
            <Icon name="reveal" size={14} /> Reveal
          </button>
        ) : null}
        <button type="button" className="btn small ghost" onClick={() => void remove()} data-testid="gallery-delete" title={item.origin === 'saved' ? 'Delete this saved copy' : 'Forget this folder output (the file stays)'}>
          <Icon name="trash" size={14} /> Delete
        </button>
      </div>
      {!canReveal ? <div className="muted small" style={{ wordBreak: 'break-all' }} data-testid="gallery-path">{item.file}</div> : null}
    </Panel>
  );
}

export function GalleryPage() {
  const ready = available('gallery.list') && available('gallery.thumb') && available('gallery.get');
  const [model, setModel] = useState('');
  const [kind, setKind] = useState('');
  const [op, setOp] = useState<ProvenanceOp | ''>('');
  const [page, setPage] = useState<GalleryPageDto | null>(null);
  // Sparse: index -> item, filled a page at a time as rows come into view.
  const [items, setItems] = useState<Map<number, GalleryItem>>(() => new Map());
  const [error, setError] = useState<ErrorData | null>(null);
  const [selected, setSelected] = useState<GalleryItem | null>(null);
  // Pages asked for under the current filters (a new filter or a reload starts over).
  const asked = useRef(new Set<number>());
  const generation = useRef(0);
  const scroller = useRef<HTMLDivElement | null>(null);
  const [view, setView] = useState({ width: 0, height: 0, scrollTop: 0 });

  const fetchPage = useCallback(
    async (n: number, gen: number) => {
      if (!ready) return;
      try {
        const r = await call('gallery.list', { offset: n * PAGE, limit: PAGE, ...(model ? { model } : {}), ...(kind ? { kind } : {}), ...(op ? { op } : {}) });
        if (gen !== generation.current) return;
        setPage(r);
        setItems((old) => {
          const next = new Map(old);
          r.items.forEach((it, i) => next.set(n * PAGE + i, it));
          return next;
        });
        setError(null);
      } catch (e) {
        asked.current.delete(n);
        setError(toErrorData(e));
      }
    },
    [ready, model, kind, op],
  );
  const reload = useCallback(() => {
    generation.current++;
    asked.current = new Set([0]);
    setItems(new Map());
    void fetchPage(0, generation.current);
  }, [fetchPage]);
  useEffect(() => {
    reload();
  }, [reload]);

  // The scroller's size and offset (a ResizeObserver where there is one; a resize otherwise).
  const scrollRef = useCallback((el: HTMLDivElement | null) => {
    scroller.current = el;
    if (el) setView({ width: el.clientWidth, height: el.clientHeight, scrollTop: el.scrollTop });
  }, []);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setView({ width: el.clientWidth, height: el.clientHeight, scrollTop: el.scrollTop });
    if (typeof ResizeObserver !== 'undefined') {
      const ro = new ResizeObserver(measure);
      ro.observe(el);
      return () => ro.disconnect();
    }
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [page?.total]);

  const total = page?.total ?? 0;
  const range = visibleRange({ ...view, total });
  // Ask for the pages the visible rows fall in, once each.
  useEffect(() => {
    if (!total) return;
    for (let n = Math.floor(range.first / PAGE); n <= Math.floor(range.last / PAGE); n++) {
      if (asked.current.has(n)) continue;
      asked.current.add(n);
      void fetchPage(n, generation.current);
    }
  }, [range.first, range.last, total, fetchPage]);

  if (!ready) {
    return (
      <PageLayout title="Gallery" testId="page-gallery">
        <MissingChannels what="The gallery" channels={['gallery.list', 'gallery.thumb', 'gallery.get']} />
      </PageLayout>
    );
  }

  const importPngs = async (files: File[]) => {
    let ok = 0;
    const failed: string[] = [];
    for (const f of files) {
      try {
        await call('gallery.add', { image: new Uint8Array(await f.arrayBuffer()), name: f.name });
        ok++;
      } catch (e) {
        failed.push(`${f.name}: ${toErrorData(e).message}`);
      }
    }
    if (failed.length) reportError('Import into the gallery', new Error(failed.join('\n')));
    if (ok) notify('Imported', `${ok} image${ok > 1 ? 's' : ''} added to the gallery.`, 'success');
    reload();
  };

  const side = (
    <>
      <Panel title="Filter">
        <Field label="Model">
          <select value={model} onChange={(e) => setModel(e.currentTarget.value)} data-testid="gallery-filter-model">
            <option value="">All models</option>
            {(page?.models ?? []).map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Model kind">
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)} data-testid="gallery-filter-kind">
            <option value="">All kinds</option>
            {(page?.kinds ?? []).map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Made by">
          <select value={op} onChange={(e) => setOp(e.currentTarget.value as ProvenanceOp | '')} data-testid="gallery-filter-op">
            <option value="">Everything</option>
            {(page?.ops ?? []).map((o) => (
              <option key={o} value={o}>
                {OP_LABEL[o]}
              </option>
            ))}
          </select>
        </Field>
      </Panel>
      {selected ? (
        <Detail
          key={selected.id}
          item={selected}
          onDeleted={() => {
            setSelected(null);
            reload();
          }}
        />
      ) : null}
    </>
  );

  return (
    <PageLayout title="Gallery" side={side} testId="page-gallery" tools={<span className="muted small" data-testid="gallery-count">{page ? `${page.total} item${page.total === 1 ? '' : 's'}` : ''}</span>}>
      <DropZone testId="gallery-drop" className="page-drop" accept="image/png" folders={false} label="Import PNGs…" onFiles={(d) => importPngs(d.files)}>
        {error ? <ErrorInline title="Gallery" error={error} onDismiss={() => setError(null)} /> : null}
        {page && !page.total ? (
          <EmptyState title={model || kind || op ? 'Nothing matches these filters' : 'No outputs yet'} testId="gallery-empty">
            <p>Images saved on the Translate and Latent pages, and folder translations, appear here with the settings that made them. Drop PNGs Atelier made to import them.</p>
          </EmptyState>
        ) : (
          <div
            ref={scrollRef}
            style={{ height: 'calc(100vh - 180px)', minHeight: 240, overflowY: 'auto' }}
            onScroll={(e) => {
              const el = e.currentTarget;
              setView({ width: el.clientWidth, height: el.clientHeight, scrollTop: el.scrollTop });
            }}
            data-testid="gallery-scroller"
          >
            {/* The full height of every row, so the scrollbar is true; only the rows in view are drawn. */}
            <div style={{ height: Math.ceil(total / range.cols) * range.rowHeight, position: 'relative' }}>
              <div
                className="thumbs"
                style={{ gridTemplateColumns: `repeat(${range.cols}, 1fr)`, gap: GAP, position: 'absolute', left: 0, right: 0, top: Math.floor(range.first / range.cols) * range.rowHeight }}
                data-testid="gallery-grid"
                data-first={range.first}
              >
                {total
                  ? Array.from({ length: range.last - range.first + 1 }, (_, k) => {
                      const it = items.get(range.first + k);
                      return it ? (
                        <Thumb key={it.id} item={it} selected={selected?.id === it.id} onOpen={() => setSelected(it)} />
                      ) : (
                        <div key={`slot-${range.first + k}`} className="thumb" data-testid="gallery-slot" />
                      );
                    })
                  : null}
              </div>
            </div>
          </div>
        )}
      </DropZone>
    </PageLayout>
  );
}
