import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnalysisReply, type PcaResult, type ReconstructResult, reconstructRequestSchema } from '../../../../src/shared/channels/analysis';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { writeBlobsDataset } from '../../../fixtures/blobs-dataset';
import { type RecordedEvent, ok, waitJob } from '../../../fixtures/engine-jobs';
import { sampleZ } from '../../../../src/main/engine/infer/latent';
import { evictModels } from '../../../../src/main/engine/infer/registry';
import { type ModelSourceReq, reconstructCompare, releaseBottlenecks, resolveModelSource } from '../../../../src/main/engine/analysis/sources';
import type { Workspace } from '../../../../src/main/engine/core/workspace';

const MODELS = path.resolve(__dirname, '../../../../models');
let tmp: string;
let ws: Workspace;
const ctx = () => ({ workspace: ws });
const PNG_SIG = [137, 80, 78, 71];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-sources-'));
  ws = { root: tmp, datasets: path.join(tmp, 'datasets'), runs: '', bundles: path.join(tmp, 'bundles'), tmp: '', shippedModels: MODELS, resources: '' };
  // 24 train / 8 test blobs, labels 0..9.
  writeBlobsDataset(ws.datasets, { nTrain: 24, nTest: 8, minRadius: 4, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
});
afterAll(async () => {
  await evictModels();
  await releaseBottlenecks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const src = (s: Record<string, unknown>) => s as unknown as ModelSourceReq;

describe('model sources for the analyses', () => {
  it('latent: the z of seed + i (as latent.sample), a cgan class per row in turn; same seed, same rows', async () => {
    const a = await resolveModelSource(ctx(), src({ kind: 'latent', model: 'fashion-cgan', count: 12, seed: 5 }), 1000);
    expect([a.matrix.rows, a.matrix.cols]).toEqual([12, 64]);
    expect([a.info.n, a.info.d]).toEqual([12, 64]);
    expect(Array.from(a.matrix.data.subarray(3 * 64, 4 * 64))).toEqual(Array.from(sampleZ(8, 1, 64)));
    expect(a.info.seeds).toEqual(Array.from({ length: 12 }, (_, i) => 5 + i));
    expect(a.info.classLabels).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(a.info.classes?.length).toBe(10);
    expect(a.info.model).toBe('fashion-cgan');
    const b = await resolveModelSource(ctx(), src({ kind: 'latent', model: 'fashion-cgan', count: 12, seed: 5 }), 1000);
    expect(b.matrix.data).toEqual(a.matrix.data);
    const c = await resolveModelSource(ctx(), src({ kind: 'latent', model: 'fashion-cgan', count: 12, seed: 6 }), 1000);
    expect(c.matrix.data).not.toEqual(a.matrix.data);
    // The default count is the analysis' limit.
    const d = await resolveModelSource(ctx(), src({ kind: 'latent', model: 'fashion-cgan', seed: 0 }), 7);
    expect(d.matrix.rows).toBe(7);
  });

  it('generated: the generator outputs as HWC rows in [0, 1], deterministic with a seed', async () => {
    await initBackend();
    const before = tf.memory().numTensors;
    const a = await resolveModelSource(ctx(), src({ kind: 'generated', model: 'fashion-cgan', count: 5, seed: 3 }), 1000);
    expect([a.matrix.rows, a.matrix.cols]).toEqual([5, 32 * 32]);
    expect(a.info.image).toEqual({ width: 32, height: 32, channels: 1 });
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of a.matrix.data) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(0.2); // an image, not a constant
    const b = await resolveModelSource(ctx(), src({ kind: 'generated', model: 'fashion-cgan', count: 5, seed: 3 }), 1000);
    expect(b.matrix.data).toEqual(a.matrix.data);
    // Row i does not depend on how many rows were asked for.
    const c = await resolveModelSource(ctx(), src({ kind: 'generated', model: 'fashion-cgan', count: 2, seed: 3 }), 1000);
    const close = Array.from(c.matrix.data).every((v, i) => Math.abs(v - a.matrix.data[i]!) < 1e-5);
    expect(close).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('features: autoencoder bottleneck of dataset images; nested subsets; a generator is refused', async () => {
    await initBackend();
    const before = tf.memory().numTensors;
    const a = await resolveModelSource(ctx(), src({ kind: 'features', model: 'fashion-autoencoder', datasetId: 'blobs', limit: 10, split: 'train', seed: 0 }), 1000);
    expect([a.matrix.rows, a.matrix.cols]).toEqual([10, 32]);
    expect(a.info.indices?.length).toBe(10);
    expect(a.info.classLabels?.length).toBe(10);
    expect(a.info.datasetId).toBe('blobs');
    expect(a.info.split).toBe('train');
    expect(Array.from(a.matrix.data).every(Number.isFinite)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    const b = await resolveModelSource(ctx(), src({ kind: 'features', model: 'fashion-autoencoder', datasetId: 'blobs', limit: 4, split: 'train', seed: 0 }), 1000);
    // A smaller limit takes a subset of the same images: their features match.
    for (let r = 0; r < 4; r++) {
      const i = a.info.indices!.indexOf(b.info.indices![r]!);
      expect(i).toBeGreaterThanOrEqual(0);
      for (let j = 0; j < 32; j++) expect(b.matrix.data[r * 32 + j]).toBeCloseTo(a.matrix.data[i * 32 + j]!, 4);
    }
    await expect(resolveModelSource(ctx(), src({ kind: 'features', model: 'fashion-cgan', datasetId: 'blobs', split: 'train', seed: 0 }), 10)).rejects.toThrow(/not an autoencoder/);
    await expect(resolveModelSource(ctx(), src({ kind: 'latent', model: 'edges2fashion-pix2pix', seed: 0 }), 10)).rejects.toThrow(/no latent space/);
  });

  it("features of a translator: the U-Net bottleneck (the first ConvTranspose's input), deterministic", async () => {
    const req = src({ kind: 'features', model: 'edges2fashion-pix2pix', datasetId: 'blobs', limit: 5, split: 'train', seed: 0 });
    const a = await resolveModelSource(ctx(), req, 1000);
    expect(a.matrix.rows).toBe(5);
    expect(a.matrix.cols).toBeGreaterThan(0);
    expect(a.matrix.cols).toBeLessThan(32 * 32); // a bottleneck, smaller than the image
    expect(a.info.description).toMatch(/bottleneck/);
    expect(Array.from(a.matrix.data).every(Number.isFinite)).toBe(true);
    // Different images, different features.
    expect(Array.from(a.matrix.data.subarray(0, a.matrix.cols))).not.toEqual(Array.from(a.matrix.data.subarray(a.matrix.cols, 2 * a.matrix.cols)));
    const b = await resolveModelSource(ctx(), req, 1000);
    expect(b.matrix.data).toEqual(a.matrix.data);
  });
});

describe('analysis.reconstruct', () => {
  it('PCA at full rank reconstructs the fitted images exactly; the autoencoder has an MSE; example triplets as PNG', async () => {
    const req = reconstructRequestSchema.parse({ datasetId: 'blobs', model: 'fashion-autoencoder', k: 100, limit: 6, fitOn: 'same', examples: 3 });
    const r = await reconstructCompare(ctx(), req);
    expect(r.n).toBe(6);
    expect(r.k).toBe(5); // capped at n - 1: the rank of 6 centred images
    expect(r.pcaMse).toBeLessThan(1e-6);
    expect(r.autoencoderMse).toBeGreaterThan(0);
    expect(r.autoencoderMse).toBeLessThan(0.25);
    expect(r.description).toMatch(/test/);
    expect(r.image).toEqual({ width: 32, height: 32, channels: 1 });
    expect(r.examples).toHaveLength(3);
    for (const e of r.examples) {
      for (const img of [e.original, e.pca, e.autoencoder]) {
        expect(Array.from(img.png.subarray(0, 4))).toEqual(PNG_SIG);
        expect([img.width, img.height]).toEqual([32, 32]);
      }
      expect(e.pcaMse).toBeLessThan(1e-6);
    }
  });

  it('default k is the bundle latent size, PCA fitted on held-out training images; fewer components, larger error', async () => {
    const full = await reconstructCompare(ctx(), reconstructRequestSchema.parse({ datasetId: 'blobs', model: 'fashion-autoencoder', limit: 8, fitLimit: 24, examples: 0 }));
    expect(full.latentSize).toBe(32);
    expect(full.k).toBe(23); // min(32, 24 - 1)
    expect(full.fit).toMatchObject({ on: 'train', n: 24 });
    expect(full.examples).toHaveLength(0);
    const few = await reconstructCompare(ctx(), reconstructRequestSchema.parse({ datasetId: 'blobs', model: 'fashion-autoencoder', k: 2, limit: 8, fitLimit: 24, examples: 0 }));
    expect(few.k).toBe(2);
    expect(few.pcaMse).toBeGreaterThan(full.pcaMse);
    expect(few.autoencoderMse).toBeCloseTo(full.autoencoderMse, 6);
    await expect(reconstructCompare(ctx(), reconstructRequestSchema.parse({ datasetId: 'blobs', model: 'fashion-cgan' }))).rejects.toThrow(/not an autoencoder/);
  });
});

describe('model sources through the engine', () => {
  let eng: InProcessEngine;
  const events: RecordedEvent[] = [];
  const prevModels = process.env.ATELIER_MODELS_DIR;
  beforeAll(() => {
    process.env.ATELIER_MODELS_DIR = MODELS;
    eng = new InProcessEngine({ workspaceRoot: tmp });
    eng.onEvent((event, payload) => events.push({ event, payload }));
  });
  afterAll(async () => {
    await eng.close();
    if (prevModels === undefined) delete process.env.ATELIER_MODELS_DIR;
    else process.env.ATELIER_MODELS_DIR = prevModels;
  });

  it('analysis.pca of generator latents runs as a job; analysis.reconstruct answers both MSEs; unknown models fail the request', async () => {
    const r = ok<AnalysisReply<PcaResult>>(await eng.request('analysis.pca', { source: { kind: 'latent', model: 'fashion-cgan', count: 20, seed: 1 }, nComponents: 3 }));
    expect(r.jobId).toBeTruthy();
    const pca = await waitJob<PcaResult>(events, r.jobId!);
    expect(pca.projection).toHaveLength(20);
    expect(pca.source).toMatchObject({ n: 20, d: 64, model: 'fashion-cgan' });
    expect(pca.source.seeds?.[0]).toBe(1);
    const rec = ok<AnalysisReply<ReconstructResult>>(await eng.request('analysis.reconstruct', { datasetId: 'blobs', model: 'fashion-autoencoder', limit: 4, fitLimit: 10, examples: 1 }));
    const res = await waitJob<ReconstructResult>(events, rec.jobId!);
    expect(res.k).toBe(9);
    expect(Number.isFinite(res.pcaMse) && Number.isFinite(res.autoencoderMse)).toBe(true);
    expect(res.examples[0]!.original.png).toBeInstanceOf(Uint8Array);
    const missing = await eng.request('analysis.pca', { source: { kind: 'generated', model: 'no-such-model' } });
    expect(missing.ok ? 'ok' : missing.error.code).toBe('NOT_FOUND');
  });
});
