/**
 * Starting and stopping one engine host process. The client drives hosts through `HostProcess`
 * only, so the Electron main can pass a spawner built on utilityProcess and serve / tests use
 * `childProcessSpawner` (a Node child). Never imports tfjs or electron.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import type { FromHost, ToHost } from '../host/protocol';
import { appRoot } from '../core/workspace';
import type { HostRole } from './router';

export interface HostProcess {
  pid?: number;
  send(msg: ToHost): void;
  onMessage(cb: (msg: FromHost) => void): void;
  onExit(cb: (code: number | null, signal?: string | null) => void): void;
  kill(): void;
}

/** Starts one engine host. `role` says which one (a spawner may ignore it; the host is the same code). */
export type Spawner = (opts?: { role?: HostRole }) => HostProcess;

/** Spawn the host as a Node child process (serve). Uses the built bundle when present, else tsx. */
export function childProcessSpawner(baseEnv: NodeJS.ProcessEnv = process.env): Spawner {
  return (opts) => {
    const env: NodeJS.ProcessEnv = { ...baseEnv, ATELIER_ENGINE_ROLE: opts?.role ?? 'primary' };
    const root = appRoot();
    const built = path.join(root, 'out', 'main', 'engine-host.js');
    const src = path.join(root, 'src', 'main', 'engine', 'host', 'host-entry.ts');
    const useSrc = env.ATELIER_ENGINE_FROM_SOURCE === '1' || !fs.existsSync(built) || isOlder(built, path.join(root, 'src'));
    let child: ChildProcess;
    if (useSrc) {
      const nodeRequire = createRequire(import.meta.url);
      const tsx = nodeRequire.resolve('tsx');
      child = fork(src, [], { serialization: 'advanced', execArgv: ['--import', pathToImport(tsx)], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    } else {
      child = fork(built, [], { serialization: 'advanced', env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    }
    return {
      pid: child.pid,
      send: (m) => {
        if (child.connected) child.send(m);
      },
      onMessage: (cb) => child.on('message', (m) => cb(m as FromHost)),
      onExit: (cb) => child.on('exit', (code, signal) => cb(code, signal)),
      kill: () => child.kill('SIGKILL'),
    };
  };
}

function pathToImport(p: string): string {
  // tsx's package main resolves to its CJS entry; --import wants the ESM loader entry.
  return path.join(path.dirname(p), 'esm', 'index.mjs');
}

/** True when any file under `dir` is newer than `file` (so a stale build is not used). */
function isOlder(file: string, dir: string): boolean {
  const t = fs.statSync(file).mtimeMs;
  const walk = (d: string): boolean => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() ? walk(p) : fs.statSync(p).mtimeMs > t) return true;
    }
    return false;
  };
  try {
    return walk(dir);
  } catch {
    return false;
  }
}

/** Ask a host to shut down (it cancels its jobs), kill it if it has not exited in 6 s. */
export function shutdownProc(proc: HostProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill();
      resolve();
    }, 6000);
    proc.onExit(() => {
      clearTimeout(timer);
      resolve();
    });
    try {
      proc.send({ t: 'shutdown' });
    } catch {
      proc.kill();
    }
  });
}
