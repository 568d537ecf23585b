import { useEffect, useState } from 'react';
import type { DoctorReport } from '../../shared/channels/app';
import { call } from './studio';

export function App() {
  const [doctor, setDoctor] = useState<DoctorReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call('app.doctor', {}).then(setDoctor, (e: Error) => setError(e.message));
  }, []);
  return (
    <div className="app">
      <main>Atelier</main>
      <footer data-testid="status-bar">{error ?? (doctor ? `backend ${doctor.backend}` : 'starting engine…')}</footer>
    </div>
  );
}
