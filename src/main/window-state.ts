/** Remembers the window's size, position and maximised state between launches (atomic write). */
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserWindow } from 'electron';
import { writeFileAtomicSync } from './engine/core/fsutil';

export interface WindowState {
  bounds: { width: number; height: number; x?: number; y?: number };
  maximized: boolean;
}

const DEFAULT: WindowState = { bounds: { width: 1360, height: 860 }, maximized: false };

export function loadWindowState(dir: string): WindowState {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(dir, 'window-state.json'), 'utf8')) as WindowState;
    const b = s.bounds;
    if (!b || !(b.width >= 400 && b.width <= 20000 && b.height >= 300 && b.height <= 20000)) return DEFAULT;
    return { bounds: b, maximized: !!s.maximized };
  } catch {
    return DEFAULT;
  }
}

export function trackWindowState(win: BrowserWindow, dir: string): void {
  let timer: NodeJS.Timeout | null = null;
  const save = () => {
    if (win.isDestroyed()) return;
    const state: WindowState = { bounds: win.getNormalBounds(), maximized: win.isMaximized() };
    try {
      writeFileAtomicSync(path.join(dir, 'window-state.json'), JSON.stringify(state));
    } catch {
      // Losing the window position is not worth an error dialog.
    }
  };
  const soon = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, 400);
  };
  win.on('resize', soon);
  win.on('move', soon);
  win.on('close', save);
}
