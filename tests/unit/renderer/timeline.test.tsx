import './match-media';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { Timeline } from '../../../src/renderer/src/pages/train/Timeline';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import type { StudioApi } from '../../../src/shared/api';
import type { RunTimeline, TimelineFrame } from '../../../src/shared/channels/train';

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 8]);
const frame = (step: number, checkpoint: boolean, flags: TimelineFrame['stats']['flags'] = []): TimelineFrame => ({
  step,
  png: PNG,
  width: 8,
  height: 8,
  rows: ['real_A', 'fake_B', 'real_B'],
  stats: { diversity: { fake_B: flags.length ? 0.1 : 0.8 }, diversityMin: flags.length ? 0.1 : 0.8, copy: 0.2, colourDrift: 0.01, flags },
  checkpoint,
});

afterEach(cleanup);

describe('Timeline', () => {
  it('scrubs through the frames, shows each frame\'s flags, promotes a kept checkpoint and not a pruned one', async () => {
    const promote = vi.fn((_req: unknown) => ok({ bundleId: 'r1-step-200', dir: '/b' }));
    const tl: RunTimeline = {
      runId: 'r1',
      pin: { mode: 'kmeans', count: 8 },
      indices: [1, 2, 3, 4, 5, 6, 7, 8],
      frames: [frame(100, false), frame(200, true, [{ kind: 'collapse', message: 'Outputs too similar: fake_B varies 10% as much' }]), frame(300, true)],
    };
    const timeline = vi.fn((_req: unknown) => ok(tl));
    setStudioForTests({ transport: 'browser', run: { timeline, promote }, on: () => () => undefined } as unknown as StudioApi);
    render(<Timeline runId="r1" />);
    // follows the newest frame first
    await waitFor(() => expect(screen.getByTestId('timeline-step').textContent).toBe('step 300'));
    expect(screen.getByTestId('timeline-pin').textContent).toContain('8 samples chosen for variety');
    expect(screen.getAllByTestId('timeline-tick').map((t) => t.className.includes('flagged'))).toEqual([false, true, false]);
    fireEvent.change(screen.getByTestId('timeline-scrub'), { target: { value: '1' } });
    expect(screen.getByTestId('timeline-step').textContent).toBe('step 200');
    expect(screen.getByTestId('timeline-flag').textContent).toContain('collapse');
    fireEvent.click(screen.getByTestId('timeline-promote'));
    await waitFor(() => expect(promote).toHaveBeenCalledWith({ runId: 'r1', step: 200 }));
    fireEvent.click(screen.getAllByTestId('timeline-tick')[0]!);
    expect(screen.getByTestId('timeline-step').textContent).toBe('step 100');
    expect((screen.getByTestId('timeline-promote') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId('timeline-ok')).toBeTruthy();
  });
});
