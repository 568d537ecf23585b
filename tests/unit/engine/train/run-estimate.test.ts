/* eslint-disable @typescript-eslint/no-explicit-any -- untyped envelopes in a test */
/**
 * The GPU memory check before a run, without a GPU: the engine is told it trains on webgpu with a
 * fake adapter (its limits chosen by the test) while tfjs computes on cpu, so the checks run in CI
 * on any machine. Through the in-process engine (the contract's validation and the handlers):
 * - train.estimate answers the estimate, whether it fits and what does when not, and refuses
 *   bad payloads with clear errors; on a CPU backend it answers "not checked" with a note;
 * - train.start of a run that does not fit is refused with the same verdict before the run folder
 *   exists: no new folder, nothing in run.list.
 * The same refusal on a real (software) adapter: gpu/webgpu-run.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BackendInfo } from '../../../../src/main/engine/backend';
import type { GpuAdapterReport } from '../../../../src/main/engine/gpu/webgpu';
import { estimateTrainingMemory } from '../../../../src/main/engine/gpu/memory';
import { createModel } from '../../../../src/main/engine/models';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { estimateKey } from '../../../../src/main/engine/train/run-estimate';

/** What the engine is told it runs on; null: the real choice. */
let fake: BackendInfo | null = null;
vi.mock(import('../../../../src/main/engine/backend'), async (importOriginal) => {
  const real = await importOriginal();
  return {
    ...real,
    initBackend: async () => {
      if (!fake) return real.initBackend();
      await real.tf.setBackend('cpu');
      return fake;
    },
    chosenBackend: async () => fake ?? real.chosenBackend(),
  };
});
const { tf } = await import('../../../../src/main/engine/backend');

const MiB = 2 ** 20;

/** A hardware adapter (no stated memory) whose largest buffer the test chooses. */
function gpu(bufferBytes: number, isFallbackAdapter = false): BackendInfo {
  const adapter: GpuAdapterReport = {
    vendor: 'acme',
    architecture: 'test',
    device: '',
    description: 'fake adapter',
    isFallbackAdapter,
    limits: { maxBufferSize: 1024 * MiB, maxStorageBufferBindingSize: bufferBytes, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupsPerDimension: 65535 },
  };
  return { backend: 'webgpu', reason: 'test', threads: 1, customKernels: [], tfjsVersion: tf.version.tfjs, tfjsNode: { present: false }, webgpu: { adapter }, considered: [] };
}

let root: string;
let eng: InProcessEngine;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-estimate-'));
  eng = new InProcessEngine({ workspaceRoot: root });
});
afterAll(async () => {
  fake = null;
  await eng.close();
  fs.rmSync(root, { recursive: true, force: true });
});
afterEach(() => {
  fake = null;
  delete process.env.ATELIER_GPU_MEMORY_MB;
});

async function call(channel: string, payload: unknown): Promise<any> {
  const r = await eng.request(channel, payload);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.data;
}

// pix2pix at 32 px (synthetic paired data), batch 8: its largest activation grows with the batch.
const req = { model: 'pix2pix', datasetId: 'synthetic:paired', options: { size: 32, ngf: 4, ndf: 4, batchSize: 8 } };
let largestItem = 0;
let expected: ReturnType<typeof estimateTrainingMemory>;
beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = createModel('pix2pix', { ...req.options, channels: 3 });
  expected = estimateTrainingMemory(m.networks, 8, 32);
  largestItem = expected.largestActivation.bytes;
  m.dispose();
});

