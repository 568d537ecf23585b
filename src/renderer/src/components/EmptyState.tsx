import type { ReactNode } from 'react';
import { useUi, type PageId } from '../store/ui';

export function EmptyState({ title, children, testId }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="empty" data-testid={testId ?? 'empty-state'}>
      <div className="empty-title">{title}</div>
      {children ? <div className="empty-body">{children}</div> : null}
    </div>
  );
}

/** A button that takes the user to the page where the missing thing is made. */
export function GoTo({ page, children }: { page: PageId; children: ReactNode }) {
  const setPage = useUi((s) => s.setPage);
  return (
    <button type="button" className="btn" onClick={() => setPage(page)}>
      {children}
    </button>
  );
}

/** For pages whose channels have not landed in this build. */
export function MissingChannels({ what, channels }: { what: string; channels: string[] }) {
  return (
    <EmptyState title={`${what} is not available in this build`} testId="missing-channels">
      <p>
        The engine does not offer {channels.map((c, i) => (
          <span key={c}>
            {i ? ', ' : ''}
            <code>{c}</code>
          </span>
        ))}{' '}
        yet, so there is nothing to show here. Nothing on this page is simulated.
      </p>
    </EmptyState>
  );
}
