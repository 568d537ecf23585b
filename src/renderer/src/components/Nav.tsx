import { PAGES, useUi } from '../store/ui';
import { Icon } from './Icons';

export function Nav() {
  const page = useUi((s) => s.page);
  const setPage = useUi((s) => s.setPage);
  return (
    <nav className="nav" aria-label="Pages">
      <div className="brand" title="Atelier">
        A
      </div>
      {PAGES.map((p) => (
        <button
          key={p.id}
          type="button"
          className={`nav-item ${page === p.id ? 'active' : ''}`}
          aria-current={page === p.id ? 'page' : undefined}
          title={`${p.label} (${p.key} or Ctrl+${p.key})`}
          onClick={() => setPage(p.id)}
          data-testid={`nav-${p.id}`}
        >
          <Icon name={p.id} size={20} />
          <span className="nav-label">{p.label}</span>
          <kbd>{p.key}</kbd>
        </button>
      ))}
    </nav>
  );
}
