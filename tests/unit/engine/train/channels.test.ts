/* eslint-disable @typescript-eslint/no-explicit-any -- untyped envelopes and event payloads in a test */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import type { EventName } from '../../../../src/shared/events';
import { useTestBackend } from '../layers/test-backend';

let root: string;
let eng: InProcessEngine;
const events: { event: EventName; payload: any }[] = [];
beforeAll(async () => {
  await useTestBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-trainch-'));
  eng = new InProcessEngine({ workspaceRoot: root });
  eng.onEvent((event, payload) => events.push({ event, payload }));
});
afterAll(async () => {
  await eng.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function call(channel: string, payload: unknown): Promise<any> {
  const r = await eng.request(channel, payload);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.data;
}

function waitEnd(jobId: string): Promise<{ event: EventName; payload: any }> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      const e = events.find((x) => (x.event === 'job.done' || x.event === 'job.failed') && x.payload.jobId === jobId);
      if (e) {
        clearInterval(t);
        resolve(e);
      }
    }, 20);
  });
}

const tiny = { size: 16, ngf: 4, ndf: 4 };

it('train.options lists the five models with described options', async () => {
  const models = await call('train.options', {});
  expect(models.map((m: any) => m.kind).sort()).toEqual(['autoencoder', 'cgan', 'cyclegan', 'gan', 'pix2pix']);
  const p2p = models.find((m: any) => m.kind === 'pix2pix');
  expect(p2p.lossNames).toEqual(['G_GAN', 'G_L1', 'D_real', 'D_fake']);
  expect(p2p.options.find((o: any) => o.key === 'lambdaL1').default).toBe(100);
});

it('train.start -> progress + sample events -> done; run.list/get/promote/delete', async () => {
  const { jobId, runId } = await call('train.start', { model: 'pix2pix', datasetId: 'synthetic:paired', options: tiny, steps: 3, sampleEvery: 2, checkpointEvery: 2 });
  const end = await waitEnd(jobId);
  expect(end.event).toBe('job.done');
  expect(end.payload.result.step).toBe(3);
  expect(end.payload.job.runId).toBe(runId);
  const prog = events.filter((e) => e.event === 'job.progress' && e.payload.jobId === jobId && e.payload.losses);
  expect(prog.length).toBeGreaterThan(0);
  expect(Object.keys(prog[0]!.payload.losses)).toContain('G_L1');
  const sample = events.find((e) => e.event === 'job.sample' && e.payload.jobId === jobId);
  expect(sample!.payload.png[0]).toBe(0x89);

  const runs = await call('run.list', {});
  expect(runs.find((r: any) => r.runId === runId).state).toBe('done');
  const detail = await call('run.get', { runId });
  expect(detail.log.map((e: any) => e.step)).toEqual([1, 2, 3]);
  expect(detail.latestSample.step).toBe(3);
  expect(detail.checkpoints.map((c: any) => c.step)).toEqual([2, 3]);
  expect(detail.summary.bundleId).toBeTruthy();
  const p = await call('run.promote', { runId, step: 2 });
  expect(fs.existsSync(path.join(p.dir, 'bundle.json'))).toBe(true);
  expect(await call('run.delete', { runId })).toEqual({ deleted: true });
  await expect(call('run.get', { runId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
});

it('pause, cancel (writes a checkpoint), then train.resume finishes the run', async () => {
  const { jobId, runId } = await call('train.start', { model: 'autoencoder', datasetId: 'synthetic:images', options: { size: 16, latent: 4, ngf: 4 }, steps: 400, checkpointEvery: 1000, sampleEvery: 1000, bundle: false });
  await new Promise<void>((r) => {
    const t = setInterval(() => {
      if (events.some((e) => e.event === 'job.progress' && e.payload.jobId === jobId && e.payload.step >= 1)) {
        clearInterval(t);
        r();
      }
    }, 10);
  });
  const paused = await call('train.pause', { jobId, paused: true });
  expect(paused.state).toBe('paused');
  await call('train.pause', { jobId, paused: false });
  await call('job.cancel', { jobId });
  const end = await waitEnd(jobId);
  expect(end.event).toBe('job.failed');
  expect(end.payload.cancelled).toBe(true);
  const d = await call('run.get', { runId });
  expect(d.summary.state).toBe('cancelled');
  expect(d.checkpoints.length).toBe(1);
  const stoppedAt = d.checkpoints[0].step;
  expect(stoppedAt).toBeLessThan(400);
  await expect(call('train.start', { model: 'nope', datasetId: 'x' })).rejects.toMatchObject({ code: 'VALIDATION' });
  // resume to the end (shorten the wait: the autoencoder at 16 px is a few ms per step)
  const r = await call('train.resume', { runId });
  const end2 = await waitEnd(r.jobId);
  expect(end2.event).toBe('job.done');
  expect(end2.payload.result.resumedFrom).toBe(stoppedAt);
  expect(end2.payload.result.step).toBe(400);
});
