import './match-media';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { otherMetricKeys, Scoreboard } from '../../../src/renderer/src/pages/train/Scoreboard';
import { connectJobEvents, useJobs } from '../../../src/renderer/src/store/jobs';
import { useUi } from '../../../src/renderer/src/store/ui';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import type { StudioApi } from '../../../src/shared/api';
import type { JobInfo } from '../../../src/shared/channels/job';
import type { EventMap, EventName } from '../../../src/shared/events';
import type { Scoreboard as Board, ScoreboardRow } from '../../../src/shared/channels/scoreboard';

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

const row = (step: number, l1: number): ScoreboardRow => ({
  step,
  metrics: [
    { key: 'l1', label: 'L1 (translation vs target)', value: l1, better: 'lower' },
    { key: 'ssim', label: 'SSIM (translation vs target)', value: 1 - l1, better: 'higher' },
    { key: 'baselineInput.l1', label: 'L1, baseline: the input itself', value: 0.5, better: 'none' },
  ],
  key: { name: 'l1', value: l1, higherIsBetter: false },
  evaluatedAt: 0,
});
const board = (over: Partial<Board> = {}): Board => ({
  runId: 'r1',
  model: 'pix2pix',
  datasetId: 'd',
  split: 'test',
  limit: 64,
  rows: [row(100, 0.3), row(200, 0.1), row(300, 0.2)],
  bestStep: 200,
  alarm: null,
  cached: 3,
  evaluated: 0,
  ...over,
});

type Cb = (p: unknown) => void;
const listeners = new Map<string, Set<Cb>>();
const on = (event: string, cb: Cb) => {
  const set = listeners.get(event) ?? new Set<Cb>();
  listeners.set(event, set);
  set.add(cb);
  return () => set.delete(cb);
};
const emit = <E extends EventName>(e: E, p: EventMap[E]) => act(() => listeners.get(e)?.forEach((cb) => cb(p)));
let off: (() => void) | null = null;

let promote: ReturnType<typeof vi.fn>;
let scoreboard: ReturnType<typeof vi.fn>;

function install(cached: Board) {
  promote = vi.fn((_req: unknown) => ok({ bundleId: 'r1-step-100', dir: '/b' }));
  scoreboard = vi.fn((_req: unknown) => ok({ jobId: 'sj' }));
  setStudioForTests({
    transport: 'browser',
    run: { scores: () => ok(cached), scoreboard, promote },
    on,
  } as unknown as StudioApi);
}

const info = (over: Partial<JobInfo> = {}): JobInfo => ({
  id: 'sj',
  kind: 'run.scoreboard',
  title: 'Score',
  state: 'running',
  startedAt: 0,
  step: 0,
  total: 100,
  ...over,
});

beforeEach(() => {
  useJobs.setState({ jobs: {}, losses: {}, samples: {} });
  useUi.setState({ toasts: [] });
  off = connectJobEvents(on as never);
});
afterEach(() => {
  off?.();
  off = null;
  cleanup();
});

describe('Scoreboard panel', () => {
  it('lists the checkpoints with the best one marked and promotes any row by step', async () => {
    install(board());
    render(<Scoreboard runId="r1" />);
    const best = await screen.findByTestId('score-row-best');
    expect(within(best).getByTestId('score-best')).toBeTruthy();
    expect(best.textContent).toContain('200');
    expect(screen.getAllByTestId('score-row')).toHaveLength(2);
    // key metric header + the directed metric (SSIM) as a column; baselines only in tooltips
    const head = screen.getByTestId('score-table').querySelector('thead')!.textContent!;
    expect(head).toContain('L1 (translation vs target) ↓');
    expect(head).toContain('SSIM');
    expect(head).not.toContain('baseline');
    expect(screen.queryByTestId('score-alarm')).toBeNull();

    const first = screen.getAllByTestId('score-row')[0]!;
    fireEvent.click(within(first).getByTestId('score-promote'));
    await waitFor(() => expect(promote).toHaveBeenCalledWith({ runId: 'r1', step: 100 }));
    await waitFor(() => expect(useUi.getState().toasts.some((t) => /r1-step-100/.test(JSON.stringify(t)))).toBe(true));
  });

  it('shows the collapse alarm with its hint', async () => {
    install(
      board({
        model: 'cyclegan',
        alarm: { kind: 'collapse', step: 300, message: 'Outputs look collapsed/inverted: transfer 3%', hint: 'Try identity loss lambdaIdentity 0.5' },
      }),
    );
    render(<Scoreboard runId="r1" />);
    const alarm = await screen.findByTestId('score-alarm');
    expect(alarm.textContent).toContain('Outputs look collapsed/inverted');
    expect(alarm.textContent).toContain('lambdaIdentity 0.5');
  });

  it('"Evaluate checkpoints" starts the job, shows its progress and then its rows', async () => {
    install(board({ rows: [], bestStep: null, cached: 0 }));
    render(<Scoreboard runId="r1" />);
    await screen.findByText(/No checkpoint scored yet/);
    fireEvent.click(screen.getByTestId('score-evaluate'));
    await waitFor(() => expect(scoreboard).toHaveBeenCalledWith({ runId: 'r1' }));
    emit('job.progress', { jobId: 'sj', step: 40, total: 100, message: 'checkpoint 200: translating' });
    expect((await screen.findByTestId('score-progress')).textContent).toContain('checkpoint 200: translating');
    emit('job.done', {
      jobId: 'sj',
      job: info({ state: 'done', step: 100 }),
      result: board({ rows: [row(100, 0.4), row(200, 0.2)], bestStep: 200, evaluated: 2, cached: 0 }),
    });
    const best = await screen.findByTestId('score-row-best');
    expect(best.textContent).toContain('200');
    expect(screen.queryByTestId('score-progress')).toBeNull();
  });

  it('other metric columns skip the key and the baselines', () => {
    expect(otherMetricKeys([row(1, 0.1)])).toEqual(['ssim']);
  });
});
