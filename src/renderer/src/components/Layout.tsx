import type { ReactNode } from 'react';

/** A page: title bar, the canvas in the centre, controls in the right side panel. */
export function PageLayout({ title, tools, side, children, testId }: { title: string; tools?: ReactNode; side?: ReactNode; children: ReactNode; testId: string }) {
  return (
    <section className={`page ${side ? 'has-side' : ''}`} data-testid={testId} aria-label={title}>
      <div className="page-main">
        <header className="page-head">
          <h1>{title}</h1>
          <div className="page-tools">{tools}</div>
        </header>
        <div className="canvas">{children}</div>
      </div>
      {side ? <aside className="side">{side}</aside> : null}
    </section>
  );
}

export function Panel({ title, children, testId, actions }: { title: string; children: ReactNode; testId?: string; actions?: ReactNode }) {
  return (
    <div className="panel" data-testid={testId}>
      <div className="panel-head">
        <h2>{title}</h2>
        {actions}
      </div>
      <div className="panel-body">{children}</div>
    </div>
  );
}

/** A labelled control. Groups of buttons are not labelable: they get a <div role="group">. */
export function Field({ label, hint, children, group }: { label: string; hint?: string; children: ReactNode; group?: boolean }) {
  const body = (
    <>
      <span className="field-label">{label}</span>
      {children}
      {hint ? <span className="field-hint">{hint}</span> : null}
    </>
  );
  return group ? (
    <div className="field" role="group" aria-label={label}>
      {body}
    </div>
  ) : (
    <label className="field">{body}</label>
  );
}
