import { useEffect } from 'react';
import { JobsStrip } from './components/JobsStrip';
import { Nav } from './components/Nav';
import { StatusBar } from './components/StatusBar';
import { Toasts } from './components/Toasts';
import { Shortcuts } from './components/Shortcuts';
import { DataPage } from './pages/data/DataPage';
import { ExplorePage } from './pages/explore/ExplorePage';
import { LatentPage } from './pages/latent/LatentPage';
import { ModelsPage } from './pages/models/ModelsPage';
import { GalleryPage } from './pages/gallery/GalleryPage';
import { TrainPage } from './pages/train/TrainPage';
import { TranslatePage } from './pages/translate/TranslatePage';
import { call, studio } from './studio';
import { connectJobEvents, useJobs } from './store/jobs';
import { useStatus } from './store/status';
import { PAGES, notify, reportError, useUi, type PageId } from './store/ui';
import { toErrorData } from '../../shared/errors';
import { isTypingTarget } from './lib/keys';


/** 1..7 (outside text fields) or Ctrl/Cmd+1..7 switch pages. */
export function pageForKey(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'>): PageId | null {
  if (e.altKey) return null;
  const p = PAGES.find((x) => x.key === e.key);
  if (!p) return null;
  if (e.ctrlKey || e.metaKey) return p.id;
  if (isTypingTarget(e.target)) return null;
  return p.id;
}

function useShell() {
  useEffect(() => {
    let api;
    try {
      api = studio();
    } catch (e) {
      useStatus.getState().setDoctorError(toErrorData(e));
      return;
    }
    const offJobs = connectJobEvents(api.on.bind(api));
    const offEngine = api.on('engine.state', (s) => {
      const prev = useStatus.getState().engine;
      useStatus.getState().setEngine(s);
      if (s.state === 'ready') {
        loadDoctor();
        if (prev === 'crashed' || prev === 'restarting') notify('Engine is back', 'Running jobs were stopped; start them again (training resumes from its last checkpoint).');
      } else if (s.state === 'crashed' && prev !== 'crashed') {
        reportError('Engine', { code: 'ENGINE_CRASHED', message: s.message ?? 'The engine stopped unexpectedly.', hint: 'It is being restarted; calls in flight failed and can be retried.' });
      }
    });
    const loadDoctor = () =>
      call('app.doctor', {}).then(
        (d) => useStatus.getState().setDoctor(d),
        (e: unknown) => useStatus.getState().setDoctorError(toErrorData(e)),
      );
    void loadDoctor();
    // Only the browser studio confines paths; a transport without the channel just shows nothing.
    call('app.access', {}).then(
      (a) => useStatus.getState().setAccess(a),
      () => undefined,
    );
    call('job.list', {}).then(
      (jobs) => {
        const st = useJobs.getState();
        for (const j of jobs) if (!st.jobs[j.id]) st.fromInfo(j);
      },
      (e: unknown) => reportError('Load jobs', e),
    );
    const onKey = (e: KeyboardEvent) => {
      const p = pageForKey(e);
      if (!p) return;
      e.preventDefault();
      useUi.getState().setPage(p);
    };
    window.addEventListener('keydown', onKey);
    // A file dropped outside a drop zone must not navigate the window away.
    const stop = (e: DragEvent) => e.preventDefault();
    window.addEventListener('dragover', stop);
    window.addEventListener('drop', stop);
    return () => {
      offJobs();
      offEngine();
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('dragover', stop);
      window.removeEventListener('drop', stop);
    };
  }, []);
}

export function App() {
  useShell();
  const page = useUi((s) => s.page);
  return (
    <div className="app">
      <Nav />
      <main className="main" data-page={page}>
        {page === 'data' ? <DataPage /> : null}
        {page === 'train' ? <TrainPage /> : null}
        {page === 'translate' ? <TranslatePage /> : null}
        {page === 'latent' ? <LatentPage /> : null}
        {page === 'explore' ? <ExplorePage /> : null}
        {page === 'models' ? <ModelsPage /> : null}
        {page === 'gallery' ? <GalleryPage /> : null}
      </main>
      <JobsStrip />
      <StatusBar />
      <Toasts />
      <Shortcuts />
    </div>
  );
}
