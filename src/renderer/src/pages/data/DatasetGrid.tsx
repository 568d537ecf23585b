import { useState } from 'react';
import type { DatasetSummary, DatasetThumb } from '../../../../shared/channels/dataset';
import { ErrorInline } from '../../components/Toasts';
import { fmtBytes, fmtTime } from '../../lib/format';
import { usePngUrl } from '../../lib/png';
import { useLoad } from '../../lib/useLoad';
import { call } from '../../studio';

export function Thumb({ t, showLabel }: { t: DatasetThumb; showLabel?: string }) {
  const url = usePngUrl(t.png);
  return (
    <div className="thumb" title={`${t.name} (${t.split}${t.role !== 'x' ? `, ${t.role}` : ''})`}>
      {url ? <img src={url} alt={t.name} draggable /> : null}
      {showLabel ? <span className="thumb-label">{showLabel}</span> : null}
    </div>
  );
}

/** A card per dataset: a strip of its first thumbnails, counts, size. */
export function DatasetCard({ d, selected, onSelect }: { d: DatasetSummary; selected: boolean; onSelect(): void }) {
  const page = useLoad(() => call('dataset.get', { id: d.id, limit: 8, thumbSize: 64 }), [d.id, d.contentHash]);
  return (
    <div
      className={`card selectable ${selected ? 'selected' : ''}`}
      role="button"
      tabIndex={0}
      onClick={onSelect}
      onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ' ? (e.preventDefault(), onSelect()) : undefined)}
      data-testid="dataset-card"
      data-dataset-id={d.id}
    >
      <div className="card-title">
        <span className="ellipsis">{d.name}</span>
        <span className="tag">{d.kind}</span>
      </div>
      <div className="thumbs" style={{ gridTemplateColumns: 'repeat(8, 1fr)', gap: 3 }}>
        {page.data?.items.map((t) => <Thumb key={`${t.index}-${t.role}`} t={t} />)}
        {page.loading && !page.data ? <span className="muted small">loading…</span> : null}
      </div>
      {page.error ? <span className="small" style={{ color: 'var(--err)' }}>{page.error.message}</span> : null}
      <div className="muted small">
        {d.counts.train} train · {d.counts.test} test · {d.image.width}×{d.image.height}×{d.image.channels} · {fmtBytes(d.bytes)}
        {d.classes?.length ? ` · ${d.classes.length} classes` : ''}
      </div>
    </div>
  );
}

const PAGE = 48;

/** The selected dataset: a page of thumbnails per split, paired items shown A then B. */
export function DatasetDetail({ d }: { d: DatasetSummary }) {
  const [split, setSplit] = useState<'train' | 'test'>('train');
  const [offset, setOffset] = useState(0);
  const page = useLoad(() => call('dataset.get', { id: d.id, split, offset, limit: PAGE, thumbSize: 96 }), [d.id, split, offset, d.contentHash]);
  const total = page.data?.total ?? 0;
  return (
    <div className="section" data-testid="dataset-detail">
      <div className="section-head">
        <h3>{d.name}</h3>
        <span className="tag">{d.kind}</span>
        <div className="seg">
          {(['train', 'test'] as const).map((s) => (
            <button key={s} type="button" className={split === s ? 'on' : ''} onClick={() => (setSplit(s), setOffset(0))}>
              {s} ({s === 'train' ? d.counts.train : d.counts.test})
            </button>
          ))}
        </div>
        <span className="grow" />
        <span className="muted small">created {fmtTime(Date.parse(d.createdAt))}</span>
        <button type="button" className="btn ghost small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          ‹ Prev
        </button>
        <span className="muted small">
          {total ? `${offset + 1}–${Math.min(total, offset + PAGE)} of ${total}` : '0'}
        </span>
        <button type="button" className="btn ghost small" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          Next ›
        </button>
      </div>
      {page.error ? <ErrorInline title="Load thumbnails" error={page.error} /> : null}
      <div className="thumbs" data-testid="dataset-thumbs" style={{ gridTemplateColumns: 'repeat(auto-fill, minmax(96px, 1fr))' }}>
        {page.data?.items.map((t) => (
          <Thumb
            key={`${t.index}-${t.role}`}
            t={t}
            showLabel={t.label !== undefined && d.classes ? d.classes[t.label] : t.role !== 'x' ? `${t.name} · ${t.role.toUpperCase()}` : t.name}
          />
        ))}
      </div>
      {page.data && !page.data.items.length ? <div className="muted">No items in the {split} split.</div> : null}
    </div>
  );
}
