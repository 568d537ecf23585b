import { useState } from 'react';
import type { ErrorData } from '../../../shared/errors';
import { errorDetailsText, useUi, type Toast } from '../store/ui';
import { Icon } from './Icons';

/** "Copy details" for an error: code, message, hint and the technical details (never shown). */
export function CopyDetails({ title, error }: { title: string; error: ErrorData }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(errorDetailsText(title, error));
      setState('copied');
    } catch {
      setState('failed');
    }
    setTimeout(() => setState('idle'), 2000);
  };
  return (
    <button type="button" className="btn ghost small" onClick={() => void copy()} data-testid="copy-details">
      <Icon name="copy" size={14} />
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Clipboard unavailable' : 'Copy details'}
    </button>
  );
}

/** An error in place (inside a panel): message, hint, copy details. */
export function ErrorInline({ title, error, onDismiss }: { title: string; error: ErrorData; onDismiss?: () => void }) {
  return (
    <div className="error-inline" role="alert" data-testid="error-inline">
      <div className="error-title">
        {title}
        <span className="error-code">{error.code}</span>
      </div>
      <div className="error-message">{error.message}</div>
      {error.hint ? <div className="error-hint">{error.hint}</div> : null}
      <div className="error-actions">
        <CopyDetails title={title} error={error} />
        {onDismiss ? (
          <button type="button" className="btn ghost small" onClick={onDismiss}>
            Dismiss
          </button>
        ) : null}
      </div>
    </div>
  );
}

function ToastItem({ t }: { t: Toast }) {
  const dismiss = useUi((s) => s.dismiss);
  return (
    <div className={`toast ${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'} data-testid={`toast-${t.kind}`}>
      <div className="toast-head">
        <span className="toast-title">{t.title}</span>
        {t.error ? <span className="error-code">{t.error.code}</span> : null}
        <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
          <Icon name="close" size={14} />
        </button>
      </div>
      {t.error ? (
        <>
          <div className="error-message">{t.error.message}</div>
          {t.error.hint ? <div className="error-hint">{t.error.hint}</div> : null}
          <div className="error-actions">
            <CopyDetails title={t.title} error={t.error} />
          </div>
        </>
      ) : t.text ? (
        <div className="toast-text">{t.text}</div>
      ) : null}
    </div>
  );
}

export function Toasts() {
  const toasts = useUi((s) => s.toasts);
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((t) => (
        <ToastItem key={t.id} t={t} />
      ))}
    </div>
  );
}
