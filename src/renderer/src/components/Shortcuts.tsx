import { useEffect, useState } from 'react';
import { SHORTCUTS, isTypingTarget } from '../lib/keys';
import { Icon } from './Icons';

/** "?" shows the keyboard shortcuts; Escape or "?" again hides them. */
export function Shortcuts() {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTypingTarget(e.target)) return;
      if (e.key === '?') {
        e.preventDefault();
        setOpen((o) => !o);
      } else if (e.key === 'Escape') setOpen(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  if (!open) return null;
  return (
    <div className="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" onClick={() => setOpen(false)} data-testid="shortcuts">
      <div className="dialog" onClick={(e) => e.stopPropagation()}>
        <div className="toast-head">
          <span className="toast-title">Keyboard shortcuts</span>
          <button type="button" className="icon-btn" aria-label="Close" onClick={() => setOpen(false)}>
            <Icon name="close" size={14} />
          </button>
        </div>
        <table className="report">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.keys}>
                <td>
                  <kbd>{s.keys}</kbd>
                </td>
                <td>{s.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
