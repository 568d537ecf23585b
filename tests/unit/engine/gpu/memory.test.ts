/**
 * The memory check before a WebGPU run (gpu/memory.ts), without a GPU: the estimate against
 * tfjs's measured peak of a real step (cpu backend), and the refusal against a fake adapter's limits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { createModel, type ModelKind } from '../../../../src/main/engine/models';
import { assertGpuFit, checkFit, estimateTrainingMemory, gpuMemoryBudget, scaleEstimate, withMemoryCheck } from '../../../../src/main/engine/gpu/memory';
import type { GpuAdapterReport } from '../../../../src/main/engine/gpu/webgpu';
import { StudioError } from '../../../../src/shared/errors';
import type { DoctorReport } from '../../../../src/shared/channels/app';
import { TINY, tinySource } from '../models/tiny';

const MiB = 2 ** 20;

/** A hardware adapter as Dawn describes one, with the buffer limits the test chooses. */
function fakeAdapter(maxBufferSize: number, maxStorageBufferBindingSize = maxBufferSize, isFallbackAdapter = false): GpuAdapterReport {
  return {
    vendor: 'acme',
    architecture: 'test',
    device: '',
    description: 'fake adapter',
    isFallbackAdapter,
    limits: { maxBufferSize, maxStorageBufferBindingSize, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupsPerDimension: 65535 },
  };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('training memory estimate', () => {
  it.each(Object.keys(TINY).flatMap((k) => [1, 2].map((b) => [k, b] as const)))(
    "%s at 16 px, batch %i: the estimate lies between 1x and 5x tfjs's measured peak of a first training step; no tensor leak",
    async (kind: ModelKind, batch) => {
      const o = { ...TINY[kind]!, batchSize: batch };
      const before = tf.memory().numTensors;
      const m = createModel(kind, o);
      const e = estimateTrainingMemory(m.networks, batch, 16);
      const src = tinySource(kind, o);
      m.setInput(src.next());
      // The first step also makes the optimizer's moments.
      const p = await tf.profile(() => {
        m.trainStep();
      });
      m.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(e.totalBytes, `${kind}: estimate ${e.totalBytes} vs peak ${p.peakBytes}`).toBeGreaterThanOrEqual(p.peakBytes);
      expect(e.totalBytes).toBeLessThanOrEqual(5 * p.peakBytes);
      expect(e.totalBytes).toBe(e.weightBytes + e.optimizerBytes + batch * e.perItemBytes);
    },
  );

  it('scales with the batch (activations) and the pixel count, the weights fixed', () => {
    const m = createModel('pix2pix', { ...TINY.pix2pix, size: 32 });
    const e1 = estimateTrainingMemory(m.networks, 1, 32);
    const e4 = estimateTrainingMemory(m.networks, 4, 32);
    m.dispose();
    expect(e4.totalBytes - e1.totalBytes).toBeCloseTo(3 * e1.perItemBytes, 0);
    expect(e4.largest.bytes).toBe(Math.max(4 * e1.largestActivation.bytes, e1.largestWeight.bytes));
    const half = scaleEstimate(e4, 16, 4);
    expect(half.perItemBytes).toBeCloseTo(e4.perItemBytes / 4, 0);
    expect(half.weightBytes).toBe(e4.weightBytes);
    expect(scaleEstimate(e4, 32, 4)).toEqual(e4);
  });
});

describe('the refusal before a run (fake adapter limits)', () => {
  // pix2pix at 64 px, batch 8: its largest activation (the U-Net's first decoder output) grows with the batch.
  let e: ReturnType<typeof estimateTrainingMemory>;
  beforeAll(() => {
    const m = createModel('pix2pix', { ...TINY.pix2pix, size: 64, batchSize: 8 });
    e = estimateTrainingMemory(m.networks, 8, 64);
    m.dispose();
  });

  it('fits an adapter with room (SwiftShader-like 1 GiB buffers, no known total)', () => {
    expect(checkFit(e, fakeAdapter(1024 * MiB).limits, null)).toEqual({ ok: true });
  });

  it('refuses when the largest tensor exceeds maxStorageBufferBindingSize, and names the batch that fits', () => {
    const per = e.largestActivation.bytes;
    // Room for 3 items' largest activation in one binding (the buffer itself is larger).
    const v = checkFit(e, fakeAdapter(1024 * MiB, 3 * per + 1).limits, null);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.maxBatch).toBe(3);
    expect(v.why).toMatch(/largest tensor .* exceeds the adapter's largest buffer .*maxStorageBufferBindingSize/);
    expect(v.suggestion).toMatch(/^Lower the batch size to 3 or less \(--batch 3\), or the image size to 32 \(--size 32\)\./);
  });

  it('refuses when the estimated total exceeds the known memory, with the batch that fits under it', () => {
    const fixed = e.weightBytes + e.optimizerBytes;
    const budget = { bytes: fixed + 2.5 * e.perItemBytes, source: 'ATELIER_GPU_MEMORY_MB=test' };
    const v = checkFit(e, fakeAdapter(1024 * MiB).limits, budget);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.maxBatch).toBe(2);
    expect(v.why).toMatch(/needs about \d+ MiB \(weights .*, gradients and optimizer .*, activations .* at batch 8\) but ATELIER_GPU_MEMORY_MB=test gives/);
  });

  it('suggests a smaller size when not even batch 1 fits, and the CPU path when nothing does', () => {
    // At 256 px an item's activations outgrow every weight.
    const one = scaleEstimate(e, 256, 1);
    // A binding smaller than one item's largest activation but not than any weight.
    expect(one.largestWeight.bytes).toBeLessThan(one.largestActivation.bytes);
    const tight = fakeAdapter(1024 * MiB, Math.max(one.largestWeight.bytes, Math.floor(one.largestActivation.bytes / 2))).limits;
    const v = checkFit(one, tight, null);
    expect(v).toMatchObject({ ok: false, maxBatch: 0, maxSize: 128 });
    if (!v.ok) expect(v.suggestion).toBe('Lower the image size to 128 or less (--size 128) at batch 1.');
    const none = checkFit(one, fakeAdapter(1024 * MiB).limits, { bytes: one.weightBytes, source: 'test' });
    expect(none).toMatchObject({ ok: false, maxBatch: 0, maxSize: null });
    if (!none.ok) expect(none.suggestion).toMatch(/train on the CPU path \(ATELIER_BACKEND=wasm\)/);
  });

  it('assertGpuFit throws a StudioError that names the run, the adapter, why and what to change', () => {
    const before = tf.memory().numTensors;
    const m = createModel('pix2pix', { ...TINY.pix2pix, size: 64, batchSize: 8 });
    const adapter = fakeAdapter(1024 * MiB, 2 * e.largestActivation.bytes);
    let err: unknown;
    try {
      assertGpuFit(m.networks, 'pix2pix', 64, 8, adapter, null);
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(StudioError);
    const s = err as StudioError;
    expect(s.code).toBe('BAD_INPUT');
    expect(s.message).toMatch(/^This pix2pix run \(size 64, batch 8\) does not fit the GPU \(acme test\): its largest tensor/);
    expect(s.hint).toMatch(/--batch 2/);
    expect(assertGpuFit(m.networks, 'pix2pix', 64, 8, fakeAdapter(1024 * MiB), null).totalBytes).toBe(e.totalBytes);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the total is checked against ATELIER_GPU_MEMORY_MB, or the host memory for a software adapter, else not at all', () => {
    expect(gpuMemoryBudget(fakeAdapter(MiB), { ATELIER_GPU_MEMORY_MB: '512' })).toEqual({ bytes: 512 * MiB, source: 'ATELIER_GPU_MEMORY_MB=512' });
    expect(gpuMemoryBudget(fakeAdapter(MiB, MiB, true), {}, () => 3 * MiB)).toMatchObject({ bytes: 3 * MiB, source: expect.stringMatching(/free memory/) });
    expect(gpuMemoryBudget(fakeAdapter(MiB), {})).toBeNull();
    expect(gpuMemoryBudget(fakeAdapter(MiB), { ATELIER_GPU_MEMORY_MB: 'lots' })).toBeNull();
  });

  it("doctor says plainly that a hardware adapter's total is not checked unless ATELIER_GPU_MEMORY_MB states it", () => {
    const report = { backend: 'webgpu', webgpu: { adapter: fakeAdapter(256 * MiB, 128 * MiB) } } as unknown as DoctorReport;
    expect(withMemoryCheck(report, {}).webgpu.memoryCheck).toBe(
      "WebGPU does not report how much memory this GPU has, so a run is checked only against its largest buffer (128 MiB), not in total: set ATELIER_GPU_MEMORY_MB to the card's memory in MiB (e.g. 8192) to check the total too.",
    );
    expect(withMemoryCheck(report, { ATELIER_GPU_MEMORY_MB: '8192' }).webgpu.memoryCheck).toBe("A run's total is checked against 8192 MiB (ATELIER_GPU_MEMORY_MB=8192), and its largest tensor against the largest buffer (128 MiB).");
    const none = { backend: 'wasm', webgpu: { error: 'no adapter' } } as unknown as DoctorReport;
    expect(withMemoryCheck(none, {}).webgpu.memoryCheck).toBeUndefined();
  });
});
