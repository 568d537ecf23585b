/** The interop tests' fixture: the backend initialised and a fresh workspace under the OS temp folder for one test file, removed after it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { initBackend } from '../../../../src/main/engine/backend';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';

/** Registers the file's beforeAll/afterAll; `set` receives the folder and its workspace (`<dir>/ws`). */
export function useTempWorkspace(prefix: string, set: (dir: string, ws: Workspace) => void): void {
  let dir = '';
  beforeAll(async () => {
    await initBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    set(dir, openWorkspace(path.join(dir, 'ws')));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
}
