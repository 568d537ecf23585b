import './match-media';
import { afterEach, describe, expect, it } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { LatentPage } from '../../../src/renderer/src/pages/latent/LatentPage';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import type { StudioApi } from '../../../src/shared/api';

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });
const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

afterEach(() => {
  cleanup();
  setStudioForTests(null);
});

describe('Latent page live rendering', () => {
  it('keeps one render in flight while a slider moves and ends on the newest value', async () => {
    const calls: { req: { pca?: { amounts: number[] } }; resolve: () => void }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    setStudioForTests({
      transport: 'browser',
      bundle: { list: () => ok([{ id: 'g', name: 'gan', kind: 'gan', capabilities: { data: 'images', generate: { latent: 2, network: 'G' }, metrics: { suite: 'generated', key: { name: 'fdFashionCnn', higherIsBetter: false } } }, imageSize: 32, channels: 1, latentSize: 2, location: 'workspace', dir: '/b/g', onnx: null, hasTfjs: true }]) },
      latent: {
        sample: () => ok({ z: [[0.1, -0.2]], latentSize: 2 }),
        directions: () => ok({ directions: [[1, 0], [0, 1]], sigma: [1, 1], explainedVarianceRatio: [0.7, 0.3], space: 'output', samples: 64 }),
        render: (req: { pca?: { amounts: number[] } }) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          return new Promise((res) =>
            calls.push({
              req,
              resolve: () => {
                inFlight--;
                res({ ok: true, data: { png: PNG, width: 32, height: 32, z: [0, 0], ms: 3 } });
              },
            }),
          );
        },
        interpolate: () => ok({ frames: [], z: [] }),
      },
      on: () => () => {},
      pathsForFiles: async () => [],
    } as unknown as StudioApi);
    render(<LatentPage />);
    // First frame for the seed.
    await waitFor(() => expect(calls.length).toBe(1));
    await act(async () => calls[0]!.resolve());
    const thumb = await screen.findByRole('slider', { name: 'PC1' });
    // The directions arrive: they change nothing until a slider moves (amounts are 0) ...
    // Each key press is its own event (and render), as in a browser.
    const press = async (n: number) => {
      for (let i = 0; i < n; i++) await act(async () => fireEvent.keyDown(thumb, { key: 'ArrowRight' }));
    };
    await press(15);
    // ... then one request goes out for the move, and no more while it runs.
    await waitFor(() => expect(calls.length).toBe(2));
    await press(10);
    await act(async () => new Promise((r) => setTimeout(r, 80)));
    expect(calls.length).toBe(2);
    expect(inFlight).toBe(1);
    await act(async () => calls[1]!.resolve());
    // When it returns, exactly one request with the newest value (25 steps of 0.05).
    await waitFor(() => expect(calls.length).toBe(3));
    expect(calls[2]!.req.pca?.amounts[0]).toBeCloseTo(25 * 0.05);
    await act(async () => calls[2]!.resolve());
    await act(async () => new Promise((r) => setTimeout(r, 80)));
    expect(calls.length).toBe(3);
    expect(maxInFlight).toBe(1);
    expect(screen.getByTestId('latent-image')).toBeTruthy();
  });
});
