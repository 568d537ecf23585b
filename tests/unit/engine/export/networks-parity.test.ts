/** ONNX export parity for the project's real network builders (tiny sizes). */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as tfTypes from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/main/engine/backend';
import { autoencoderNetworks, dcganGenerator, resnetGenerator, unetGenerator } from '../../../../src/main/engine/networks';
import { buildOnnx, parityOf, PARITY_THRESHOLD, type ExportSource } from '../../../../src/main/engine/export/onnx-export';
import { randomizeBatchNorm } from './models';

beforeAll(async () => {
  await initBackend();
});

async function worst(s: ExportSource): Promise<number> {
  let w = 0;
  for (const b of buildOnnx(s)) w = Math.max(w, (await parityOf(b, 2, 7, s.classNames?.length ?? 10)).maxAbsDiff);
  return w;
}

const base = { name: 'net', imageSize: 16, channels: 3 } as const;

describe('real generators export with parity < 1e-4', () => {
  it('U-Net (batch norm, dropout, down to 1x1)', async () => {
    const g = unetGenerator({ size: 16, inChannels: 3, outChannels: 3, ngf: 4, norm: 'batch', dropout: true, seed: 1 });
    randomizeBatchNorm(g);
    expect(await worst({ ...base, kind: 'pix2pix', generator: g })).toBeLessThan(PARITY_THRESHOLD);
    g.dispose();
  });

  for (const upsample of ['transpose', 'resize'] as const) {
    it(`ResNet generator (instance norm, reflection pad, ${upsample} upsampling)`, async () => {
      const g = resnetGenerator({ size: 16, inChannels: 3, outChannels: 3, ngf: 4, norm: 'instance', blocks: 2, upsample, seed: 2 });
      expect(await worst({ ...base, kind: 'cyclegan', generator: g })).toBeLessThan(PARITY_THRESHOLD);
      g.dispose();
    });
  }

  it('DCGAN and conditional DCGAN generators', async () => {
    const gs: tfTypes.LayersModel[] = [];
    for (const numClasses of [0, 10]) {
      const g = dcganGenerator({ size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, numClasses, seed: 3 });
      randomizeBatchNorm(g);
      gs.push(g);
      const kind = numClasses ? 'cgan' : 'gan';
      const s: ExportSource = { ...base, channels: 1, kind, generator: g, latentSize: 8, ...(numClasses ? { classNames: Array.from({ length: 10 }, (_, i) => String(i)) } : {}) };
      const [b] = buildOnnx(s);
      expect(b!.inputs.map((i) => i.name)).toEqual(numClasses ? ['z', 'label'] : ['z']);
      expect(await worst(s)).toBeLessThan(PARITY_THRESHOLD);
    }
    gs.forEach((g) => g.dispose());
  });

  it('autoencoder encoder + decoder', async () => {
    const { encoder, decoder } = autoencoderNetworks({ size: 16, channels: 1, latent: 4, ngf: 4, norm: 'batch', seed: 4 });
    randomizeBatchNorm(encoder);
    randomizeBatchNorm(decoder);
    expect(await worst({ ...base, channels: 1, kind: 'autoencoder', encoder, decoder, latentSize: 4 })).toBeLessThan(PARITY_THRESHOLD);
    encoder.dispose();
    decoder.dispose();
  });
});
