import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { Toasts, ErrorInline } from '../../../src/renderer/src/components/Toasts';
import { reportError, useUi } from '../../../src/renderer/src/store/ui';
import { StudioError } from '../../../src/shared/errors';

afterEach(() => {
  cleanup();
  useUi.setState({ toasts: [] });
});

describe('error toasts', () => {
  it('shows message and hint, never the details, and copies details to the clipboard', async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    render(<Toasts />);
    act(() => {
      reportError('Import “shoes”', new StudioError('BAD_INPUT', 'The folder has no images.', { hint: 'Drop a folder with PNG or JPEG files.', details: 'at scan (data/scan.ts:42)' }));
    });
    const toast = screen.getByTestId('toast-error');
    expect(toast.textContent).toContain('Import “shoes”');
    expect(toast.textContent).toContain('The folder has no images.');
    expect(toast.textContent).toContain('Drop a folder with PNG or JPEG files.');
    expect(toast.textContent).not.toContain('scan.ts:42');
    await act(async () => {
      fireEvent.click(screen.getByTestId('copy-details'));
    });
    expect(writeText).toHaveBeenCalledTimes(1);
    const copied = (writeText.mock.calls[0] as unknown as [string])[0];
    expect(copied).toContain('code: BAD_INPUT');
    expect(copied).toContain('hint: Drop a folder with PNG or JPEG files.');
    expect(copied).toContain('at scan (data/scan.ts:42)');
    expect(screen.getByTestId('copy-details').textContent).toContain('Copied');
  });

  it('turns an unknown thrown error into an INTERNAL toast without showing its stack', () => {
    render(<Toasts />);
    const err = new TypeError('x is undefined');
    act(() => {
      reportError('Train', err);
    });
    const toast = screen.getByTestId('toast-error');
    expect(toast.textContent).toContain('INTERNAL');
    expect(toast.textContent).toContain('x is undefined');
    expect(toast.textContent).not.toContain('at ');
  });

  it('can be dismissed', () => {
    render(<Toasts />);
    act(() => {
      reportError('Delete', new StudioError('NOT_FOUND', 'No dataset foo.'));
    });
    fireEvent.click(screen.getByLabelText('Dismiss'));
    expect(screen.queryByTestId('toast-error')).toBeNull();
  });

  it('says so when the clipboard is unavailable', async () => {
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: () => Promise.reject(new Error('denied')) }, configurable: true });
    render(<ErrorInline title="Validate" error={{ code: 'BAD_INPUT', message: 'Bad.', details: 'd' }} />);
    await act(async () => {
      fireEvent.click(screen.getByTestId('copy-details'));
    });
    expect(screen.getByTestId('copy-details').textContent).toContain('Clipboard unavailable');
  });
});
