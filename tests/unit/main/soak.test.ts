/**
 * Soak: 1,000 tiny training steps, 1,000 translations and a 500-render latent slider storm
 * through the real engine hosts. Tensor count is flat between phases, RSS stays bounded, and the
 * storm leaves no queue behind (every render answers; the engine is idle afterwards). Training
 * runs in the client's trainer host: its figures are app.stats' `trainer`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EngineClient, childProcessSpawner } from '../../../src/main/engine/client/client';
import type { Envelope } from '../../../src/shared/errors';
import type { EngineStats } from '../../../src/shared/channels/app';

const STEPS = Number(process.env.ATELIER_SOAK_STEPS ?? 1000);
const TRANSLATIONS = Number(process.env.ATELIER_SOAK_TRANSLATIONS ?? 1000);
const RENDERS = Number(process.env.ATELIER_SOAK_RENDERS ?? 500);
const MiB = 2 ** 20;

describe('soak through the engine host', () => {
  let client: EngineClient;
  const events: { event: string; payload: Record<string, unknown> }[] = [];
  beforeAll(() => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-soak-'));
    client = new EngineClient(childProcessSpawner({ ...process.env, ATELIER_WORKSPACE: ws, ATELIER_ENGINE_FROM_SOURCE: '1' }));
    client.onEvent((event, payload) => events.push({ event, payload: payload as Record<string, unknown> }));
  });
  afterAll(async () => {
    await client.close();
  });
  const ok = async <T>(p: Promise<Envelope<unknown>>): Promise<T> => {
    const e = await p;
    if (!e.ok) throw new Error(`${e.error.code}: ${e.error.message}`);
    return e.data as T;
  };
  const done = async (jobId: string) => {
    for (;;) {
      const e = events.find((x) => (x.event === 'job.done' || x.event === 'job.failed') && x.payload.jobId === jobId);
      if (e) {
        if (e.event === 'job.failed') throw new Error(JSON.stringify(e.payload.error));
        return e.payload.result as Record<string, unknown>;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stats = () => ok<EngineStats>(client.request('app.stats', {}));
  const train = async (model: string, datasetId: string, steps: number, options: Record<string, unknown>) => {
    const { jobId } = await ok<{ jobId: string }>(client.request('train.start', { model, datasetId, steps, options, sampleEvery: 250, checkpointEvery: 500, keepCheckpoints: 1 }));
    return (await done(jobId)) as { bundleId: string };
  };

  it('trains, translates and renders for a long time without growing', async () => {
    await done((await ok<{ jobId: string }>(client.request('dataset.demo', {}))).jobId);
    const datasets = await ok<{ id: string; kind: string }[]>(client.request('dataset.list', {}));
    const paired = datasets.find((d) => d.kind === 'paired')!.id;
    const images = datasets.find((d) => d.kind === 'labeled' || d.kind === 'fashion-mnist')!.id;

    // Warm-up run so lazily created state (kernels, caches) exists before the baseline.
    await train('pix2pix', paired, 20, { ngf: 4, ndf: 4, seed: 1 });
    const base = await stats();
    const run = await train('pix2pix', paired, STEPS, { ngf: 4, ndf: 4, seed: 2 });
    const afterTrain = await stats();
    // The trainer host trained both runs; it is the same process. Its reading post-dates the run
    // (idle, so read for this request): no job counted as running in it.
    expect(base.trainer && afterTrain.trainer).toBeTruthy();
    expect(afterTrain.trainer!.pid).toBe(base.trainer!.pid);
    expect(afterTrain.trainer!.tensors).toBe(base.trainer!.tensors);
    expect(afterTrain.trainer!.rssBytes - base.trainer!.rssBytes).toBeLessThan(300 * MiB);
    expect(afterTrain.trainer!.runningJobs).toBe(0);
    expect(afterTrain.tensors).toBe(base.tensors);
    expect(afterTrain.runningJobs).toBe(0);

    const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer();
    const image = new Uint8Array(png);
    const translate = () => ok<{ png: Uint8Array }>(client.request('infer.translate', { model: run.bundleId, image }));
    for (let i = 0; i < 50; i++) await translate();
    const t0 = await stats();
    for (let i = 50; i < TRANSLATIONS; i++) {
      const out = await translate();
      if (i === 50) expect(out.png.byteLength).toBeGreaterThan(50);
    }
    const t1 = await stats();
    expect(t1.tensors).toBe(t0.tensors);
    expect(t1.rssBytes - t0.rssBytes).toBeLessThan(200 * MiB);

    const ae = await train('autoencoder', images, 30, { seed: 3 });
    // The first render loads the bundle into the engine's cache; the baseline is after it.
    await ok(client.request('latent.render', { model: ae.bundleId, z: { seed: 0 } }));
    const r0 = await stats();
    // The storm: every render fired at once, as a slider dragged with no client-side throttle.
    const renders = await Promise.all(Array.from({ length: RENDERS }, (_, i) => client.request('latent.render', { model: ae.bundleId, z: { seed: i } })));
    for (const r of renders) expect(r.ok).toBe(true);
    // Each render answered its own seed (not one result handed to every caller).
    const zOf = (r: Envelope<unknown>) => (r as { ok: true; data: { z: number[] } }).data.z.join(',');
    expect(new Set(renders.map(zOf)).size).toBe(RENDERS);
    const r1 = await stats();
    expect(r1.runningJobs).toBe(0);
    expect(r1.tensors).toBe(r0.tensors);
    expect(r1.rssBytes - r0.rssBytes).toBeLessThan(200 * MiB);
    // Nothing still queued: no request waits on either host, and the storm left no job behind.
    expect(client.pendingRequests).toBe(0);
    expect((await stats()).runningJobs).toBe(0);
  }, 1_200_000);
});
