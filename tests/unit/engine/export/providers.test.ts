import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundledEps, EP_PARITY_TOLERANCE, gatedSession, gpuEpFor, parseEp, resolveEp, setWantedEp, wantedEp } from '../../../../src/main/engine/export/providers';
import { floatTensor, ortBinaryMissing } from '../../../../src/main/engine/export/ort';
import { encodeModel, floatTensor as onnxFloat, DT } from '../../../../src/main/engine/export/onnx-proto';
import { noSoftwareVulkan, useSoftwareGpu } from '../gpu/software-gpu';
import { GPU_TEST_TIMEOUT } from '../gpu/train-parity';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');
// A shipped graph small enough to run twice in milliseconds: the autoencoder's decoder, z [1, 32].
const DECODER = path.join(ROOT, 'models', 'fashion-autoencoder', 'fashion-autoencoder.decoder.onnx');
const z = () => ({ z: floatTensor(Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)), [1, 32]) });

afterEach(() => setWantedEp(null));

describe('onnxruntime execution providers', () => {
  it("lists this platform's bundled providers (cpu always; the platform's GPU provider where the package has it)", () => {
    const here = bundledEps();
    expect(here).toContain('cpu');
    if (process.platform === 'linux') expect(here).toContain('webgpu');
    expect(gpuEpFor('win32')).toBe('dml');
    expect(gpuEpFor('darwin')).toBe('coreml');
    expect(gpuEpFor('linux')).toBe('webgpu');
  });

  it('knows which platforms the package ships a binary for: none for Intel Macs (darwin x64), so inference there needs the tfjs runtime', () => {
    expect(ortBinaryMissing(process.platform, process.arch)).toBeNull();
    expect(ortBinaryMissing('darwin', 'x64')).toBe('onnxruntime-node ships no binary for Intel Macs (darwin x64)');
    for (const [p, a] of [['darwin', 'arm64'], ['linux', 'x64'], ['linux', 'arm64'], ['win32', 'x64'], ['win32', 'arm64']] as const) expect(ortBinaryMissing(p, a), `${p} ${a}`).toBeNull();
  });

  it('defaults to cpu; --ep / ATELIER_EP choose; a provider the platform lacks is refused by name', async () => {
    expect(wantedEp()).toBe(process.env.ATELIER_EP ? parseEp(process.env.ATELIER_EP) : 'cpu');
    expect(await resolveEp('cpu')).toBe('cpu');
    expect(() => parseEp('cuda')).toThrow(/not an execution provider/);
    const absent = process.platform === 'win32' ? 'coreml' : 'dml';
    await expect(resolveEp(absent)).rejects.toThrow(new RegExp(`${absent} execution provider is not in this platform`));
  });

  it.skipIf(!fs.existsSync(DECODER))('parity gate: the candidate is kept within the tolerance, cpu runs with a warning above it (skipped without the shipped autoencoder decoder export)', async () => {
    // Without a GPU in CI the candidate is the cpu provider itself (|Δ| = 0; ORT's webgpu provider
    // on SwiftShader takes minutes per graph). Within 1e-3 it is kept; a negative tolerance is
    // failed by any result: the fallback path a GPU provider that differs takes.
    const kept = await gatedSession(DECODER, 'cpu', z(), { check: true });
    expect(kept.report).toMatchObject({ used: 'cpu', maxAbsDiff: 0, tolerance: EP_PARITY_TOLERANCE });
    expect(kept.report.warning).toBeUndefined();
    expect((await kept.session.run(z())).output!.dims).toEqual([1, 1, 32, 32]);
    await kept.session.release();

    const refused = await gatedSession(DECODER, 'cpu', z(), { check: true, tolerance: -1 });
    expect(refused.report.warning).toMatch(/differs from cpu by 0\.00e\+0 \(tolerance -1\) on the model's test input; using cpu/);
    expect((await refused.session.run(z())).output!.dims).toEqual([1, 1, 32, 32]);
    await refused.session.release();
  });
});

/**
 * The smallest graph of the exports' kind (a 3x3 Conv to 2 channels + Tanh, NCHW, opset 17):
 * onnxruntime's webgpu provider compiles a shader per op on first use, ~5 s each on SwiftShader,
 * and a shipped bundle's graph takes 80-90 s, too slow to run twice per CI run.
 */
function tinyConvTanh(): Uint8Array {
  const w = Float32Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => Math.sin(i * 1.7) * 0.3);
  return encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'atelier-test',
    producerVersion: '1',
    graph: {
      name: 'tiny',
      nodes: [
        { opType: 'Conv', name: 'conv', inputs: ['input', 'W', 'B'], outputs: ['c'], attributes: { pads: { type: 'ints', ints: [1, 1, 1, 1] } } },
        { opType: 'Tanh', name: 'tanh', inputs: ['c'], outputs: ['output'], attributes: {} },
      ],
      initializers: [onnxFloat('W', [2, 3, 3, 3], w), onnxFloat('B', [2], [0.1, -0.1])],
      inputs: [{ name: 'input', elemType: DT.FLOAT, shape: ['batch', 3, 8, 8] }],
      outputs: [{ name: 'output', elemType: DT.FLOAT, shape: ['batch', 2, 8, 8] }],
    },
    metadata: {},
  });
}

const noOrtWebGpu = !bundledEps().includes('webgpu') ? "this platform's onnxruntime has no webgpu provider" : noSoftwareVulkan;
describe.skipIf(noOrtWebGpu !== null)(`onnxruntime's webgpu provider on a software adapter${noOrtWebGpu ? ` (skipped: ${noOrtWebGpu})` : ' (SwiftShader)'}`, () => {
  const x = () => ({ input: floatTensor(Float32Array.from({ length: 3 * 64 }, (_, i) => Math.cos(i * 0.37)), [1, 3, 8, 8]) });

  it('a real webgpu session passes the parity gate and is kept; with a tolerance no result meets, cpu runs with a warning', async () => {
    useSoftwareGpu();
    const model = tinyConvTanh();
    const kept = await gatedSession(model, 'webgpu', x());
    expect(kept.report.warning).toBeUndefined();
    expect(kept.report).toMatchObject({ requested: 'webgpu', used: 'webgpu', tolerance: EP_PARITY_TOLERANCE });
    expect(kept.report.maxAbsDiff).toBeLessThanOrEqual(EP_PARITY_TOLERANCE);
    const out = (await kept.session.run(x())).output!;
    expect(out.dims).toEqual([1, 2, 8, 8]);
    expect(Array.from(out.data as Float32Array).every((v) => Number.isFinite(v) && Math.abs(v) <= 1)).toBe(true);
    await kept.session.release();

    const refused = await gatedSession(model, 'webgpu', x(), { tolerance: -1 });
    expect(refused.report).toMatchObject({ requested: 'webgpu', used: 'cpu', tolerance: -1 });
    expect(refused.report.warning).toMatch(/^the webgpu execution provider differs from cpu by .* \(tolerance -1\) on the model's test input; using cpu$/);
    expect((await refused.session.run(x())).output!.dims).toEqual([1, 2, 8, 8]);
    await refused.session.release();
  }, GPU_TEST_TIMEOUT);
});
