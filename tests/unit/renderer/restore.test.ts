import { describe, expect, it } from 'vitest';
import { latentSettingsOf, translateSettingsOf } from '../../../src/renderer/src/lib/restore';
import type { BundleView } from '../../../src/renderer/src/lib/bundles';
import type { Provenance } from '../../../src/shared/provenance';
import type { ProvenanceCheck } from '../../../src/shared/channels/provenance';

const gen = { id: 'digits', name: 'Digits', kind: 'cgan', capabilities: { data: 'labelled', generate: { latent: 8, network: 'G', classes: { count: 10 } } } } as unknown as BundleView;
const tr = { id: 'colorize', name: 'Colorize', kind: 'cyclegan', capabilities: { data: 'unpaired', translate: { AtoB: 'G_A', BtoA: 'G_B' } } } as unknown as BundleView;
const all = [gen, tr];
const isGen = (b: BundleView) => !!b.capabilities.generate;
const isTr = (b: BundleView) => !!b.capabilities.translate;

const base = { format: 'atelier-provenance', version: 1, app: { name: 'atelier', version: '0.1.0' }, width: 16, height: 16, createdAt: '2026-12-06T00:00:00.000Z' } as const;
const model = (id: string, kind: string) => ({ id, name: id, kind, weightsSha256: 'a'.repeat(64), runtime: 'onnx' as const, backend: 'onnxruntime-node cpu' });
const ok = (p: Provenance): ProvenanceCheck => ({ provenance: p, model: { id: p.model.id, state: 'ok', message: '' } });

const latent: Provenance = {
  ...base,
  op: 'latent',
  model: model('digits', 'cgan'),
  seed: 42,
  label: 3,
  sliders: { pca: { count: 8, samples: 256, seed: 0, space: 'features', amounts: [0, 1.5, 0, -2] }, dims: [{ index: 2, value: 0.5 }], blend: { a: 3, b: 7, t: 0.25 } },
};

