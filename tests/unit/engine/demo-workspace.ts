/**
 * A test file's workspace holding the demo datasets built from the shipped subset
 * (ATELIER_DEMO_FROM=resources, as on a machine without Debian's Fashion-MNIST), in a fresh
 * folder under the OS temp folder; the environment variable is restored and the folder removed after.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openWorkspace, type Workspace } from '../../../src/main/engine/core/workspace';
import { ensureDemoDatasets } from '../../../src/main/engine/data/demo';

/** Registers the file's beforeAll/afterAll: `init` (the backend the file wants) first, then `set(folder, workspace)`. */
export function useDemoWorkspace(prefix: string, init: () => Promise<unknown>, set: (dir: string, ws: Workspace) => void): void {
  let tmp = '';
  const savedFrom = process.env.ATELIER_DEMO_FROM;
  beforeAll(async () => {
    await init();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const ws = openWorkspace(path.join(tmp, 'ws'));
    process.env.ATELIER_DEMO_FROM = 'resources';
    await ensureDemoDatasets(ws);
    set(tmp, ws);
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (savedFrom === undefined) delete process.env.ATELIER_DEMO_FROM;
    else process.env.ATELIER_DEMO_FROM = savedFrom;
  });
}
