import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { CompareSlider } from '../../../src/renderer/src/components/CompareSlider';

afterEach(cleanup);

function rect(el: HTMLElement, left: number, width: number) {
  el.getBoundingClientRect = () => ({ left, width, top: 0, height: width, right: left + width, bottom: width, x: left, y: 0, toJSON: () => ({}) }) as DOMRect;
}

describe('CompareSlider', () => {
  it('starts at the initial split and clips the after image there', () => {
    render(<CompareSlider before="blob:a" after="blob:b" initial={30} />);
    expect(screen.getByTestId('compare-after').style.clipPath).toBe('inset(0 0 0 30%)');
    expect(screen.getByTestId('compare-handle').getAttribute('aria-valuenow')).toBe('30');
  });

  it('follows pointer drags, clamped to 0..100', () => {
    const onChange = vi.fn();
    render(<CompareSlider before="blob:a" after="blob:b" onChange={onChange} />);
    const box = screen.getByTestId('compare');
    rect(box, 100, 200);
    fireEvent.pointerDown(box, { clientX: 150, pointerId: 1 });
    expect(screen.getByTestId('compare-handle').style.left).toBe('25%');
    fireEvent.pointerMove(box, { clientX: 1000, pointerId: 1 });
    expect(screen.getByTestId('compare-handle').style.left).toBe('100%');
    fireEvent.pointerUp(box, { pointerId: 1 });
    fireEvent.pointerMove(box, { clientX: 120, pointerId: 1 });
    expect(screen.getByTestId('compare-handle').style.left).toBe('100%'); // no drag after pointer up
    expect(onChange).toHaveBeenLastCalledWith(100);
  });

  it('moves with the keyboard', () => {
    render(<CompareSlider before="blob:a" after="blob:b" />);
    const handle = screen.getByTestId('compare-handle');
    fireEvent.keyDown(handle, { key: 'ArrowRight' });
    expect(handle.getAttribute('aria-valuenow')).toBe('52');
    fireEvent.keyDown(handle, { key: 'ArrowLeft', shiftKey: true });
    expect(handle.getAttribute('aria-valuenow')).toBe('42');
    fireEvent.keyDown(handle, { key: 'Home' });
    expect(handle.getAttribute('aria-valuenow')).toBe('0');
    fireEvent.keyDown(handle, { key: 'End' });
    expect(screen.getByTestId('compare-after').style.clipPath).toBe('inset(0 0 0 100%)');
  });
});
