/**
 * A training run on WebGPU end to end (SwiftShader), in one file so the shaders compiled for the
 * first pix2pix steps serve the rest:
 * - a run that does not fit the GPU is refused before its run folder exists (a resume on a
 *   smaller GPU before its first step), with a batch that fits;
 * - a run trains, and its bundle runs with the tfjs runtime on webgpu (async reads), equal to
 *   the onnx runtime's cpu result;
 * - GPU fail-over: the device goes away mid-run (simulated through the test hook; a real loss
 *   arrives the same way, through the device's `lost` promise or an uncaptured out-of-memory
 *   error). The job fails saying what happened, and resuming continues from the newest
 *   checkpoint on the next backend, in the same process, with nothing lost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSoftwareGpu, useSoftwareGpu } from './software-gpu';
import { GPU_TEST_TIMEOUT } from './train-parity';
import sharp from 'sharp';
import { initBackend, releaseBackend, tf } from '../../../../src/main/engine/backend';
import { getModel } from '../../../../src/main/engine/infer/registry';
import { translateImage } from '../../../../src/main/engine/infer/ops';
import { simulateDeviceLost } from '../../../../src/main/engine/gpu/webgpu';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';
import { trainRun } from '../../../../src/main/engine/train/run';
import { createRun } from '../../../../src/main/engine/train/run-create';
import { readLog } from '../../../../src/main/engine/train/run-files';
import { listRuns } from '../../../../src/main/engine/train/runs';
import type { StudioError } from '../../../../src/shared/errors';

describe.skipIf(noSoftwareGpu !== null)(`a WebGPU run: memory check, tfjs inference, device lost mid-run${noSoftwareGpu ? ` (skipped: ${noSoftwareGpu})` : ' (SwiftShader)'}`, () => {
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

  it('a run that does not fit is refused before its run folder exists, with the batch that fits', async () => {
    // pix2pix at 16 px, batch 8, against a stated 3 MiB card: the weights and optimizer take ~2 MiB.
    const before = fs.readdirSync(ws.runs);
    process.env.ATELIER_GPU_MEMORY_MB = '3';
    try {
      const err = (await createRun(ws, { model: 'pix2pix', datasetId: 'synthetic:paired', options: { size: 16, ngf: 4, ndf: 4, batchSize: 8 }, steps: 2, sampleEvery: 100 }).catch((e: unknown) => e)) as StudioError;
      expect(err.code).toBe('BAD_INPUT');
      expect(err.message).toMatch(/^This pix2pix run \(size 16, batch 8\) does not fit the GPU \(google swiftshader\): it needs about \d+ MiB .* but ATELIER_GPU_MEMORY_MB=3 gives 3 MiB/);
      expect(err.hint).toMatch(/^Lower the batch size to [1-7] or less \(--batch [1-7]\)/);
    } finally {
      delete process.env.ATELIER_GPU_MEMORY_MB;
    }
    expect(fs.readdirSync(ws.runs)).toEqual(before);
    expect(await listRuns(ws, new Map())).toEqual([]);
  });

  it('a resume on a GPU it does not fit is refused before its first step', async () => {
    const r = await createRun(ws, { model: 'pix2pix', datasetId: 'synthetic:paired', options: { size: 16, ngf: 4, ndf: 4, batchSize: 8 }, steps: 2, sampleEvery: 100 });
    process.env.ATELIER_GPU_MEMORY_MB = '3';
    let before = 0;
    try {
      const err = (await trainRun(ws, r.runDir, { checkpoint: async () => void before++ }).catch((e: unknown) => e)) as StudioError;
      expect(err.code).toBe('BAD_INPUT');
      expect(err.message).toMatch(/^This pix2pix run \(size 16, batch 8\) does not fit the GPU \(google swiftshader\): it needs about \d+ MiB .* but ATELIER_GPU_MEMORY_MB=3 gives 3 MiB/);
    } finally {
      delete process.env.ATELIER_GPU_MEMORY_MB;
    }
    expect(before).toBe(0);
    expect(await readLog(r.runDir)).toEqual([]);
  });

  it('a finished run\'s bundle runs with the tfjs runtime on webgpu, equal to the onnx runtime on cpu; no tensor leak', async () => {
    const r = await createRun(ws, { model: 'pix2pix', datasetId: 'synthetic:paired', options: { size: 16, ngf: 4, ndf: 4 }, steps: 2, sampleEvery: 100 });
    const s = await trainRun(ws, r.runDir);
    expect(s).toMatchObject({ state: 'done', backend: 'webgpu' });
    expect(s.bundleId).toBeTruthy();
    const px = Buffer.alloc(24 * 20 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 251;
    const input = await sharp(px, { raw: { width: 24, height: 20, channels: 3 } }).png().toBuffer();
    const gpu = await getModel(ws, s.bundleId!, 'tfjs');
    const cpu = await getModel(ws, s.bundleId!, 'onnx');
    expect(tf.getBackend()).toBe('webgpu');
    await translateImage(gpu, input); // warm: the first call builds kernels
    const before = tf.memory().numTensors;
    const a = await translateImage(gpu, input);
    expect(tf.memory().numTensors).toBe(before);
    const b = await translateImage(cpu, input);
    const [pa, pb] = await Promise.all([a.png, b.png].map((p) => sharp(p).raw().toBuffer()));
    expect(pa!.length).toBe(24 * 20 * 3);
    let max = 0;
    for (let i = 0; i < pa!.length; i++) max = Math.max(max, Math.abs(pa![i]! - pb![i]!));
    expect(max).toBeLessThanOrEqual(1);
  }, GPU_TEST_TIMEOUT);

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
