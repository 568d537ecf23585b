/**
 * Capabilities of the registered kinds, and of the shipped bundles (written before bundle.json
 * stored capabilities: they are derived from kind + config on load, so they keep working).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { capabilitiesFor, deriveCapabilities, modelKinds } from '../../../../src/main/engine/models/registry';
import { summarizeBundle } from '../../../../src/main/engine/infer/registry';
import { capabilitiesOf } from '../../../../src/main/engine/infer/model';

const MODELS = path.resolve(__dirname, '../../../../models');

describe('model capabilities', () => {
  it('every registered kind declares its data, a metrics suite with a key, and at least one of translate / generate / encode', () => {
    for (const kind of modelKinds()) {
      const c = capabilitiesFor(kind, {});
      expect(['images', 'labelled', 'paired', 'unpaired']).toContain(c.data);
      expect(c.metrics.key.name).toBeTruthy();
      expect(!!(c.translate || c.generate || c.encode)).toBe(true);
    }
  });

  it('follow the options: latent size and class count come from the resolved options and dataset names', () => {
    expect(capabilitiesFor('cgan', { nz: 12, numClasses: 3 }, { classNames: ['a', 'b', 'c'] }).generate).toEqual({ latent: 12, network: 'G', classes: { count: 3, names: ['a', 'b', 'c'] } });
    expect(capabilitiesFor('autoencoder', { latent: 5 }).encode).toEqual({ latent: 5, encoder: 'encoder', decoder: 'decoder' });
    expect(capabilitiesFor('cyclegan', {}).translate).toEqual({ AtoB: 'G_A', BtoA: 'G_B' });
    expect(deriveCapabilities('no-such-kind', {})).toBeNull();
  });

  it('shipped bundles without stored capabilities get them derived from kind and config', async () => {
    const want: Record<string, (c: NonNullable<Awaited<ReturnType<typeof summarizeBundle>>>['capabilities']) => void> = {
      'edges2fashion-pix2pix': (c) => expect([c.translate, c.metrics.suite]).toEqual([{ AtoB: 'G' }, 'paired']),
      'sneaker2boot-cyclegan': (c) => expect([c.translate, c.metrics.alarm]).toEqual([{ AtoB: 'G_A', BtoA: 'G_B' }, 'transfer-collapse']),
      'fashion-cgan': (c) => expect([c.generate?.classes?.count, c.generate?.classes?.names?.length, c.data]).toEqual([10, 10, 'labelled']),
      'fashion-autoencoder': (c) => expect([!!c.encode, c.encode?.latent === c.generate?.latent, c.metrics.suite]).toEqual([true, true, 'reconstruction']),
    };
    for (const [id, check] of Object.entries(want)) {
      const s = await summarizeBundle(path.join(MODELS, id), 'shipped', id);
      expect(s, id).not.toBeNull();
      check(s!.capabilities);
    }
  });

  it('an ONNX file with neither sidecar nor a known kind is read off its graph inputs', () => {
    const io = (name: string, dtype: 'float32' | 'int64' = 'float32') => ({ name, dtype, shape: ['batch', 4] as (number | string)[] });
    expect(capabilitiesOf(undefined, undefined, { inputs: [io('z'), io('label', 'int64')], latentSize: 4, numClasses: 3 }).generate).toEqual({ latent: 4, network: 'model', classes: { count: 3 } });
    expect(capabilitiesOf(undefined, 'unknown', { inputs: [io('z')], latentSize: 4 }).generate).toEqual({ latent: 4, network: 'model' });
    expect(capabilitiesOf(undefined, undefined, { inputs: [io('input')] }).translate).toEqual({ AtoB: 'model' });
  });
});
