/**
 * The Train page's GPU memory estimate (MemoryEstimate.tsx): asked only while the engine trains on
 * webgpu, once per settled change; the verdict, the note, and "use batch N" / "use size S" that
 * set the options. The real estimate under serve on a software adapter: e2e/train-memory.test.ts.
 */
import './match-media';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryEstimate } from '../../../src/renderer/src/pages/train/MemoryEstimate';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import { useStatus } from '../../../src/renderer/src/store/status';
import type { StudioApi } from '../../../src/shared/api';
import type { DoctorReport } from '../../../src/shared/channels/app';
import type { TrainMemoryEstimate } from '../../../src/shared/channels/train';

const MiB = 2 ** 20;
const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

const tooBig: TrainMemoryEstimate = {
  checked: true,
  backend: 'webgpu',
  adapter: { vendor: 'acme', architecture: 'rdna9', isFallbackAdapter: false },
  size: 256,
  batch: 8,
  totalBytes: 900 * MiB,
  weightBytes: 0.5 * MiB,
  optimizerBytes: 9.5 * MiB,
  activationBytes: 890 * MiB,
  largest: { bytes: 300 * MiB, what: 'activation' },
  bufferLimitBytes: 128 * MiB,
  budget: null,
  note: 'WebGPU does not report how much memory this GPU has, so a run is checked only against its largest buffer (128 MiB), not in total.',
  fit: { ok: false, why: "its largest tensor (300 MiB) exceeds the adapter's largest buffer (128 MiB)", suggestion: 'Lower the batch size to 3 or less (--batch 3), or the image size to 128 (--size 128).', maxBatch: 3, maxSize: 128 },
};

function install(backend: DoctorReport['backend'], answer: TrainMemoryEstimate) {
  const estimate = vi.fn((_req: unknown) => ok(answer));
  setStudioForTests({ transport: 'browser', train: { estimate }, on: () => () => undefined } as unknown as StudioApi);
  useStatus.getState().setDoctor({ backend } as DoctorReport);
  return estimate;
}

afterEach(() => {
  cleanup();
  useStatus.setState({ doctor: null });
});

const request = { model: 'pix2pix', datasetId: 'd', options: { batchSize: 8, size: 256 } };

describe('MemoryEstimate', () => {
  it('on a CPU backend shows nothing and asks nothing', async () => {
    const estimate = install('wasm', tooBig);
    vi.useFakeTimers();
    try {
      const { container } = render(<MemoryEstimate request={request} onUse={() => undefined} />);
      // Well past the settle delay: a webgpu engine would have been asked by now.
      vi.advanceTimersByTime(5000);
      expect(estimate).not.toHaveBeenCalled();
      expect(container.innerHTML).toBe('');
    } finally {
      vi.useRealTimers();
    }
  });

  it('on webgpu shows the estimate, the verdict, the note, and one-click changes that fit', async () => {
    const estimate = install('webgpu', tooBig);
    const onUse = vi.fn();
    render(<MemoryEstimate request={request} onUse={onUse} />);
    await waitFor(() => expect(screen.getByTestId('train-memory').getAttribute('data-state')).toBe('too-big'));
    expect(estimate).toHaveBeenCalledTimes(1);
    expect(estimate.mock.calls[0]![0]).toEqual(request);
    expect(screen.getByTestId('train-memory-total').textContent).toBe('GPU memory: needs about 900 MiB at size 256, batch 8 — does not fit acme rdna9.');
    expect(screen.getByTestId('train-memory-parts').textContent).toBe('weights 0.50 MiB · gradients + optimizer 9.5 MiB · activations 890 MiB; largest buffer 300 MiB of 128 MiB');
    expect(screen.getByTestId('train-memory-note').textContent).toMatch(/^WebGPU does not report how much memory this GPU has/);
    fireEvent.click(screen.getByTestId('train-memory-use-batch'));
    expect(onUse).toHaveBeenLastCalledWith({ batchSize: 3 });
    expect(screen.getByTestId('train-memory-use-size').textContent).toBe('Use size 128 at batch 1');
    fireEvent.click(screen.getByTestId('train-memory-use-size'));
    expect(onUse).toHaveBeenLastCalledWith({ size: 128, batchSize: 1 });
  });

  it('shows an estimate it cannot make as a quiet line, not an error box', async () => {
    setStudioForTests({
      transport: 'browser',
      train: { estimate: () => Promise.resolve({ ok: false as const, error: { code: 'BAD_INPUT', message: 'Cannot build pix2pix with these options.' } }) },
      on: () => () => undefined,
    } as unknown as StudioApi);
    useStatus.getState().setDoctor({ backend: 'webgpu' } as DoctorReport);
    render(<MemoryEstimate request={request} onUse={() => undefined} />);
    await waitFor(() => expect(screen.getByTestId('train-memory').getAttribute('data-state')).toBe('error'));
    expect(screen.getByTestId('train-memory').textContent).toBe('GPU memory estimate unavailable: Cannot build pix2pix with these options.');
  });
});