describe('train.estimate', () => {
  it('answers the estimate and "fits" where the adapter has room, saying the total is not checked without ATELIER_GPU_MEMORY_MB; no tensor leak', async () => {
    fake = gpu(1024 * MiB);
    const before = tf.memory().numTensors;
    const e = await call('train.estimate', req);
    expect(tf.memory().numTensors).toBe(before);
    expect(e).toMatchObject({ checked: true, backend: 'webgpu', size: 32, batch: 8, budget: null, fit: { ok: true }, adapter: { vendor: 'acme', architecture: 'test', isFallbackAdapter: false } });
    expect(e.totalBytes).toBe(expected.totalBytes);
    expect(e.weightBytes + e.optimizerBytes + e.activationBytes).toBe(e.totalBytes);
    expect(e.bufferLimitBytes).toBe(1024 * MiB);
    expect(e.note).toMatch(/^WebGPU does not report how much memory this GPU has, so a run is checked only against its largest buffer \(1024 MiB\), not in total: set ATELIER_GPU_MEMORY_MB/);
  });

  it('checks the total against ATELIER_GPU_MEMORY_MB when set, and says so', async () => {
    fake = gpu(1024 * MiB);
    process.env.ATELIER_GPU_MEMORY_MB = '1';
    const e = await call('train.estimate', req);
    expect(e.budget).toEqual({ bytes: MiB, source: 'ATELIER_GPU_MEMORY_MB=1' });
    expect(e.note).toMatch(/^A run's total is checked against 1 MiB \(ATELIER_GPU_MEMORY_MB=1\)/);
    expect(e.fit.ok).toBe(false);
    expect(e.fit.why).toMatch(/needs about \d+ MiB .* but ATELIER_GPU_MEMORY_MB=1 gives 1 MiB/);
  });

  it('says a run does not fit, why, and the batch that does; changing the batch changes the answer', async () => {
    fake = gpu(3 * largestItem + 1);
    const e = await call('train.estimate', req);
    expect(e.fit).toMatchObject({ ok: false, maxBatch: 3 });
    expect(e.fit.why).toMatch(/largest tensor .* exceeds the adapter's largest buffer/);
    expect(e.fit.suggestion).toMatch(/^Lower the batch size to 3 or less/);
    const three = await call('train.estimate', { ...req, options: { ...req.options, batchSize: 3 } });
    expect(three).toMatchObject({ batch: 3, fit: { ok: true } });
    // Size from the dataset when not given (synthetic: 32 px).
    const auto = await call('train.estimate', { ...req, options: { ngf: 4, ndf: 4, batchSize: 3 } });
    expect(auto).toMatchObject({ size: 32, batch: 3 });
  });

  it('a remembered estimate answers another batch, learning rate or seed exactly as a fresh build of those networks would', async () => {
    fake = gpu(1024 * MiB);
    await call('train.estimate', req);
    const m = createModel('pix2pix', { ...req.options, batchSize: 3, channels: 3 });
    const fresh = estimateTrainingMemory(m.networks, 3, 32);
    m.dispose();
    const e = await call('train.estimate', { ...req, options: { ...req.options, batchSize: 3, lr: 1e-3, seed: 7 } });
    expect(e).toMatchObject({ batch: 3, totalBytes: fresh.totalBytes, weightBytes: fresh.weightBytes, activationBytes: 3 * fresh.perItemBytes, largest: fresh.largest });
  });

  it('keys estimates on the options that shape the networks only', () => {
    const base = { size: 32, channels: 3, ngf: 4, ndf: 4, batchSize: 8, lr: 2e-4, seed: 0, lrPolicy: 'constant' };
    const key = estimateKey('pix2pix', base);
    expect(estimateKey('pix2pix', { ...base, batchSize: 2, lr: 0.1, seed: 3, lrPolicy: 'linear', beta1: 0.9 })).toBe(key);
    expect(estimateKey('pix2pix', { lr: 2e-4, ndf: 4, ngf: 4, channels: 3, size: 32 })).toBe(key);
    for (const change of [{ size: 64 }, { channels: 1 }, { ngf: 8 }, { ndf: 8 }, { lambdaL1: 10 }]) expect(estimateKey('pix2pix', { ...base, ...change })).not.toBe(key);
    expect(estimateKey('cyclegan', base)).not.toBe(key);
  });

  it('on a CPU backend: not checked, with a note', async () => {
    fake = { ...gpu(MiB), backend: 'wasm' };
    expect(await call('train.estimate', req)).toEqual({ checked: false, backend: 'wasm', note: expect.stringMatching(/trains on wasm \(the CPU\).*applies to GPU \(WebGPU\) runs/) });
  });

  it('refuses bad payloads with clear errors', async () => {
    fake = gpu(1024 * MiB);
    await expect(call('train.estimate', { ...req, batch: 4 })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(call('train.estimate', { ...req, options: { batchSize: [4] } })).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(call('train.estimate', { datasetId: 'synthetic:paired' })).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/model/) });
    await expect(call('train.estimate', { ...req, model: 'vae' })).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/unknown model "vae"/) });
    await expect(call('train.estimate', { ...req, datasetId: 'no-such-set' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(call('train.estimate', { ...req, options: { ...req.options, batchSize: 0 } })).rejects.toMatchObject({ message: expect.stringMatching(/batchSize/) });
    await expect(call('train.estimate', { ...req, datasetId: 'synthetic:images' })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/needs paired A\/B images/) });
  });
});

describe('train.start of a run that does not fit', () => {
  it('is refused with the verdict train.estimate gave, before the run folder exists: no new folder, nothing in run.list', async () => {
    fake = gpu(3 * largestItem + 1);
    const runsBefore = fs.readdirSync(path.join(root, 'runs'));
    const estimate = await call('train.estimate', req);
    const err = await call('train.start', { ...req, steps: 2 }).catch((e: unknown) => e as any);
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/^This pix2pix run \(size 32, batch 8\) does not fit the GPU \(acme test\): its largest tensor/);
    expect(err.message).toContain(estimate.fit.why);
    expect(err.hint).toMatch(/^Lower the batch size to 3 or less \(--batch 3\)/);
    expect(fs.readdirSync(path.join(root, 'runs'))).toEqual(runsBefore);
    expect(await call('run.list', {})).toEqual([]);
  });
});
