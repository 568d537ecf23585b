/** The runtime report behind `atelier doctor` and the status bar. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { DoctorReport } from '../../../shared/channels/app';
import { initBackend } from '../backend';
import { appRoot } from './workspace';

const nodeRequire = createRequire(import.meta.url);

export function appVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(appRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function pkgVersion(name: string): string | undefined {
  try {
    return (nodeRequire(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Where an Electron binary is, if any: the override dist path, or the electron package's download. */
export function findElectronBinary(): { binary: boolean; path?: string; reason: string } {
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const exe = process.platform === 'win32' ? 'electron.exe' : process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : 'electron';
  if (override) {
    const p = path.join(override, exe);
    return fs.existsSync(p) ? { binary: true, path: p, reason: 'ELECTRON_OVERRIDE_DIST_PATH' } : { binary: false, reason: `ELECTRON_OVERRIDE_DIST_PATH is set but ${p} does not exist` };
  }
  try {
    const dir = path.dirname(nodeRequire.resolve('electron/package.json'));
    const txt = path.join(dir, 'path.txt');
    if (fs.existsSync(txt)) {
      const p = path.join(dir, 'dist', fs.readFileSync(txt, 'utf8').trim());
      if (fs.existsSync(p)) return { binary: true, path: p, reason: 'electron package download' };
    }
    return { binary: false, reason: 'the electron package has not downloaded its binary (it does so on first launch; offline here)' };
  } catch {
    return { binary: false, reason: 'the electron package is not installed' };
  }
}

export async function doctorReport(opts: { workspace: string; mode: string }): Promise<DoctorReport> {
  const b = await initBackend();
  let onnxruntime: DoctorReport['onnxruntime'];
  try {
    const ort = nodeRequire('onnxruntime-node') as { env?: { versions?: { node?: string } } };
    const listed = (ort as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends?.() ?? [];
    onnxruntime = { present: true, version: ort.env?.versions?.node ?? pkgVersion('onnxruntime-node'), providers: listed.filter((b) => b.bundled).map((b) => b.name) };
  } catch (e) {
    onnxruntime = { present: false, error: (e as Error).message.split('\n')[0] };
  }
  let sharp: DoctorReport['sharp'];
  try {
    const s = nodeRequire('sharp') as { versions: { sharp?: string; vips?: string } };
    sharp = { present: true, version: s.versions.sharp ?? pkgVersion('sharp'), libvips: s.versions.vips };
  } catch (e) {
    sharp = { present: false, error: (e as Error).message.split('\n')[0] };
  }
  return {
    appVersion: appVersion(),
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    cpus: os.cpus().length,
    backend: b.backend,
    backendReason: b.reason,
    threads: b.threads,
    customKernels: b.customKernels,
    tfjsVersion: b.tfjsVersion,
    tfjsNode: b.tfjsNode,
    webgpu: b.webgpu,
    backendsConsidered: b.considered,
    onnxruntime,
    sharp,
    electron: findElectronBinary(),
    workspace: opts.workspace,
    engineMode: opts.mode,
  };
}
