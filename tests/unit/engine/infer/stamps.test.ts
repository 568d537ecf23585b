/**
 * Every PNG the studio returns carries its provenance: translate (bytes and job), generate,
 * latent renders (seed, PCA sliders, raw dimensions, class blend) and interpolation frames and
 * strips, through the engine's dispatch as the pages call it.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProvenance } from '../../../../src/main/engine/infer/png-provenance';
import { stampSamples } from '../../../../src/main/engine/infer/provenance';
import type { ChannelName, RequestOf, ResponseOf } from '../../../../src/shared/contract';
import type { TranslateResult } from '../../../../src/shared/channels/infer';
import { waitJob as waitJobIn, type RecordedEvent } from '../../../fixtures/engine-jobs';
import { openStudio, type Studio } from './studio';

let studio: Studio;
let events: RecordedEvent[];
let photo: Uint8Array;
const pixels = async (png: Uint8Array) => sharp(png).raw().toBuffer();
const call = <C extends ChannelName>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>> => studio.call(channel, payload);

beforeAll(async () => {
  studio = await openStudio('atelier-stamps-', { digits: true, colorize: true });
  events = studio.events as typeof events;
  const b = await sharp({ create: { width: 24, height: 20, channels: 3, background: { r: 90, g: 140, b: 30 } } }).png().toBuffer();
  photo = new Uint8Array(b);
});

afterAll(() => studio.close());

describe('every returned PNG carries its provenance', () => {
  it('infer.translate: bundle id, weights hash, provider, direction, input hash and scale', async () => {
    const r = await call('infer.translate', { model: 'colorize', image: photo, direction: 'BtoA', scale: 'model', fit: 'cover' });
    const p = (await readProvenance(r.png))!;
    expect(p.op).toBe('translate');
    expect(p.model).toMatchObject({ id: 'colorize', kind: 'cyclegan', runtime: 'onnx', backend: 'onnxruntime-node cpu', direction: 'BtoA', weightsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(p.input).toMatchObject({ name: 'image', width: 24, height: 20 });
    // cover: the centre square of the input, kept at its size.
    expect(p).toMatchObject({ scale: 'model', fit: 'cover', keepSize: true, width: 20, height: 20 });
  });

  it('infer.translateJob: the job result carries the same record', async () => {
    const { jobId } = await call('infer.translateJob', { model: 'colorize', image: photo });
    const r = await waitJobIn<TranslateResult>(events, jobId, 1500);
    const p = (await readProvenance(r.png))!;
    expect(p.op).toBe('translate');
    expect(p.scale).toBe('native');
    // One-way use of a two-way model still names the direction; fit only matters at scale 'model'.
    expect(p.model.direction).toBe('AtoB');
    expect(p.fit).toBeUndefined();
  });

  it('infer.generate: seed, class, and the latent vector z = sampleZ(seed)', async () => {
    const r = await call('infer.generate', { model: 'digits', seed: 5, count: 2, label: 3 });
    const z = (await call('latent.sample', { model: 'digits', seed: 6 })).z[0]!;
    const p = (await readProvenance(r.images[1]!.png))!;
    expect(p).toMatchObject({ op: 'generate', seed: 6, label: 3, className: '3' });
    expect(Float32Array.from(p.latent!)).toEqual(Float32Array.from(z));
  });

  it('latent.render: seed, PCA sliders (by index), raw dimensions and the class blend, and the stored z renders the same pixels', async () => {
    const pca = { count: 3, samples: 32, seed: 0, space: 'output' as const, amounts: [1.5, 0, -0.5] };
    const r = await call('latent.render', { model: 'digits', z: { seed: 11 }, pca, dims: [{ index: 2, value: 0.25 }], label: 1, blend: { a: 1, b: 7, t: 0.4 } });
    const p = (await readProvenance(r.png))!;
    expect(p).toMatchObject({ op: 'latent', seed: 11, label: 1, className: '1' });
    expect(p.sliders).toEqual({ pca, dims: [{ index: 2, value: 0.25 }], blend: { a: 1, b: 7, t: 0.4 } });
    expect(Float32Array.from(p.latent!)).toEqual(Float32Array.from(r.z));
    // The recorded vector alone reproduces the image (directions are applied before the record).
    const again = await call('latent.render', { model: 'digits', z: { z: p.latent! }, blend: { a: 1, b: 7, t: 0.4 } });
    expect((await pixels(again.png)).equals(await pixels(r.png))).toBe(true);
  });

  it('latent.render: PCA sliders by index move z exactly as the same directions sent as vectors', async () => {
    const dreq = { count: 2, samples: 32, seed: 0, space: 'output' as const };
    const d = await call('latent.directions', { model: 'digits', ...dreq });
    const byIndex = await call('latent.render', { model: 'digits', z: { seed: 3 }, pca: { ...dreq, amounts: [0, 2] } });
    const byVector = await call('latent.render', { model: 'digits', z: { seed: 3 }, moves: [{ direction: d.directions[1]!, amount: 2, sigma: d.sigma[1] }] });
    expect(byIndex.z).toEqual(byVector.z);
    const plain = await call('latent.render', { model: 'digits', z: { seed: 3 } });
    expect(byIndex.z).not.toEqual(plain.z);
  });

  it('latent.interpolate: each frame names its place on the path; the sheet names the path', async () => {
    const r = await call('latent.interpolate', { model: 'digits', from: { seed: 1 }, to: { seed: 2 }, steps: 4, mode: 'lerp', label: 4, sheet: true });
    const f2 = (await readProvenance(r.frames[2]!.png))!;
    expect(f2).toMatchObject({ op: 'interpolate', label: 4, interpolation: { from: { seed: 1 }, to: { seed: 2 }, steps: 4, mode: 'lerp', frame: 2 } });
    expect(Float32Array.from(f2.latent!)).toEqual(Float32Array.from(r.z[2]!));
    expect(r.sheet).toMatchObject({ width: 64, height: 16 });
    const s = (await readProvenance(r.sheet!.png))!;
    expect(s.interpolation).toEqual({ from: { seed: 1 }, to: { seed: 2 }, steps: 4, mode: 'lerp' });
    expect(s.latent).toBeUndefined();
  });

  it('a training sample grid names its run, kind and step, without a weights hash', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).png().toBuffer();
    const p = (await readProvenance(await stampSamples({ png, width: 8, height: 8 }, { runId: 'run-1', kind: 'pix2pix', step: 40 })))!;
    expect(p).toMatchObject({ op: 'samples', run: { id: 'run-1' }, model: { id: 'run-1', kind: 'pix2pix', step: 40, runtime: 'tfjs' } });
    expect(p.model.weightsSha256).toBeUndefined();
  });
});
