/**
 * A GPU that fails mid-run (device lost: driver reset, eGPU unplugged; out of memory; internal
 * error) fails the job with a message that says what happened and that nothing is lost: the run
 * resumes from its newest checkpoint, and this process will not choose the GPU again, so the
 * resume runs on the next backend (wasm unless tfjs-node is installed). Checkpoints hold plain
 * arrays, so they move between backends.
 */
import { StudioError } from '../../../shared/errors';
import { excludeBackend } from '../backend';
import { gpuFault } from './webgpu';

/** Errors the webgpu backend raises when its device went away or a buffer could not be made. */
const GPU_ERROR = /device (is |was )?lost|out of memory|GPUOutOfMemoryError|OperationError|mapAsync|Failed to (create|allocate)|Instance dropped|GPUBuffer/i;

/** The job's error for a GPU failure, or null when `e` is not one. Call only while training on webgpu. */
export function gpuFailure(e: unknown, step: number, checkpoint: number | null): StudioError | null {
  if (e instanceof StudioError && e.code === 'CANCELLED') return null;
  const msg = e instanceof Error ? e.message : String(e);
  const why = gpuFault() ?? (GPU_ERROR.test(msg) ? `the GPU failed (${msg.split('\n')[0]!.slice(0, 200)})` : null);
  if (!why) return null;
  return new StudioError(
    'UNAVAILABLE',
    `Training stopped at step ${step}: ${why}. Nothing is lost: resume the run to continue from its newest checkpoint (${checkpoint === null ? 'none yet: it starts over' : `step ${checkpoint}`}) on the next backend.`,
    {
      details: why,
      cause: e,
      hint: 'This engine process will not use the GPU again, so a resume here runs on the CPU path; in a new process set ATELIER_BACKEND=wasm for the same. Lower the batch size or image size if the GPU ran out of memory.',
    },
  );
}

/** Between steps: throw when the device reported a fault that the step's own reads did not surface. */
export function throwIfGpuFault(): void {
  const f = gpuFault();
  if (f) throw new Error(f);
}

/** After the failed job let go of its tensors: stop using the GPU in this process. */
export async function leaveGpu(err: StudioError): Promise<void> {
  await excludeBackend('webgpu', err.details ?? 'the GPU failed');
}
