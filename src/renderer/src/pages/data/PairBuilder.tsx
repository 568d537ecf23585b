/**
 * Build a paired dataset by hand: drop image A and image B in two wells, check them side by
 * side, "Add pair", repeat; then import the list as a paired dataset (layout "pairs").
 */
import { useEffect, useMemo, useState } from 'react';
import { DropZone } from '../../components/DropZone';
import { Icon } from '../../components/Icons';
import { IMAGE_EXT } from '../../lib/files';

export interface PendingPair {
  id: number;
  a: File;
  b: File;
  urlA: string;
  urlB: string;
}

let nextPair = 1;

function firstImage(files: File[]): File | null {
  return files.find((f) => f.type.startsWith('image/') || IMAGE_EXT.test(f.name)) ?? null;
}

function useObjectUrl(f: File | null): string | null {
  const url = useMemo(() => (f ? URL.createObjectURL(f) : null), [f]);
  useEffect(() => () => (url ? URL.revokeObjectURL(url) : undefined), [url]);
  return url;
}

function Well({ side, file, onFile }: { side: 'A' | 'B'; file: File | null; onFile(f: File | null): void }) {
  const url = useObjectUrl(file);
  return (
    <DropZone
      testId={`pair-well-${side.toLowerCase()}`}
      className="well"
      multiple={false}
      folders={false}
      label="Browse"
      onFiles={(d) => onFile(firstImage(d.files))}
    >
      {url ? <img src={url} alt={`Image ${side}`} data-testid={`pair-preview-${side.toLowerCase()}`} /> : <div className="empty-title" style={{ fontSize: 22 }}>{side}</div>}
      <div className="small ellipsis" style={{ maxWidth: '100%' }}>{file ? file.name : `Drop image ${side}`}</div>
    </DropZone>
  );
}

export function PairBuilder({ pairs, setPairs, onImport, busy }: { pairs: PendingPair[]; setPairs(p: PendingPair[]): void; onImport(name: string): void; busy: boolean }) {
  const [a, setA] = useState<File | null>(null);
  const [b, setB] = useState<File | null>(null);
  const [name, setName] = useState('my-pairs');
  const add = () => {
    if (!a || !b) return;
    setPairs([...pairs, { id: nextPair++, a, b, urlA: URL.createObjectURL(a), urlB: URL.createObjectURL(b) }]);
    setA(null);
    setB(null);
  };
  const remove = (id: number) => {
    const p = pairs.find((x) => x.id === id);
    if (p) {
      URL.revokeObjectURL(p.urlA);
      URL.revokeObjectURL(p.urlB);
    }
    setPairs(pairs.filter((x) => x.id !== id));
  };
  return (
    <div className="col" data-testid="pair-builder">
      <div className="pair-wells">
        <Well side="A" file={a} onFile={setA} />
        <Well side="B" file={b} onFile={setB} />
      </div>
      <button type="button" className="btn wide" disabled={!a || !b} onClick={add} data-testid="pair-add">
        Add pair
      </button>
      {pairs.length ? (
        <div className="pair-list" data-testid="pair-list">
          {pairs.map((p, i) => (
            <div className="pair-item" key={p.id} data-testid="pair-item">
              <img src={p.urlA} alt={`pair ${i + 1} A`} />
              <img src={p.urlB} alt={`pair ${i + 1} B`} />
              <span className="ellipsis" title={`${p.a.name} → ${p.b.name}`}>
                {p.a.name} → {p.b.name}
              </span>
              <button type="button" className="icon-btn" aria-label={`Remove pair ${i + 1}`} onClick={() => remove(p.id)}>
                <Icon name="close" size={14} />
              </button>
            </div>
          ))}
        </div>
      ) : (
        <span className="muted small">No pairs yet. Drop an input (A) and its target (B), then add the pair.</span>
      )}
      <label className="field">
        <span className="field-label">Dataset name</span>
        <input value={name} onChange={(e) => setName(e.currentTarget.value)} data-testid="pair-name" />
      </label>
      <button type="button" className="btn primary wide" disabled={!pairs.length || !name.trim() || busy} onClick={() => onImport(name.trim())} data-testid="pair-import">
        {busy ? 'Importing…' : `Import ${pairs.length} pair${pairs.length === 1 ? '' : 's'} as paired dataset`}
      </button>
    </div>
  );
}
