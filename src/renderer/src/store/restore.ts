/**
 * A restore handed from one page to another (the Gallery's "Reuse settings" opens Translate or
 * Latent with the image's provenance): the target page takes it once when it mounts.
 */
import { create } from 'zustand';
import type { ProvenanceCheck } from '../../../shared/channels/provenance';

export interface PendingRestore {
  page: 'translate' | 'latent';
  check: ProvenanceCheck;
  nonce: number;
}

interface RestoreState {
  pending: PendingRestore | null;
  hand(page: PendingRestore['page'], check: ProvenanceCheck): void;
  take(page: PendingRestore['page']): PendingRestore | null;
}

let nonce = 1;

export const useRestore = create<RestoreState>((set, get) => ({
  pending: null,
  hand: (page, check) => set({ pending: { page, check, nonce: nonce++ } }),
  take: (page) => {
    const p = get().pending;
    if (!p || p.page !== page) return null;
    set({ pending: null });
    return p;
  },
}));
