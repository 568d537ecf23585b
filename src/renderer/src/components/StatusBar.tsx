import { useStatus } from '../store/status';
import { useJobs, isActive } from '../store/jobs';
import type { DoctorReport, GpuAdapterReport } from '../../../shared/channels/app';

function adapterName(a: GpuAdapterReport): string {
  return `${a.vendor} ${a.architecture}${a.isFallbackAdapter ? ' (software)' : ''}`;
}

/** The hover text: why this backend, and what the GPU offered when it was not chosen. */
function backendTitle(d: DoctorReport): string {
  const lines = [d.backendReason];
  for (const c of d.backendsConsidered ?? []) if (!c.chosen) lines.push(`${c.backend}: ${c.reason}`);
  if (d.webgpu?.adapter) lines.push(`GPU: ${adapterName(d.webgpu.adapter)}${d.webgpu.adapter.description ? ` — ${d.webgpu.adapter.description}` : ''}`);
  if (d.backend === 'webgpu' && d.webgpu?.memoryCheck) lines.push(d.webgpu.memoryCheck);
  return lines.join('\n');
}

export function StatusBar() {
  const { doctor, doctorError, engine, engineMessage, access } = useStatus();
  const granted = access?.confined ? access.roots.filter((r) => r.label === 'granted') : [];
  const running = useJobs((s) => Object.values(s.jobs).filter(isActive).length);
  return (
    <footer className="statusbar" data-testid="status-bar">
      <span className={`dot ${engine}`} aria-hidden />
      <span data-testid="engine-state" title={engineMessage}>
        engine {engine}
        {engineMessage && engine !== 'ready' ? ` — ${engineMessage}` : ''}
      </span>
      <span className="sep" />
      <span data-testid="status-backend" title={doctor ? backendTitle(doctor) : undefined}>
        {doctor ? `backend ${doctor.backend}${doctor.backend === 'webgpu' && doctor.webgpu?.adapter ? ` · ${adapterName(doctor.webgpu.adapter)}` : ''}` : doctorError ? 'backend unknown' : 'backend …'}
      </span>
      {doctor ? (
        <>
          <span className="sep" />
          <span>{doctor.threads} thread{doctor.threads === 1 ? '' : 's'}</span>
          <span className="sep" />
          <span title={doctor.workspace} className="ellipsis">
            {doctor.workspace}
          </span>
        </>
      ) : null}
      {access?.confined ? (
        <>
          <span className="sep" />
          <span
            data-testid="status-access"
            className="ellipsis"
            title={`Paths this page may use:\n${access.roots.map((r) => `${r.dir} (${r.label}, ${r.access === 'read' ? 'read only' : 'read and write'})`).join('\n')}\nGrant more with atelier serve --allow DIR.`}
          >
            {granted.length ? `also: ${granted.map((g) => g.dir).join(', ')}` : 'paths: workspace only'}
          </span>
        </>
      ) : null}
      {doctorError ? (
        <span className="status-error" title={doctorError.hint}>
          {doctorError.message}
        </span>
      ) : null}
      <span className="grow" />
      <span>{running ? `${running} job${running === 1 ? '' : 's'} running` : 'idle'}</span>
      <span className="muted" title="Keyboard shortcuts">
        <kbd>?</kbd> shortcuts
      </span>
      {doctor ? <span className="muted">Atelier {doctor.appVersion}</span> : null}
    </footer>
  );
}
