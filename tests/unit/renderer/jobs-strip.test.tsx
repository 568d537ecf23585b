import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { JobsStrip } from '../../../src/renderer/src/components/JobsStrip';
import { connectJobEvents, useJobs, waitForJob } from '../../../src/renderer/src/store/jobs';
import { useUi } from '../../../src/renderer/src/store/ui';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import type { StudioApi } from '../../../src/shared/api';
import type { JobInfo } from '../../../src/shared/channels/job';
import { fakeEvents } from './fake-events';

function fakeStudio() {
  const events = fakeEvents();
  const cancel = vi.fn(async (_req: { jobId: string }) => ({ ok: true as const, data: { cancelled: true } }));
  const api = {
    transport: 'browser',
    job: { cancel, list: async () => ({ ok: true, data: [] }) },
    app: {},
    on: events.on,
    pathsForFiles: async () => [],
  } as unknown as StudioApi;
  return { api, emit: events.emit, cancel };
}

const info = (over: Partial<JobInfo> = {}): JobInfo => ({ id: 'j1', kind: 'dataset.import', title: 'Import shoes', state: 'running', startedAt: Date.now(), step: 0, total: 0, ...over });

let off: (() => void) | null = null;
beforeEach(() => {
  useJobs.setState({ jobs: {}, losses: {}, samples: {} });
  useUi.setState({ toasts: [] });
});
afterEach(() => {
  off?.();
  cleanup();
  setStudioForTests(null);
});

describe('JobsStrip', () => {
  it('shows a started job, its progress and ETA, then its outcome', async () => {
    const f = fakeStudio();
    setStudioForTests(f.api);
    off = connectJobEvents(f.api.on.bind(f.api));
    render(<JobsStrip />);
    expect(screen.getByText('No running jobs')).toBeTruthy();
    f.emit('job.started', info());
    expect(screen.getByTestId('job-row').textContent).toContain('Import shoes');
    f.emit('job.progress', { jobId: 'j1', step: 25, total: 100, etaSec: 90, stepsPerSec: 12.5, message: 'reading files' });
    const row = screen.getByTestId('job-row');
    expect(row.textContent).toContain('25%');
    expect(row.textContent).toContain('ETA 1m 30s');
    expect(row.getAttribute('data-state')).toBe('running');
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('25');
    const result = waitForJob<{ imported: number }>('j1');
    f.emit('job.done', { jobId: 'j1', job: info({ state: 'done', step: 100, total: 100, endedAt: Date.now() }), result: { imported: 7 } });
    await expect(result).resolves.toEqual({ imported: 7 });
    expect(screen.getByTestId('job-row').getAttribute('data-state')).toBe('done');
    expect(screen.queryByTestId('job-cancel')).toBeNull();
  });

  it('cancels through job.cancel and shows the job as cancelled when the engine says so', async () => {
    const f = fakeStudio();
    setStudioForTests(f.api);
    off = connectJobEvents(f.api.on.bind(f.api));
    render(<JobsStrip />);
    f.emit('job.started', info({ id: 'train-1', kind: 'train', title: 'Train pix2pix' }));
    const waiting = waitForJob('train-1');
    await act(async () => {
      fireEvent.click(screen.getByTestId('job-cancel'));
    });
    expect(f.cancel).toHaveBeenCalledWith({ jobId: 'train-1' });
    f.emit('job.failed', {
      jobId: 'train-1',
      job: info({ id: 'train-1', state: 'cancelled', title: 'Train pix2pix' }),
      error: { code: 'CANCELLED', message: 'Train pix2pix was cancelled.' },
      cancelled: true,
    });
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(screen.getByTestId('job-row').getAttribute('data-state')).toBe('cancelled');
  });

  it('keeps a failed job visible with its message and reports a failing cancel as a toast', async () => {
    const f = fakeStudio();
    f.cancel.mockResolvedValueOnce({ ok: false, error: { code: 'NOT_FOUND', message: 'No job with id j1.', hint: 'It may have ended already.' } } as never);
    setStudioForTests(f.api);
    off = connectJobEvents(f.api.on.bind(f.api));
    render(<JobsStrip />);
    f.emit('job.started', info());
    await act(async () => {
      fireEvent.click(screen.getByTestId('job-cancel'));
    });
    expect(useUi.getState().toasts[0]?.error?.code).toBe('NOT_FOUND');
    f.emit('job.failed', { jobId: 'j1', job: info({ state: 'failed' }), error: { code: 'BAD_INPUT', message: 'No images in the folder.' }, cancelled: false });
    expect(screen.getByTestId('job-row').textContent).toContain('No images in the folder.');
  });

  it('records loss history per job for the charts', () => {
    const f = fakeStudio();
    off = connectJobEvents(f.api.on.bind(f.api));
    f.emit('job.started', info({ id: 't', kind: 'train' }));
    f.emit('job.progress', { jobId: 't', step: 1, total: 10, losses: { G: 1, D: 0.5 } });
    f.emit('job.progress', { jobId: 't', step: 2, total: 10, losses: { G: 0.8, D: 0.6, L1: 3 } });
    const h = useJobs.getState().losses.t!;
    expect(h.steps).toEqual([1, 2]);
    expect(h.series.G).toEqual([1, 0.8]);
    expect(h.series.L1).toEqual([NaN, 3]);
  });
});
