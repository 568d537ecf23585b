import { create } from 'zustand';
import { toErrorData, type ErrorData } from '../../../shared/errors';

export const PAGES = [
  { id: 'data', label: 'Data', key: '1' },
  { id: 'train', label: 'Train', key: '2' },
  { id: 'translate', label: 'Translate', key: '3' },
  { id: 'latent', label: 'Latent', key: '4' },
  { id: 'explore', label: 'Explore', key: '5' },
  { id: 'models', label: 'Models', key: '6' },
  { id: 'gallery', label: 'Gallery', key: '7' },
] as const;
export type PageId = (typeof PAGES)[number]['id'];

export interface Toast {
  id: number;
  kind: 'error' | 'info' | 'success';
  /** What the user was doing ("Import dataset"). */
  title: string;
  error?: ErrorData;
  text?: string;
}

interface UiState {
  page: PageId;
  toasts: Toast[];
  setPage(p: PageId): void;
  pushToast(t: Omit<Toast, 'id'>): number;
  dismiss(id: number): void;
}

let nextToast = 1;

export const useUi = create<UiState>((set) => ({
  page: 'data',
  toasts: [],
  setPage: (page) => set({ page }),
  pushToast: (t) => {
    const id = nextToast++;
    // Keep the newest five: errors are never dropped silently while fewer than that.
    set((s) => ({ toasts: [...s.toasts, { ...t, id }].slice(-5) }));
    return id;
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
}));

/** Report a failure as a toast: message + hint, details only through "Copy details". */
export function reportError(title: string, err: unknown): ErrorData {
  const error = toErrorData(err);
  useUi.getState().pushToast({ kind: 'error', title, error });
  return error;
}

export function notify(title: string, text?: string, kind: 'info' | 'success' = 'info'): void {
  const id = useUi.getState().pushToast({ kind, title, ...(text ? { text } : {}) });
  setTimeout(() => useUi.getState().dismiss(id), 5000);
}

/** The text "Copy details" puts on the clipboard. */
export function errorDetailsText(title: string, e: ErrorData): string {
  return [
    `Atelier error — ${title}`,
    `code: ${e.code}`,
    `message: ${e.message}`,
    ...(e.hint ? [`hint: ${e.hint}`] : []),
    ...(e.details ? ['details:', e.details] : []),
    `time: ${new Date().toISOString()}`,
  ].join('\n');
}
