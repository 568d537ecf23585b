/**
 * Adding a model is one file: the template model (engine/models/template.ts) registered under a
 * new kind, "toy", with one line, and nothing else changed. It then trains, bundles, exports,
 * translates and is scored through the channels, and the pages offer it where it fits, because
 * everything past training reads its declared capabilities, never its kind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tf } from '../../../../src/main/engine/backend';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { openWorkspace } from '../../../../src/main/engine/core/workspace';
import { ensureDemoDatasets } from '../../../../src/main/engine/data/demo';
import { registerModel } from '../../../../src/main/engine/models/registry';
import { templateDefinition } from '../../../../src/main/engine/models/template';
import { evictModels } from '../../../../src/main/engine/infer/registry';
import { generatesImages, takesImages, translatesBothWays } from '../../../../src/shared/capabilities';
import type { ChannelName, RequestOf, ResponseOf } from '../../../../src/shared/contract';
import type { OnnxExportResult } from '../../../../src/shared/channels/export';
import type { TrainSummaryInfo } from '../../../../src/shared/channels/train';
import { waitJob, type RecordedEvent } from '../../../fixtures/engine-jobs';
import { useTestBackend } from '../layers/test-backend';

// The one line that adds the kind.
registerModel(templateDefinition('toy'));

let root: string;
let eng: InProcessEngine;
const events: RecordedEvent[] = [];
const JOB_POLLS = 30000; // training and scoring take longer than waitJob's default

async function call<C extends ChannelName>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>> {
  const r = await eng.request(channel, payload);
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.data as ResponseOf<C>;
}

beforeAll(async () => {
  await useTestBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-toy-'));
  process.env.ATELIER_MODELS_DIR = path.join(root, 'shipped');
  fs.mkdirSync(process.env.ATELIER_MODELS_DIR);
  process.env.ATELIER_DEMO_FROM = 'resources';
  await ensureDemoDatasets(openWorkspace(path.join(root, 'ws')));
  eng = new InProcessEngine({ workspaceRoot: path.join(root, 'ws') });
  eng.onEvent((event, payload) => events.push({ event, payload }));
});
afterAll(async () => {
  evictModels();
  await eng.close();
  fs.rmSync(root, { recursive: true, force: true });
});

let bundleId = '';

it('train.options lists the toy kind with its options and capabilities; train.start trains it to a bundle without leaking tensors', async () => {
  const toy = (await call('train.options', { model: 'toy' }))[0]!;
  expect([toy.kind, toy.data, toy.lossNames, toy.networkNames]).toEqual(['toy', 'paired', ['L1'], ['G']]);
  expect(toy.options.find((o) => o.key === 'ngf')?.default).toBe(8);
  expect(toy.capabilities.translate).toEqual({ AtoB: 'G' });

  const before = tf.memory().numTensors;
  const { jobId, runId } = await call('train.start', { model: 'toy', datasetId: 'demo-edges2fashion', options: { ngf: 4 }, steps: 4, sampleEvery: 2, checkpointEvery: 2, keepCheckpoints: 5 });
  const summary = await waitJob<TrainSummaryInfo>(events, jobId, JOB_POLLS);
  expect([summary.runId, summary.model, summary.step]).toEqual([runId, 'toy', 4]);
  expect(Number.isFinite(summary.finalLosses.L1)).toBe(true);
  expect(events.some((e) => e.event === 'job.sample' && (e.payload as { jobId: string }).jobId === jobId)).toBe(true);
  expect(tf.memory().numTensors).toBe(before);
  bundleId = summary.bundleId!;
  expect(bundleId).toBeTruthy();
});

it('its bundle stores the capabilities, and the pages pick it by them (Translate and Models, not Latent)', async () => {
  const b = (await call('bundle.list', {})).find((x) => x.id === bundleId)!;
  expect([b.kind, b.capabilities.translate, b.capabilities.metrics.suite]).toEqual(['toy', { AtoB: 'G' }, 'paired']);
  // The predicates the pages filter bundles with (renderer/src/lib/bundles.ts).
  expect([takesImages(b.capabilities), generatesImages(b.capabilities), translatesBothWays(b.capabilities)]).toEqual([true, false, false]);
  const manifest = (await call('bundle.get', { id: bundleId })).manifest as { capabilities?: unknown; preprocessing: { direction: string } };
  expect(manifest.capabilities).toEqual(b.capabilities);
  expect(manifest.preprocessing.direction).toBe('AtoB');
});

it('exports to ONNX with parity and translates through the channels on both runtimes', async () => {
  const exp = await waitJob<OnnxExportResult>(events, (await call('export.onnx', { model: bundleId })).jobId, JOB_POLLS);
  expect(exp.pass).toBe(true);
  expect(exp.parity.maxAbsDiff).toBeLessThan(1e-4);
  const img = new Uint8Array(await sharp({ create: { width: 20, height: 12, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png().toBuffer());
  const onnx = await call('infer.translate', { model: bundleId, image: img });
  const tfjs = await call('infer.translate', { model: bundleId, image: img, runtime: 'tfjs' });
  expect([onnx.width, onnx.height, onnx.runtime]).toEqual([20, 12, 'onnx']);
  expect([tfjs.width, tfjs.height, tfjs.runtime]).toEqual([20, 12, 'tfjs']);
  // It translates images; it does not generate from noise.
  const gen = await eng.request('infer.generate', { model: bundleId, seed: 0, count: 1 });
  expect(gen.ok).toBe(false);
});

it('the scoreboard ranks its checkpoints by the key metric its capabilities name', async () => {
  const runId = (await call('run.list', {})).find((r) => r.bundleId === bundleId)!.runId;
  const board = await waitJob<{ rows: { step: number; key: { name: string; value: number } }[]; bestStep: number | null }>(events, (await call('run.scoreboard', { runId, limit: 4 })).jobId, JOB_POLLS);
  expect(board.rows.map((r) => r.step)).toEqual([2, 4]);
  expect(board.rows.every((r) => r.key.name === 'l1' && Number.isFinite(r.key.value))).toBe(true);
  expect(board.bestStep).not.toBeNull();
});
