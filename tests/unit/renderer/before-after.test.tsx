import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { BeforeAfter } from '../../../src/renderer/src/components/BeforeAfter';

afterEach(cleanup);

const size = (el: HTMLElement) => [parseFloat(el.style.width), parseFloat(el.style.height)];

describe('BeforeAfter', () => {
  it('1:1 shows one image pixel per screen pixel; zoom steps go 100 -> 200 -> 400 %', () => {
    render(<BeforeAfter before="blob:a" after="blob:b" width={451} height={300} mode="side" />);
    fireEvent.click(screen.getByTestId('zoom-1to1'));
    expect(screen.getByTestId('zoom-level').textContent).toBe('100%');
    expect(size(screen.getByTestId('translate-output'))).toEqual([451, 300]);
    expect(size(screen.getByTestId('translate-input'))).toEqual([451, 300]);
    fireEvent.click(screen.getByLabelText('Zoom in'));
    fireEvent.click(screen.getByLabelText('Zoom in'));
    expect(screen.getByTestId('zoom-level').textContent).toBe('400%');
    expect(size(screen.getByTestId('translate-output'))).toEqual([1804, 1200]);
    // Drawn with nearest neighbour when enlarged.
    expect(screen.getByTestId('translate-output').className).toMatch(/pixelated/);
  });

  it('dragging pans both panes together', () => {
    render(<BeforeAfter before="blob:a" after="blob:b" width={100} height={80} mode="side" />);
    fireEvent.click(screen.getByTestId('zoom-1to1'));
    const out = screen.getByTestId('translate-output');
    const x0 = parseFloat(out.style.left);
    const y0 = parseFloat(out.style.top);
    fireEvent.pointerDown(screen.getByTestId('ba-after'), { clientX: 10, clientY: 10, pointerId: 1 });
    fireEvent.pointerMove(screen.getByTestId('ba-area'), { clientX: 50, clientY: 30, pointerId: 1 });
    fireEvent.pointerUp(screen.getByTestId('ba-area'), { pointerId: 1 });
    expect([parseFloat(out.style.left) - x0, parseFloat(out.style.top) - y0]).toEqual([40, 20]);
    expect(screen.getByTestId('translate-input').style.left).toBe(out.style.left);
  });

  it('compare: the split handle moves with the arrow keys and clips the output', () => {
    render(<BeforeAfter before="blob:a" after="blob:b" width={100} height={80} mode="compare" />);
    const h = screen.getByTestId('compare-handle');
    expect(h.getAttribute('aria-valuenow')).toBe('50');
    fireEvent.keyDown(h, { key: 'ArrowLeft' });
    expect(h.getAttribute('aria-valuenow')).toBe('48');
    fireEvent.keyDown(h, { key: 'End' });
    expect(h.getAttribute('aria-valuenow')).toBe('100');
  });

  it('shows the placeholder until the output is there', () => {
    render(<BeforeAfter before="blob:a" after={null} width={10} height={10} mode="side" placeholder="Translating…" />);
    expect(screen.queryByTestId('translate-output')).toBeNull();
    expect(screen.getByText('Translating…')).toBeTruthy();
  });
});
