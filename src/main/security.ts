/**
 * Electron's security checklist in one place, as data and pure functions so unit tests can
 * prove each item without the Electron binary: window preferences, CSP, navigation and
 * window.open denial, permission denial, and the studio:// protocol's path rules.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * The one Content-Security-Policy, for the desktop window and for `atelier serve` (which has no
 * studio:// scheme: its images are blob: URLs).
 */
export function contentSecurityPolicy(opts: { studioScheme: boolean }): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob:${opts.studioScheme ? ' studio:' : ''}`,
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

export const CSP = contentSecurityPolicy({ studioScheme: true });

export function secureWebPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webviewTag: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    spellcheck: false,
  } as const;
}

/** Navigation is allowed only within the app itself. */
export function isAllowedNavigation(url: string, devUrl?: string): boolean {
  try {
    const u = new URL(url);
    if (u.protocol === 'studio:' && u.host === 'app') return true;
    if (devUrl && u.origin === new URL(devUrl).origin) return true;
  } catch {
    return false;
  }
  return false;
}

/**
 * Map a studio:// URL to a file. studio://app/<path> serves the renderer build; studio://files/
 * <root>/<path> serves images from allowed roots (workspace, shipped models/resources). Refuses
 * `..`, absolute paths, encoded escapes and symlinks that leave the root. Returns null if refused.
 */
export function resolveStudioPath(url: string, roots: Record<string, string>): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'studio:') return null;
  let rootName: string;
  let rel: string;
  let decoded: string;
  try {
    decoded = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  if (u.host === 'app') {
    rootName = 'app';
    rel = decoded;
  } else if (u.host === 'files') {
    const parts = decoded.replace(/^\/+/, '').split('/');
    rootName = parts.shift() ?? '';
    rel = parts.join('/');
  } else return null;
  const root = roots[rootName];
  if (!root) return null;
  const segments = rel.split(/[\\/]+/).filter(Boolean);
  if (segments.some((s) => s === '..' || s === '.')) return null;
  if (/^[A-Za-z]:/.test(segments[0] ?? '')) return null;
  const target = path.resolve(root, ...(segments.length ? segments : rootName === 'app' ? ['index.html'] : []));
  const relCheck = path.relative(root, target);
  if (relCheck.startsWith('..') || path.isAbsolute(relCheck)) return null;
  try {
    const realRoot = fs.realpathSync(root);
    const real = fs.realpathSync(target);
    const r2 = path.relative(realRoot, real);
    if (r2.startsWith('..') || path.isAbsolute(r2)) return null;
    return real;
  } catch {
    return null;
  }
}

export const STUDIO_MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};
