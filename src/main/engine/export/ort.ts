/**
 * onnxruntime-node, loaded on demand so a missing native module is a clear UNAVAILABLE error and
 * commands that never touch ONNX do not pay for loading it.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as OrtTypes from 'onnxruntime-node';
import { StudioError } from '../../../shared/errors';

export type Ort = typeof OrtTypes;
export type OrtSession = OrtTypes.InferenceSession;
export type OrtTensor = OrtTypes.Tensor;

const nodeRequire = createRequire(import.meta.url);
let ort: Ort | null = null;

/**
 * Why this platform has no onnxruntime binary, or null when the package ships one. onnxruntime-node
 * 1.30 ships linux x64/arm64, win32 x64/arm64 and darwin arm64 only: Intel Macs (darwin x64) get none.
 */
export function ortBinaryMissing(platform: string = process.platform, arch: string = process.arch): string | null {
  let root: string;
  try {
    root = path.dirname(nodeRequire.resolve('onnxruntime-node/package.json'));
  } catch {
    return 'onnxruntime-node is not installed';
  }
  if (fs.existsSync(path.join(root, 'bin', 'napi-v6', platform, arch, 'onnxruntime_binding.node'))) return null;
  const here = platform === 'darwin' && arch === 'x64' ? 'Intel Macs (darwin x64)' : `${platform} ${arch}`;
  return `onnxruntime-node ships no binary for ${here}`;
}

export function loadOrt(): Ort {
  if (ort) return ort;
  const missing = ortBinaryMissing();
  if (missing) {
    throw new StudioError('UNAVAILABLE', `The ONNX runtime cannot run here: ${missing}.`, { hint: 'Use the tfjs runtime for inference (--runtime tfjs, or the runtime picker).' });
  }
  try {
    ort = nodeRequire('onnxruntime-node') as Ort;
    return ort;
  } catch (e) {
    throw new StudioError('UNAVAILABLE', `onnxruntime-node cannot be loaded: ${(e as Error).message.split('\n')[0]}.`, {
      hint: 'Reinstall the app (the ONNX runtime is a native module), or use the tfjs runtime for inference.',
    });
  }
}

/**
 * The execution providers sessions are created with, in order (onnxruntime-node falls back along
 * the list). Provenance records them as what ran the model, so a provider added here (or chosen
 * per machine) is named in every image it made.
 */
export const SESSION_PROVIDERS: readonly string[] = ['cpu'];

/**
 * A session from file bytes or a path. Intra-op threads: `threads`, else ATELIER_ORT_THREADS,
 * else 2 (the target machines have 2 cores; on a busy machine 1 can be faster).
 */
export async function createSession(model: Uint8Array | string, opts: { threads?: number; ep?: string } = {}): Promise<OrtSession> {
  const o = loadOrt();
  const so: OrtTypes.InferenceSession.SessionOptions = {
    // A GPU provider only through the parity gate (providers.ts).
    executionProviders: opts.ep ? [opts.ep] : [...SESSION_PROVIDERS],
    intraOpNumThreads: opts.threads ?? (Number(process.env.ATELIER_ORT_THREADS) || 2),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
  };
  try {
    return typeof model === 'string' ? await o.InferenceSession.create(model, so) : await o.InferenceSession.create(model, so);
  } catch (e) {
    throw new StudioError('BAD_INPUT', `onnxruntime could not load the ONNX model: ${(e as Error).message.split('\n')[0]}`, {
      details: (e as Error).stack,
    });
  }
}

export function floatTensor(data: Float32Array, dims: number[]): OrtTensor {
  return new (loadOrt().Tensor)('float32', data, dims);
}

export function int64Tensor(values: ArrayLike<number>, dims: number[]): OrtTensor {
  const b = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) b[i] = BigInt(Math.trunc(values[i]!));
  return new (loadOrt().Tensor)('int64', b, dims);
}
