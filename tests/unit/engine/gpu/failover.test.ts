/**
 * GPU fail-over: the device goes away mid-run (simulated through the test hook; a real loss
 * arrives the same way, through the device's `lost` promise or an uncaptured out-of-memory error).
 * The job fails saying what happened, and resuming continues from the newest checkpoint on the
 * next backend, in the same process, with nothing lost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSoftwareGpu, useSoftwareGpu } from './software-gpu';
import { GPU_TEST_TIMEOUT } from './train-parity';
import { initBackend, releaseBackend } from '../../../../src/main/engine/backend';
import { simulateDeviceLost } from '../../../../src/main/engine/gpu/webgpu';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';
import { trainRun } from '../../../../src/main/engine/train/run';
import { createRun } from '../../../../src/main/engine/train/run-create';
import { readLog } from '../../../../src/main/engine/train/run-files';
import type { StudioError } from '../../../../src/shared/errors';

describe.skipIf(noSoftwareGpu !== null)(`GPU device lost mid-run${noSoftwareGpu ? ` (skipped: ${noSoftwareGpu})` : ' (SwiftShader)'}`, () => {
  let ws: Workspace;
  let root = '';
  beforeAll(async () => {
    useSoftwareGpu();
    process.env.ATELIER_BACKEND = 'webgpu';
    expect((await initBackend()).backend).toBe('webgpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-gpu-failover-'));
    ws = openWorkspace(root);
  });
  afterAll(async () => {
    await releaseBackend();
    delete process.env.ATELIER_BACKEND;
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('fails the job with a clear message, then the resume continues from the newest checkpoint on wasm', async () => {
    const r = await createRun(ws, { model: 'pix2pix', datasetId: 'synthetic:paired', options: { size: 16, ngf: 4, ndf: 4 }, steps: 4, checkpointEvery: 1, sampleEvery: 100 });
    let before = 0;
    const err = (await trainRun(ws, r.runDir, {
      // Called before each step: the device goes away during step 3.
      checkpoint: async () => {
        if (++before === 3) simulateDeviceLost('test hook');
      },
    }).catch((e: unknown) => e)) as StudioError;
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/^Training stopped at step 3: the GPU device was lost \(test hook\)\. Nothing is lost: resume .* newest checkpoint \(step 2\) on the next backend/);
    const status = JSON.parse(fs.readFileSync(path.join(r.runDir, 'status.json'), 'utf8')) as { state: string; error: string; backend: string };
    expect(status).toMatchObject({ state: 'failed', backend: 'webgpu' });
    expect(status.error).toMatch(/GPU device was lost/);

    // ATELIER_BACKEND=webgpu no longer binds in this process: the resume runs on the next backend.
    const s = await trainRun(ws, r.runDir);
    expect(s).toMatchObject({ state: 'done', step: 4, resumedFrom: 2, backend: 'wasm' });
    expect((await readLog(r.runDir)).map((e) => e.step)).toEqual([1, 2, 3, 4]);
    const info = await initBackend();
    expect(info.considered.find((c) => c.backend === 'webgpu')?.reason).toMatch(/not used again in this process: the GPU device was lost/);
  }, GPU_TEST_TIMEOUT);
});
