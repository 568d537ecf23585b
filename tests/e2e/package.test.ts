/**
 * The package itself, without Electron's real binary: electron-builder --dir with a stub Electron
 * dist (ATELIER_ELECTRON_DIST, so nothing is downloaded), then app.asar opened with @electron/asar.
 * Checks what electron-builder.config.cjs promises: the built app inside the asar, every native
 * module (.node) unpacked, the demo models and data in resources/, and the fuses flipped.
 * Here (the e2e project) because it packs out/, which the e2e global setup builds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as asar from '@electron/asar';
import { FuseState, FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { ROOT } from './harness';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** The fuses as docs/SECURITY.md states them for a release build (not ATELIER_TEST_BUILD). */
const RELEASE_FUSES: [FuseV1Options, FuseState][] = [
  [FuseV1Options.RunAsNode, FuseState.DISABLE],
  [FuseV1Options.EnableCookieEncryption, FuseState.ENABLE],
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable, FuseState.DISABLE],
  [FuseV1Options.EnableNodeCliInspectArguments, FuseState.DISABLE],
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation, FuseState.ENABLE],
  [FuseV1Options.OnlyLoadAppFromAsar, FuseState.ENABLE],
  [FuseV1Options.GrantFileProtocolExtraPrivileges, FuseState.DISABLE],
];

/**
 * An unpacked "Electron" whose executable is a shell script carrying a fuse wire (the sentinel,
 * version 1, length, one byte per fuse) like the real binary. Every fuse starts at the opposite of
 * its release value, so each one the test reads back was flipped by electron-builder.
 */
function stubDist(dir: string): void {
  const wire = Array.from({ length: 9 }, (_, i) => {
    const want = RELEASE_FUSES.find(([f]) => f === i)?.[1];
    return want === FuseState.ENABLE ? FuseState.DISABLE : FuseState.ENABLE;
  });
  const exe = Buffer.concat([Buffer.from(`#!/bin/sh\n# fuse wire: ${SENTINEL}`), Buffer.from([1, wire.length, ...wire]), Buffer.from('\nexit 0\n')]);
  fs.writeFileSync(path.join(dir, 'electron'), exe, { mode: 0o755 });
  fs.writeFileSync(
    path.join(dir, 'version'),
    (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version,
  );
}

function filesUnder(dir: string, base = dir): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]));
}

const linux = process.platform === 'linux';

