import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import { findElectronBinary } from '../../../src/main/engine/core/doctor';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const require = createRequire(import.meta.url);
const load = (testBuild: boolean) => {
  const p = path.join(ROOT, 'electron-builder.config.cjs');
  delete require.cache[p];
  const prev = process.env.ATELIER_TEST_BUILD;
  process.env.ATELIER_TEST_BUILD = testBuild ? '1' : '';
  try {
    return require(p) as Record<string, unknown> & {
      asarUnpack: string[];
      extraResources: { from: string; to: string }[];
      files: string[];
      electronFuses: Record<string, boolean>;
      npmRebuild: boolean;
      linux: { target: string[]; icon: string };
      mac: { target: string[] };
      win: { target: string[] };
      fileAssociations: { ext: string }[];
    };
  } finally {
    process.env.ATELIER_TEST_BUILD = prev ?? '';
  }
};
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies: Record<string, string>; allowScripts: Record<string, boolean>; scripts: Record<string, string> };

describe('installer configuration', () => {
  const cfg = load(false);
  it('unpacks every native module and the wasm binaries from the asar', () => {
    for (const m of ['sharp', '@img', 'onnxruntime-node', '@tensorflow/tfjs-node']) {
      expect(cfg.asarUnpack.some((g) => g.startsWith(`node_modules/${m}/`)), m).toBe(true);
    }
    expect(cfg.asarUnpack.some((g) => g.includes('tfjs-backend-wasm') && g.endsWith('.wasm'))).toBe(true);
    expect(cfg.asarUnpack).toContain('node_modules/webgpu/dist/**');
    expect(cfg.npmRebuild).toBe(false);
  });
  it("keeps only the target platform's Dawn (WebGPU) addon: macOS gets the universal one", () => {
    const dawn = cfg.files.filter((f) => f.includes('node_modules/webgpu/'));
    expect(dawn).toEqual(['!node_modules/webgpu/dist/**', 'node_modules/webgpu/dist/${platform}-${arch}/**']);
    expect((cfg.mac as unknown as { files: string[] }).files).toEqual(['node_modules/webgpu/dist/darwin-universal/**']);
    // Every folder the patterns can name exists in the installed package (the package's own naming).
    const dist = path.join(ROOT, 'node_modules', 'webgpu', 'dist');
    if (fs.existsSync(dist)) {
      for (const d of ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64', 'darwin-universal']) expect(fs.existsSync(path.join(dist, d, 'dawn.node')), d).toBe(true);
    }
  });
  it('ships the demo models and the demo dataset, and the built app only', () => {
    expect(cfg.extraResources.map((r) => r.from).sort()).toEqual(['models', 'resources']);
    expect(cfg.files).toContain('out/**');
    expect(cfg.files).toContain('!src/**');
    expect(fs.existsSync(path.join(ROOT, cfg.linux.icon))).toBe(true);
  });
  it('targets AppImage + deb, dmg and nsis, and associates model bundles', () => {
    expect(cfg.linux.target).toEqual(['AppImage', 'deb']);
    expect(cfg.mac.target).toEqual(['dmg']);
    expect(cfg.win.target).toEqual(['nsis']);
    expect(cfg.fileAssociations[0]!.ext).toBe('atelier');
  });
  it('flips the fuses in release builds and keeps only the inspector for the test build', () => {
    expect(cfg.electronFuses).toMatchObject({ runAsNode: false, enableNodeOptionsEnvironmentVariable: false, onlyLoadAppFromAsar: true, enableCookieEncryption: true, enableNodeCliInspectArguments: false });
    const t = load(true);
    expect(t.electronFuses).toMatchObject({ runAsNode: false, enableNodeOptionsEnvironmentVariable: false, onlyLoadAppFromAsar: true, enableCookieEncryption: true, enableNodeCliInspectArguments: true });
  });
  it('keeps runtime modules in dependencies (the packaged app has no devDependencies)', () => {
    for (const m of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node', 'sharp', 'zod']) expect(pkg.dependencies[m], m).toBeTruthy();
    expect(pkg.optionalDependencies['@tensorflow/tfjs-node']).toBeTruthy();
    expect(pkg.dependencies['@tensorflow/tfjs-backend-webgpu']).toBe(pkg.dependencies['@tensorflow/tfjs']);
    // Dawn is optional: a platform without its prebuilt addon still installs (and uses wasm).
    expect(pkg.optionalDependencies.webgpu).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.allowScripts).toMatchObject({ '@tensorflow/tfjs-node': true, sharp: true, 'onnxruntime-node': true, webgpu: true });
    expect(fs.readFileSync(path.join(ROOT, '.npmrc'), 'utf8')).toContain('onnxruntime-node-install=skip');
  });
  const bin = findElectronBinary();
  it.skipIf(!bin.binary)(bin.binary ? 'packs --dir with the local Electron and launches the packed app' : `packs --dir and launches (skipped: no Electron binary — ${bin.reason})`, async () => {
    const { execFileSync } = await import('node:child_process');
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'electron-builder', 'cli.js'), '--dir', '--config', 'electron-builder.config.cjs'], {
      cwd: ROOT,
      env: { ...process.env, ATELIER_TEST_BUILD: '1', ATELIER_ELECTRON_DIST: path.dirname(bin.path!) },
      stdio: 'inherit',
    });
    const unpacked = fs.readdirSync(path.join(ROOT, 'release')).find((d) => d.endsWith('-unpacked'));
    expect(unpacked).toBeTruthy();
    const exe = path.join(ROOT, 'release', unpacked!, process.platform === 'win32' ? 'Atelier.exe' : 'atelier');
    const { _electron } = await import('playwright-core');
    const app = await _electron.launch({ executablePath: exe, args: ['--no-sandbox'], env: { ...process.env, ATELIER_WORKSPACE: fs.mkdtempSync(path.join(ROOT, 'release', 'ws-')) } });
    try {
      const page = await app.firstWindow();
      await page.getByTestId('status-backend').waitFor({ timeout: 60_000 });
    } finally {
      await app.close();
    }
  }, 600_000);
});
