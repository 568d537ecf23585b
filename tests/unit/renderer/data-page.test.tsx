import './match-media';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { DataPage } from '../../../src/renderer/src/pages/data/DataPage';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import { useUi } from '../../../src/renderer/src/store/ui';
import type { StudioApi } from '../../../src/shared/api';
import type { ValidationReport } from '../../../src/shared/channels/dataset';

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

function report(over: Partial<ValidationReport> = {}): ValidationReport {
  return {
    kind: 'paired',
    layout: 'folders',
    root: '/up/shoes',
    files: [
      { path: '/up/shoes/A/1.png', rel: 'A/1.png', verdict: 'ok', message: '', warnings: [], width: 32, height: 32, channels: 3, format: 'png', role: 'a' },
      { path: '/up/shoes/B/1.png', rel: 'B/1.png', verdict: 'ok', message: '', warnings: [], width: 32, height: 32, channels: 3, format: 'png', role: 'b' },
      { path: '/up/shoes/B/x.png', rel: 'B/x.png', verdict: 'error', issue: 'CORRUPT', message: 'Not a readable image (truncated PNG).', warnings: [] },
    ],
    counts: { files: 3, ok: 2, warnings: 0, errors: 1, items: 1, train: 1, test: 0 },
    pairs: { matched: 1, missingA: ['x'], missingB: [] },
    greyscale: false,
    size: { sizes: [{ width: 32, height: 32, count: 2 }], target: null, network: 'any', rule: 'any', ok: true, message: 'All images are 32x32.', suggestions: [32], needsResize: false },
    memory: { size: 32, channels: 3, batchSize: 1, batchBytes: 1, trainingBytes: 1e6, datasetBytes: 6e3, explanation: 'Small.' },
    problems: [],
    clean: false,
    importable: true,
    ...over,
  };
}

afterEach(() => {
  cleanup();
  setStudioForTests(null);
  useUi.setState({ toasts: [] });
});

describe('Data page', () => {
  it('shows the honest empty state when there are no datasets', async () => {
    setStudioForTests({ transport: 'browser', dataset: { list: () => ok([]) }, on: () => () => {}, pathsForFiles: async () => [] } as unknown as StudioApi);
    render(<DataPage />);
    expect((await screen.findByTestId('data-empty')).textContent).toContain('No datasets yet');
  });

  it('validates a dropped folder, shows the report and imports only with consent', async () => {
    const validate = vi.fn((_req: unknown) => ok(report()));
    const imp = vi.fn((_req: unknown) => ok({ jobId: 'imp-1' }));
    const pathsForFiles = vi.fn(async (files: File[], rel?: string[]) => files.map((_, i) => `/up/b1/${rel![i]}`));
    setStudioForTests({
      transport: 'browser',
      dataset: { list: () => ok([]), validate, import: imp, demo: () => ok({ jobId: 'd' }) },
      on: () => () => {},
      pathsForFiles,
    } as unknown as StudioApi);
    render(<DataPage />);
    await screen.findByTestId('data-empty');
    const mk = (name: string, rel: string) => Object.assign(new File(['x'], name, { type: 'image/png' }), { webkitRelativePath: rel });
    const input = screen.getByTestId('page-drop-folder-input') as HTMLInputElement;
    await act(async () => {
      fireEvent.change(input, { target: { files: [mk('1.png', 'shoes/A/1.png'), mk('1.png', 'shoes/B/1.png'), mk('x.png', 'shoes/B/x.png')] } });
    });
    await screen.findByTestId('validation-table');
    expect(pathsForFiles).toHaveBeenCalledWith(expect.any(Array), ['shoes/A/1.png', 'shoes/B/1.png', 'shoes/B/x.png']);
    // The folder itself is validated, with the kind guessed from its A/ B/ structure.
    expect(validate.mock.calls[0]![0]).toMatchObject({ kind: 'paired', path: '/up/b1/shoes' });
    const table = screen.getByTestId('validation-table');
    expect(table.textContent).toContain('B/x.png');
    expect(table.textContent).toContain('Not a readable image (truncated PNG).');
    // Only problems are listed first (the report is not clean).
    expect(table.querySelectorAll('tbody tr').length).toBe(1);
    const start = screen.getByTestId('import-start') as HTMLButtonElement;
    expect(start.disabled).toBe(true);
    fireEvent.click(screen.getByLabelText(/leave out 1 bad one/));
    expect(start.disabled).toBe(false);
    await act(async () => {
      fireEvent.click(start);
    });
    await waitFor(() => expect(imp).toHaveBeenCalled());
    expect(imp.mock.calls[0]![0]).toMatchObject({ kind: 'paired', path: '/up/b1/shoes', name: 'shoes', acceptPartial: true });
  });

  it('shows a failing validation inline with its hint', async () => {
    setStudioForTests({
      transport: 'browser',
      dataset: { list: () => ok([]), validate: () => Promise.resolve({ ok: false, error: { code: 'BAD_INPUT', message: 'No images in this folder.', hint: 'Drop a folder with PNG or JPEG files.' } }) },
      on: () => () => {},
      pathsForFiles: async (files: File[]) => files.map((f) => `/up/${f.name}`),
    } as unknown as StudioApi);
    render(<DataPage />);
    await screen.findByTestId('data-empty');
    await act(async () => {
      fireEvent.change(screen.getByTestId('page-drop-input'), { target: { files: [new File(['x'], 'notes.txt')] } });
    });
    const err = await screen.findByTestId('error-inline');
    expect(err.textContent).toContain('No images in this folder.');
    expect(err.textContent).toContain('Drop a folder with PNG or JPEG files.');
  });
});
