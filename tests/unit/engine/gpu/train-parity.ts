/**
 * Three training steps of a model kind on webgpu (software adapter) and on the cpu backend, from
 * the same seed and batches: each loss within LOSS_TOL x max(1, |cpu loss|), the tensor count
 * flat on webgpu. Each webgpu-train-*.test.ts file calls this for one or two kinds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSoftwareGpu, useSoftwareGpu } from './software-gpu';
import { tf, initBackend, releaseBackend } from '../../../../src/main/engine/backend';
import { createModel, type ModelKind } from '../../../../src/main/engine/models';
import { TINY, tinySource as source } from '../models/tiny';

export const LOSS_TOL = 1e-3;
/** SwiftShader compiles every shader on first use: tens of seconds per model alone, minutes on a busy machine. */
export const GPU_TEST_TIMEOUT = 600_000;

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
