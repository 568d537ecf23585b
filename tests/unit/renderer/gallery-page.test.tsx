/**
 * The Gallery at thousands: a workspace index of 3,000 stamped outputs opens with one page of the
 * index and a screenful of thumbnails, and scrolling far down asks only for the pages and
 * thumbnails of the rows in view. Counts DOM nodes and requests, never time.
 */
import './match-media';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { GalleryPage, visibleRange } from '../../../src/renderer/src/pages/gallery/GalleryPage';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import type { StudioApi } from '../../../src/shared/api';
import type { GalleryItem } from '../../../src/shared/channels/gallery';

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });
const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
const TOTAL = 3000;
const item = (i: number): GalleryItem => ({ id: `g${i}`, file: `out/${i}.png`, name: `${i}.png`, op: 'translate', model: { id: 'facades', kind: 'pix2pix' }, createdAt: '2026-12-06T00:00:00.000Z', width: 32, height: 32, origin: 'folder' });

// jsdom has no layout: the scroller is 600 x 480 (5 columns of 115.2 px, rows of 121.2 px, 4 in view).
const size = { clientWidth: 600, clientHeight: 480 };
const saved: Record<string, PropertyDescriptor | undefined> = {};
beforeEach(() => {
  for (const [k, v] of Object.entries(size)) {
    saved[k] = Object.getOwnPropertyDescriptor(HTMLElement.prototype, k);
    Object.defineProperty(HTMLElement.prototype, k, { configurable: true, get: () => v });
  }
});
afterEach(() => {
  cleanup();
  setStudioForTests(null);
  for (const k of Object.keys(size)) if (saved[k]) Object.defineProperty(HTMLElement.prototype, k, saved[k]!);
});

describe('Gallery with thousands of outputs', () => {
  it('the visible range follows the width and the scroll offset', () => {
    expect(visibleRange({ width: 600, height: 480, scrollTop: 0, total: TOTAL })).toMatchObject({ cols: 5, first: 0, last: 34 });
    const far = visibleRange({ width: 600, height: 480, scrollTop: 400 * 121.2 + 1, total: TOTAL });
    expect(far.first).toBe(398 * 5);
    expect(visibleRange({ width: 600, height: 480, scrollTop: 1e9, total: TOTAL }).last).toBe(TOTAL - 1);
    expect(visibleRange({ width: 600, height: 480, scrollTop: 0, total: 0 }).last).toBe(-1);
  });

  it('opens and scrolls 3,000 items without loading them all', async () => {
    const lists: number[] = [];
    const thumbs = new Set<string>();
    setStudioForTests({
      transport: 'browser',
      gallery: {
        list: (q: { offset: number; limit: number }) => {
          lists.push(q.offset);
          const items = Array.from({ length: Math.max(0, Math.min(q.limit, TOTAL - q.offset)) }, (_, k) => item(q.offset + k));
          return ok({ items, total: TOTAL, models: ['facades'], kinds: ['pix2pix'], ops: ['translate'] });
        },
        thumb: (q: { id: string }) => {
          thumbs.add(q.id);
          return ok({ png: PNG, width: 32, height: 32 });
        },
        get: () => ok({ png: PNG, provenance: null }),
      },
      on: () => () => {},
      pathsForFiles: async () => [],
    } as unknown as StudioApi);
    render(<GalleryPage />);
    await waitFor(() => expect(screen.getAllByTestId('gallery-item').length).toBeGreaterThan(0));
    expect(screen.getByTestId('gallery-count').textContent).toMatch(/3000 items/);
    // One screenful (plus overscan): a few dozen nodes, one page of the index.
    const first = screen.getAllByTestId('gallery-item');
    expect(first.length).toBeLessThanOrEqual(50);
    expect(first[0]!.getAttribute('title')).toMatch(/^0\.png/);
    expect(lists).toEqual([0]);
    await waitFor(() => expect(thumbs.size).toBe(first.length));

    // Scroll two thirds of the way down (row 400): the page of those rows arrives, nothing in between.
    const scroller = screen.getByTestId('gallery-scroller');
    await act(async () => {
      scroller.scrollTop = 400 * 121.2 + 1;
      fireEvent.scroll(scroller);
    });
    await waitFor(() => expect(screen.getAllByTestId('gallery-item')[0]!.getAttribute('title')).toMatch(/^1990\.png/));
    expect(screen.getAllByTestId('gallery-item').length).toBeLessThanOrEqual(50);
    expect(screen.queryAllByTestId('gallery-slot')).toHaveLength(0);
    expect([...lists].sort((a, b) => a - b)).toEqual([0, 1980]);
    await waitFor(() => expect(thumbs.has('g1990')).toBe(true));
    expect(thumbs.size).toBeLessThanOrEqual(80);
    expect(thumbs.has('g1000')).toBe(false);
  });
});
