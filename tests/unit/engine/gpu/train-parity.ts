/**
 * Three training steps of a model kind on webgpu (software adapter) and on the cpu backend, from
 * the same seed and batches: each loss within LOSS_TOL x max(1, |cpu loss|), the tensor count
 * flat on webgpu. Each webgpu-train-*.test.ts file calls this for one or two kinds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSoftwareGpu, useSoftwareGpu } from './software-gpu';
import { tf, initBackend, releaseBackend } from '../../../../src/main/engine/backend';
import { MODELS, createModel, type ModelKind } from '../../../../src/main/engine/models';
import { InMemoryBatchSource, syntheticImages } from '../../../../src/main/engine/train/source';

export const LOSS_TOL = 1e-3;
/** SwiftShader compiles every shader on first use: tens of seconds per model alone, minutes on a busy machine. */
export const GPU_TEST_TIMEOUT = 600_000;

export const TINY: Record<string, Record<string, unknown>> = {
  gan: { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 2, sampleCount: 2 },
  cgan: { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 2, numClasses: 3, sampleCount: 2 },
  pix2pix: { size: 16, channels: 3, ngf: 4, ndf: 4 },
  // Reflection padding, instance norm, the image pool (kept as GPU tensors on webgpu).
  cyclegan: { size: 16, channels: 3, ngf: 4, ndf: 4, blocks: 1, poolSize: 2 },
  autoencoder: { size: 16, channels: 3, latent: 4, ngf: 4, batchSize: 2 },
};

function source(kind: ModelKind, o: Record<string, unknown>): InMemoryBatchSource {
  const need = MODELS[kind]!.data;
  const d = syntheticImages({ n: 6, size: o.size as number, channels: o.channels as number, seed: 7, kind: need, numClasses: 3 });
  return new InMemoryBatchSource(
    {
      a: d.a,
      ...(need === 'paired' || need === 'unpaired' ? { b: d.b } : {}),
      ...(need === 'labelled' ? { labels: d.labels, numClasses: 3 } : {}),
      size: o.size as number,
      channels: o.channels as number,
      paired: need === 'paired',
    },
    (o.batchSize as number) ?? 1,
    3,
  );
}

/** Three steps on one backend: the losses, and the tensor count after each (flat once cyclegan's pool of 2 is full). */
async function threeSteps(backend: string, kind: ModelKind): Promise<{ losses: Record<string, number>[]; counts: number[] }> {
  await tf.setBackend(backend);
  const m = createModel(kind, TINY[kind]!);
  const src = source(kind, TINY[kind]!);
  const losses: Record<string, number>[] = [];
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    m.setInput(src.next());
    losses.push(await m.trainStepAsync());
    counts.push(tf.memory().numTensors);
  }
  m.dispose();
  return { losses, counts };
}


export function trainParity(kinds: ModelKind[]): void {
  describe.skipIf(noSoftwareGpu !== null)(`WebGPU training vs cpu on a software adapter${noSoftwareGpu ? ` (skipped: ${noSoftwareGpu})` : ''}`, () => {
    beforeAll(async () => {
      useSoftwareGpu();
      process.env.ATELIER_BACKEND = 'webgpu';
      const info = await initBackend();
      expect(info.backend).toBe('webgpu');
    });
    afterAll(async () => {
      await releaseBackend();
      delete process.env.ATELIER_BACKEND;
    });

    it.each(kinds)(`3 training steps at 16 px match the cpu backend (each loss within ${LOSS_TOL} x max(1, |loss|)), no tensor leak: %s`, async (kind) => {
      const cpu = await threeSteps('cpu', kind);
      const gpu = await threeSteps('webgpu', kind);
      expect(gpu.counts[2]).toBe(gpu.counts[1]);
      cpu.losses.forEach((want, step) => {
        for (const [name, v] of Object.entries(want)) {
          const got = gpu.losses[step]![name]!;
          expect(Number.isFinite(got), `${kind} step ${step + 1} ${name}`).toBe(true);
          expect(Math.abs(got - v), `${kind} step ${step + 1} ${name}: webgpu ${got} vs cpu ${v}`).toBeLessThanOrEqual(LOSS_TOL * Math.max(1, Math.abs(v)));
        }
      });
    }, GPU_TEST_TIMEOUT);
  });
}
