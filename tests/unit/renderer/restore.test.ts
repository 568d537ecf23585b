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
    expect(latentSettingsOf(ok(noSeed), all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/without a seed/) });
    // A bundle id present in the record but not usable on this page is not selected.
    expect(latentSettingsOf(ok({ ...latent, model: model('colorize', 'cyclegan') }), all, isGen)).toEqual({ ok: false, message: expect.stringMatching(/does not work on the Latent page/) });
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