describe('drag-back restore rules', () => {
  it('a Latent render restores seed, PCA sliders (with their directions request), raw dimensions and the class blend', () => {
    const r = latentSettingsOf(ok(latent), all, isGen);
    expect(r).toMatchObject({ ok: true, bundleId: 'digits' });
    if (!r.ok) return;
    expect(r.settings).toEqual({ seed: 42, dirReq: { count: 8, samples: 256, seed: 0, space: 'features' }, amounts: [0, 1.5, 0, -2], dims: { 2: 0.5 }, label: 3, blendTo: 7, blendT: 0.25 });
    expect(r.note).toMatch(/seed 42, 3 sliders, class blend 25%/);
  });

  it('says precisely why nothing was restored', () => {
    expect(latentSettingsOf({ provenance: null, model: null }, all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/no Atelier provenance/) });
    const missing = { provenance: latent, model: { id: 'digits', state: 'missing' as const, message: 'The model "digits" that made this image is not here (deleted, renamed, or from another workspace).' } };
    expect(latentSettingsOf(missing, all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/"digits" that made this image is not here/) });
    const tp: Provenance = { ...base, op: 'translate', model: model('colorize', 'cyclegan') };
    expect(latentSettingsOf(ok(tp), all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/Drop it on the Translate page/) });
    const noSeed: Provenance = { ...latent, seed: undefined };
    expect(latentSettingsOf(ok(noSeed), all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/without a seed, and its vector was left out/) });
    const grid: Provenance = { ...base, op: 'samples', model: model('digits', 'cgan') };
    expect(latentSettingsOf(ok(grid), all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/training run's weights/) });
    const images: Provenance = { ...base, op: 'interpolate', model: model('digits', 'cgan'), interpolation: { from: { imageSha256: 'c'.repeat(64) }, to: { imageSha256: 'd'.repeat(64) }, steps: 4, mode: 'lerp' } };
    expect(latentSettingsOf(ok(images), all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/drop the two images on keyframes A and B/) });
    // A bundle id present in the record but not usable on this page is not selected.
    expect(latentSettingsOf(ok({ ...latent, model: model('colorize', 'cyclegan') }), all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/does not work on the Latent page/) });
  });

  it('an arithmetic render (no seed) restores its rendered vector, sliders included, and its class', () => {
    const v = [0.5, -1, 2, 0, 0, 0, 0, 1];
    const r = latentSettingsOf(ok({ ...latent, seed: undefined, latent: v, sliders: undefined }), all, isGen);
    expect(r).toMatchObject({ ok: true, bundleId: 'digits', settings: { z: v, label: 3 } });
    expect(r.ok && r.note).toMatch(/rendered latent vector \(8 values/);
  });

  it('an interpolation frame restores keyframes, steps, mode, the frame (its vector) and the class blend at its t', () => {
    const v = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    const frame: Provenance = {
      ...base,
      op: 'interpolate',
      model: model('digits', 'cgan'),
      latent: v,
      interpolation: { from: { seed: 5 }, to: { z: [1, 1, 1, 1, 1, 1, 1, 1] }, steps: 5, mode: 'lerp', frame: 2, blend: { a: 1, b: 4 } },
    };
    const r = latentSettingsOf(ok(frame), all, isGen);
    expect(r).toMatchObject({ ok: true, bundleId: 'digits' });
    if (!r.ok) return;
    expect(r.settings).toEqual({ seed: 5, z: v, label: 1, blendTo: 4, blendT: 0.5, interpolation: { from: { seed: 5 }, to: { z: [1, 1, 1, 1, 1, 1, 1, 1] }, steps: 5, mode: 'lerp', frame: 2 } });
    expect(r.note).toMatch(/lerp interpolation, keyframes A and B, frame 3 of 5, class blend 50%/);
    // The strip (no frame): the path only, the page interpolates it again.
    const { frame: _f, ...strip } = frame.interpolation!;
    const s = latentSettingsOf(ok({ ...frame, latent: undefined, interpolation: strip }), all, isGen);
    expect(s.ok && s.settings).toEqual({ seed: 5, label: 1, blendTo: 4, blendT: 0, interpolation: { from: { seed: 5 }, to: { z: [1, 1, 1, 1, 1, 1, 1, 1] }, steps: 5, mode: 'lerp' } });
    // Image keyframes (autoencoder): the frame's own vector still restores it.
    const ae: Provenance = { ...frame, interpolation: { ...frame.interpolation!, from: { imageSha256: 'c'.repeat(64) }, blend: undefined } };
    const a = latentSettingsOf(ok(ae), all, isGen);
    expect(a.ok && a.settings).toEqual({ seed: 0, z: v });
    expect(a.ok && a.note).toMatch(/drop them on A and B again/);
  });

  it('changed weights still restore, with a warning', () => {
    const r = latentSettingsOf({ provenance: latent, model: { id: 'digits', state: 'changed', message: 'its weights changed' } }, all, isGen);
    expect(r.ok && r.note).toMatch(/Warning: its weights changed/);
  });

  it('a translation restores model, direction, runtime, scale, tile and fit, and names the input', () => {
    const tp: Provenance = {
      ...base,
      op: 'translate',
      model: { ...model('colorize', 'cyclegan'), direction: 'BtoA' },
      input: { name: 'cat.jpg', sha256: 'b'.repeat(64), width: 640, height: 480 },
      scale: 512,
      tiles: 4,
      tileSize: 256,
      overlap: 64,
    };
    const r = translateSettingsOf(ok(tp), all, isTr);
    expect(r).toMatchObject({ ok: true, bundleId: 'colorize', settings: { direction: 'BtoA', runtime: 'onnx', scaleMode: 'long', longSide: 512, tile: 256, input: { name: 'cat.jpg' } } });
    expect(r.ok && r.note).toMatch(/The input was cat\.jpg \(640×480\)/);
  });
});
