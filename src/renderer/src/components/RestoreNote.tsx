/** The sentence a drag-back restore ends with: what was restored, or precisely why not. */
export function RestoreNote({ note, onDismiss }: { note: { ok: boolean; text: string } | null; onDismiss(): void }) {
  if (!note) return null;
  return (
    <div className={note.ok ? 'notice' : 'error-inline'} role={note.ok ? 'status' : 'alert'} data-testid="restore-note" data-ok={note.ok}>
      <span>{note.text}</span>{' '}
      <button type="button" className="btn ghost small" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