describe.skipIf(!linux)(
  linux ? 'electron-builder --dir with a stub Electron' : "electron-builder --dir (skipped: the stub Electron dist has Linux's layout)",
  () => {
    let tmp = '';
    let app = '';
    let archive = '';
    let listing: string[] = [];

    beforeAll(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-pack-'));
      const dist = path.join(tmp, 'electron-dist');
      fs.mkdirSync(dist);
      stubDist(dist);
      const env: NodeJS.ProcessEnv = { ...process.env, ATELIER_ELECTRON_DIST: dist };
      delete env.ATELIER_TEST_BUILD;
      delete env.ELECTRON_OVERRIDE_DIST_PATH;
      execFileSync(
        process.execPath,
        [
          path.join(ROOT, 'node_modules', 'electron-builder', 'cli.js'),
          '--dir',
          '--config',
          'electron-builder.config.cjs',
          `-c.directories.output=${path.join(tmp, 'release')}`,
        ],
        {
          cwd: ROOT,
          env,
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      app = path.join(tmp, 'release', 'linux-unpacked');
      archive = path.join(app, 'resources', 'app.asar');
      listing = asar.listPackage(archive, { isPack: false });
    }, 180_000);
    afterAll(() => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('puts the built main, engine host, preload and renderer in app.asar, and no sources or tests', () => {
      for (const f of ['/out/main/index.js', '/out/main/engine-host.js', '/out/preload/index.cjs', '/out/renderer/index.html', '/package.json'])
        expect(listing, f).toContain(f);
      expect(listing.some((f) => /^\/out\/renderer\/assets\/index-.*\.js$/.test(f))).toBe(true);
      // The packed main is byte-for-byte the build.
      expect(asar.extractFile(archive, 'out/main/index.js').equals(fs.readFileSync(path.join(ROOT, 'out', 'main', 'index.js')))).toBe(true);
      const pkg = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8')) as { main: string };
      expect(pkg.main).toBe('out/main/index.js');
      expect(listing.filter((f) => /^\/(src|tests|scripts|docs)\//.test(f))).toEqual([]);
      expect(listing.filter((f) => f.endsWith('.map'))).toEqual([]);
    });

    it("unpacks sharp, @img, onnxruntime-node (this platform's binding only) and every other .node file, and the wasm binaries", () => {
      const native = listing.filter((f) => f.endsWith('.node'));
      // sharp's addon and libvips live in @img/sharp-<platform>; sharp itself is JS beside them.
      const mustHave = ['@img', 'onnxruntime-node'];
      // tfjs-node is optional (its install downloads libtensorflow); check it wherever it installed.
      if (fs.existsSync(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node'))) mustHave.push('@tensorflow/tfjs-node');
      for (const m of mustHave)
        expect(
          native.some((f) => f.startsWith(`/node_modules/${m}/`)),
          `${m} has a .node file in the package`,
        ).toBe(true);
      // onnxruntime-node: this platform's binding only (the others are ~110 MB of dead weight).
      const ort = native.filter((f) => f.startsWith('/node_modules/onnxruntime-node/'));
      expect(ort).toEqual([`/node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`]);
      // Dawn (WebGPU): this platform's addon only (all five are ~133 MB).
      if (fs.existsSync(path.join(ROOT, 'node_modules', 'webgpu'))) {
        expect(native.filter((f) => f.startsWith('/node_modules/webgpu/'))).toEqual([`/node_modules/webgpu/dist/${process.platform}-${process.arch}/dawn.node`]);
      }
      const wasm = listing.filter((f) => f.startsWith('/node_modules/@tensorflow/tfjs-backend-wasm/dist/') && f.endsWith('.wasm'));
      expect(wasm.length).toBeGreaterThan(0);
      for (const f of [...native, ...wasm]) {
        expect((asar.statFile(archive, f.slice(1)) as { unpacked?: boolean }).unpacked, `${f} is unpacked`).toBe(true);
        expect(fs.statSync(path.join(`${archive}.unpacked`, f)).size, `${f} is on disk`).toBeGreaterThan(0);
      }
      // The whole of each native package is unpacked, not only its .node files.
      for (const f of ['node_modules/sharp/package.json', 'node_modules/onnxruntime-node/package.json'])
        expect(fs.existsSync(path.join(`${archive}.unpacked`, f)), f).toBe(true);
      expect(native.some((f) => /^\/node_modules\/@img\/sharp-[^/]+\/lib\/.*\.node$/.test(f))).toBe(true);
    });

    it('ships the demo models and the demo data in resources/', () => {
      const models = filesUnder(path.join(ROOT, 'models')).sort();
      expect(models.length).toBeGreaterThan(0);
      expect(filesUnder(path.join(app, 'resources', 'models')).sort()).toEqual(models);
      const data = filesUnder(path.join(ROOT, 'resources'))
        .filter((f) => !f.startsWith(`build${path.sep}`))
        .sort();
      expect(data.some((f) => f.startsWith(`demo${path.sep}`))).toBe(true);
      expect(filesUnder(path.join(app, 'resources', 'resources')).sort()).toEqual(data);
    });

    it('flips the fuses as documented for a release build', async () => {
      const wire = await getCurrentFuseWire(path.join(app, 'atelier'));
      for (const [fuse, state] of RELEASE_FUSES) expect(wire[fuse], FuseV1Options[fuse]).toBe(state);
    });
  },
);
