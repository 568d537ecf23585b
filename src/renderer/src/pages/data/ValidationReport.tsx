import { useMemo, useState } from 'react';
import type { FileReport, ValidationReport as Report } from '../../../../shared/channels/dataset';
import { fmtBytes } from '../../lib/format';

const ORDER = { error: 0, warning: 1, ok: 2 } as const;
const MAX_ROWS = 400;

function reason(f: FileReport): string {
  const parts = [f.message, ...f.warnings].filter(Boolean);
  return parts.join(' · ') || 'ok';
}

export function ValidationReportView({ report }: { report: Report }) {
  const [onlyProblems, setOnlyProblems] = useState(!report.clean);
  const rows = useMemo(() => {
    const list = onlyProblems ? report.files.filter((f) => f.verdict !== 'ok' || f.warnings.length) : report.files;
    return [...list].sort((a, b) => ORDER[a.verdict] - ORDER[b.verdict] || a.rel.localeCompare(b.rel));
  }, [report, onlyProblems]);
  const c = report.counts;
  return (
    <div className="col" data-testid="validation-report">
      <div className="stats">
        <div className="stat"><b>{c.files}</b><span>files</span></div>
        <div className="stat"><b style={{ color: 'var(--ok)' }}>{c.ok}</b><span>ok</span></div>
        <div className="stat"><b style={{ color: c.warnings ? 'var(--warn)' : undefined }}>{c.warnings}</b><span>warnings</span></div>
        <div className="stat"><b style={{ color: c.errors ? 'var(--err)' : undefined }}>{c.errors}</b><span>errors</span></div>
        <div className="stat"><b>{c.items}</b><span>items ({c.train} train / {c.test} test)</span></div>
        {report.pairs ? <div className="stat"><b>{report.pairs.matched}</b><span>pairs matched</span></div> : null}
        {report.domains ? <div className="stat"><b>{report.domains.a} / {report.domains.b}</b><span>domain A / B</span></div> : null}
        {report.classes ? <div className="stat"><b>{report.classes.length}</b><span>classes</span></div> : null}
      </div>
      {report.problems.map((p) => (
        <div key={p} className="notice warn">{p}</div>
      ))}
      {report.pairs && (report.pairs.missingA.length || report.pairs.missingB.length) ? (
        <div className="notice warn">
          {report.pairs.missingB.length ? `No B partner for: ${report.pairs.missingB.slice(0, 8).join(', ')}${report.pairs.missingB.length > 8 ? '…' : ''}. ` : ''}
          {report.pairs.missingA.length ? `No A partner for: ${report.pairs.missingA.slice(0, 8).join(', ')}${report.pairs.missingA.length > 8 ? '…' : ''}.` : ''}
        </div>
      ) : null}
      <div className={`notice ${report.size.ok ? 'ok' : 'warn'}`}>
        <b>Size</b> — {report.size.message}
        {report.size.sizes.length ? (
          <span className="muted"> (found {report.size.sizes.slice(0, 4).map((s) => `${s.width}×${s.height}${s.count > 1 ? ` ×${s.count}` : ''}`).join(', ')})</span>
        ) : null}
      </div>
      <div className="notice">
        <b>Memory</b> — {report.memory.explanation} <span className="muted">(training ≈ {fmtBytes(report.memory.trainingBytes)}, data ≈ {fmtBytes(report.memory.datasetBytes)})</span>
      </div>
      <div className="row">
        <label className="check">
          <input type="checkbox" checked={onlyProblems} onChange={(e) => setOnlyProblems(e.currentTarget.checked)} />
          Only files with problems
        </label>
        <span className="muted small">
          {rows.length > MAX_ROWS ? `showing ${MAX_ROWS} of ${rows.length}` : `${rows.length} row${rows.length === 1 ? '' : 's'}`}
        </span>
      </div>
      <div className="report-wrap">
        <table className="report" data-testid="validation-table">
          <thead>
            <tr>
              <th>File</th>
              <th>Verdict</th>
              <th>Reason</th>
              <th>Image</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, MAX_ROWS).map((f) => (
              <tr key={f.path} data-verdict={f.verdict}>
                <td className="file">{f.rel}</td>
                <td>
                  <span className={`verdict ${f.verdict}`}>{f.verdict}</span>
                </td>
                <td>{reason(f)}</td>
                <td className="muted small">
                  {[f.width ? `${f.width}×${f.height}` : '', f.channels ? `${f.channels}ch` : '', f.format ?? '', f.role ? `role ${f.role}` : '', f.label ?? ''].filter(Boolean).join(' · ')}
                </td>
              </tr>
            ))}
            {!rows.length ? (
              <tr>
                <td colSpan={4} className="muted">
                  {onlyProblems ? 'No problems found.' : 'No files.'}
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </div>
  );
}
