import './match-media';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { App, pageForKey } from '../../../src/renderer/src/App';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import { useUi } from '../../../src/renderer/src/store/ui';
import { useStatus } from '../../../src/renderer/src/store/status';
import type { StudioApi } from '../../../src/shared/api';
import { fakeEvents } from './fake-events';

/** A fake studio with only app.* and job.*: every other page must show its honest empty state. */
function fakeStudio() {
  const events = fakeEvents();
  const api = {
    transport: 'browser',
    app: {
      doctor: async () => ({ ok: true, data: { backend: 'wasm', backendReason: 'tfjs-node not installed', threads: 1, workspace: '/tmp/ws', appVersion: '0.1.0' } }),
      version: async () => ({ ok: true, data: { version: '0.1.0', name: 'Atelier' } }),
    },
    job: { list: async () => ({ ok: true, data: [] }), cancel: async () => ({ ok: true, data: { cancelled: true } }) },
    on: events.on,
    pathsForFiles: async () => [],
  } as unknown as StudioApi;
  return { api, emit: events.emit };
}

afterEach(() => {
  cleanup();
  setStudioForTests(null);
  useUi.setState({ page: 'data', toasts: [] });
  useStatus.setState({ doctor: null, doctorError: null, engine: 'starting', access: null });
});

describe('shell', () => {
  it('shows the backend from app.doctor and follows engine.state events', async () => {
    const f = fakeStudio();
    setStudioForTests(f.api);
    render(<App />);
    expect(await screen.findByText('backend wasm')).toBeTruthy();
    expect(screen.getByTestId('status-backend').textContent).toContain('wasm');
    f.emit('engine.state', { state: 'crashed', message: 'engine exited' });
    expect(screen.getByTestId('engine-state').textContent).toContain('crashed');
    expect(screen.getByTestId('engine-state').textContent).toContain('engine exited');
    // A crash is never silent: it also raises an error toast with a hint.
    expect(screen.getByTestId('toast-error').textContent).toContain('ENGINE_CRASHED');
    expect(screen.getByTestId('toast-error').textContent).toContain('engine exited');
  });

  it('shows the folders granted with --allow in the status bar when paths are confined', async () => {
    const f = fakeStudio();
    (f.api.app as unknown as Record<string, unknown>).access = async () => ({
      ok: true,
      data: { confined: true, roots: [{ dir: '/tmp/ws', access: 'readwrite', label: 'workspace' }, { dir: '/data/photos', access: 'readwrite', label: 'granted' }] },
    });
    setStudioForTests(f.api);
    render(<App />);
    const el = await screen.findByTestId('status-access');
    expect(el.textContent).toContain('/data/photos');
    expect(el.getAttribute('title')).toContain('/tmp/ws (workspace, read and write)');
  });

  it('shows no path note where paths are not confined (no app.access, as in the desktop app)', async () => {
    const f = fakeStudio();
    setStudioForTests(f.api);
    render(<App />);
    expect(await screen.findByText('backend wasm')).toBeTruthy();
    expect(screen.queryByTestId('status-access')).toBeNull();
  });

  it('switches pages with 1-7 and Ctrl+1..7 but not while typing', async () => {
    const f = fakeStudio();
    setStudioForTests(f.api);
    render(<App />);
    fireEvent.keyDown(window, { key: '3' });
    expect(screen.getByTestId('page-translate')).toBeTruthy();
    fireEvent.keyDown(window, { key: '6', ctrlKey: true });
    expect(screen.getByTestId('page-models')).toBeTruthy();
    const input = document.createElement('input');
    document.body.appendChild(input);
    expect(pageForKey({ key: '2', ctrlKey: false, metaKey: false, altKey: false, target: input })).toBeNull();
    expect(pageForKey({ key: '2', ctrlKey: true, metaKey: false, altKey: false, target: input })).toBe('train');
    expect(pageForKey({ key: '7', ctrlKey: false, metaKey: false, altKey: false, target: document.body })).toBe('gallery');
    expect(pageForKey({ key: '8', ctrlKey: false, metaKey: false, altKey: false, target: document.body })).toBeNull();
    input.remove();
  });

  it('lists the keyboard shortcuts on ? and hides them on Escape', () => {
    const f = fakeStudio();
    setStudioForTests(f.api);
    render(<App />);
    fireEvent.keyDown(window, { key: '?' });
    expect(screen.getByTestId('shortcuts').textContent).toContain('New sample');
    fireEvent.keyDown(window, { key: 'Escape' });
    expect(screen.queryByTestId('shortcuts')).toBeNull();
  });

  it('gives every page an honest empty state when its channels are missing', () => {
    const f = fakeStudio();
    setStudioForTests(f.api);
    render(<App />);
    for (const id of ['data', 'train', 'translate', 'latent', 'explore', 'models']) {
      fireEvent.click(screen.getByTestId(`nav-${id}`));
      expect(screen.getByTestId(`page-${id}`)).toBeTruthy();
      expect(screen.getByTestId('missing-channels').textContent).toContain('not available in this build');
    }
  });
});
