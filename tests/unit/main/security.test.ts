import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CSP, isAllowedNavigation, resolveStudioPath, secureWebPreferences } from '../../../src/main/security';

describe('window security', () => {
  it('turns on isolation and the sandbox and off node and webviews', () => {
    const p = secureWebPreferences('/x/preload.cjs');
    expect(p).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false, webSecurity: true, nodeIntegrationInSubFrames: false });
  });
  it('has a strict CSP: no inline or remote scripts, no eval, no objects', () => {
    expect(CSP).toContain("script-src 'self'");
    expect(CSP).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|https?:/);
    expect(CSP).toContain("object-src 'none'");
  });
  it('allows navigation only inside the app', () => {
    expect(isAllowedNavigation('studio://app/index.html')).toBe(true);
    expect(isAllowedNavigation('https://example.com')).toBe(false);
    expect(isAllowedNavigation('file:///etc/passwd')).toBe(false);
    expect(isAllowedNavigation('studio://files/workspace/x')).toBe(false);
    expect(isAllowedNavigation('not a url')).toBe(false);
  });
});

describe('studio:// protocol paths', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-proto-'));
  const app = path.join(base, 'app');
  const ws = path.join(base, 'ws');
  fs.mkdirSync(path.join(app, 'assets'), { recursive: true });
  fs.mkdirSync(path.join(ws, 'runs'), { recursive: true });
  fs.writeFileSync(path.join(app, 'index.html'), 'x');
  fs.writeFileSync(path.join(app, 'assets', 'a.js'), 'x');
  fs.writeFileSync(path.join(ws, 'runs', 's.png'), 'x');
  fs.writeFileSync(path.join(base, 'secret.txt'), 'x');
  fs.symlinkSync(path.join(base, 'secret.txt'), path.join(ws, 'runs', 'link.png'));
  const roots = { app, workspace: ws };

  it('serves files inside the allowed roots', () => {
    expect(resolveStudioPath('studio://app/index.html', roots)).toBe(fs.realpathSync(path.join(app, 'index.html')));
    expect(resolveStudioPath('studio://app/assets/a.js', roots)).toBe(fs.realpathSync(path.join(app, 'assets', 'a.js')));
    expect(resolveStudioPath('studio://files/workspace/runs/s.png', roots)).toBe(fs.realpathSync(path.join(ws, 'runs', 's.png')));
  });
  it('refuses .., encoded .., absolute paths, unknown roots and symlinks out', () => {
    for (const u of [
      'studio://app/../secret.txt',
      'studio://app/%2e%2e/secret.txt',
      'studio://app/assets/..%2F..%2Fsecret.txt',
      'studio://files/workspace/..%2Fsecret.txt',
      'studio://files/workspace/runs/link.png',
      'studio://files/nope/x',
      'studio://files/workspace/%00',
      'studio://evil/index.html',
      'file:///etc/passwd',
      'studio://files/workspace//etc/passwd',
    ]) {
      expect(resolveStudioPath(u, roots), u).toBeNull();
    }
  });
});
