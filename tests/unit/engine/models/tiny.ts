/**
 * The smallest options of every model kind (16 px, widths 4) and a synthetic batch source for
 * them: the conformance suite (models.test.ts) and the WebGPU training parity (gpu/train-parity.ts)
 * train the same tiny models, so a kind's tiny options live in one place.
 */
import { MODELS, type ModelKind } from '../../../../src/main/engine/models';
import { InMemoryBatchSource, syntheticImages } from '../../../../src/main/engine/train/source';

export const TINY: Record<ModelKind, Record<string, unknown>> = {
  gan: { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 2, sampleCount: 3 },
  cgan: { size: 16, channels: 1, nz: 8, ngf: 4, ndf: 4, batchSize: 2, numClasses: 3, sampleCount: 2 },
  pix2pix: { size: 16, channels: 3, ngf: 4, ndf: 4 },
  // Reflection padding, instance norm, the image pool.
  cyclegan: { size: 16, channels: 3, ngf: 4, ndf: 4, blocks: 1, poolSize: 2 },
  autoencoder: { size: 16, channels: 3, latent: 4, ngf: 4, batchSize: 2 },
};

/** Six synthetic items of the data the kind needs (paired, unpaired, labelled or plain), fixed seed. */
export function tinySource(kind: ModelKind, o: Record<string, unknown>): InMemoryBatchSource {
  const need = MODELS[kind]!.data;
  const d = syntheticImages({ n: 6, size: o.size as number, channels: o.channels as number, seed: 7, kind: need, numClasses: 3 });
  return new InMemoryBatchSource(
    {
      a: d.a,
      ...(need === 'paired' || need === 'unpaired' ? { b: d.b } : {}),
      ...(need === 'labelled' ? { labels: d.labels, numClasses: 3 } : {}),
      size: o.size as number,
      channels: o.channels as number,
      paired: need === 'paired',
    },
    (o.batchSize as number) ?? 1,
    3,
  );
}
