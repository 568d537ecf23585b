import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundledEps, EP_PARITY_TOLERANCE, gatedSession, gpuEpFor, parseEp, resolveEp, setWantedEp, wantedEp } from '../../../../src/main/engine/export/providers';
import { floatTensor } from '../../../../src/main/engine/export/ort';

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
