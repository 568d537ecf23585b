/** The infer / latent / export / bundle channels through the engine's dispatch (contract validation included). */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { tinyCgan, writeTestBundle } from '../export/models';
import type { ChannelName, RequestOf, ResponseOf } from '../../../../src/shared/contract';
import type { OnnxExportResult } from '../../../../src/shared/channels/export';
import type { TranslateFolderResult, TranslateResult } from '../../../../src/shared/channels/infer';
import { waitJob as waitJobIn } from '../../../fixtures/engine-jobs';
import { openStudio, type Studio } from './studio';

let studio: Studio;
let root: string;
let engine: InProcessEngine;
let events: { event: string; payload: JobEnd }[];
type JobEnd = { jobId: string; result?: unknown; error?: { message: string } };
/** A job's result: the shared fixture's poll (every 10 ms) for at most 12 s. */
const waitJob = <T = OnnxExportResult>(jobId: string): Promise<T> => waitJobIn<T>(events, jobId, 1200);
const call = <C extends ChannelName>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>> => studio.call(channel, payload);

beforeAll(async () => {
  studio = await openStudio('atelier-ch-', { digits: true, facades: 'shipped', colorize: true });
  ({ root, engine } = studio);
  events = studio.events as typeof events;
});

afterAll(() => studio.close());

describe('bundle / export / latent / infer channels', () => {
  it('lists workspace and shipped bundles', async () => {
    const list = await call('bundle.list', {});
    expect(list.map((b) => [b.id, b.location, b.kind, b.onnx])).toEqual([
      ['colorize', 'workspace', 'cyclegan', null],
      ['digits', 'workspace', 'cgan', null],
      ['facades', 'shipped', 'pix2pix', null],
    ]);
  });

  it('export.onnx runs as a job, reports parity, and bundle.get reads the file back', async () => {
    const { jobId } = await call('export.onnx', { model: 'digits' });
    const res = await waitJob(jobId);
    expect(res.pass).toBe(true);
    expect(res.parity.maxAbsDiff).toBeLessThan(1e-4);
    expect(path.basename(res.file)).toBe('digits.onnx');
    const d = await call('bundle.get', { id: 'digits' });
    expect(d.summary.onnx).toBe(res.file);
    expect(d.onnx!.opset).toBe(17);
    expect(d.onnx!.inputs.map((i) => i.name)).toEqual(['z', 'label']);
    expect(d.onnx!.parity!.pass).toBe(true);
    // shipped bundles export into the workspace
    const s = await waitJob((await call('export.onnx', { model: 'facades' })).jobId);
    expect(s.file).toBe(path.join(root, 'ws', 'exports', 'facades', 'facades.onnx'));
    const shipped = (await call('bundle.list', {})).find((b) => b.id === 'facades')!;
    expect([shipped.location, shipped.onnx, shipped.parity?.pass]).toEqual(['shipped', s.file, true]);
  });

  it('latent.sample / render / interpolate / directions', async () => {
    const s = await call('latent.sample', { model: 'digits', seed: 3, count: 2 });
    expect(s.latentSize).toBe(8);
    expect(s.z).toHaveLength(2);
    const r = await call('latent.render', { model: 'digits', z: { z: s.z[0]! }, blend: { a: 1, b: 2, t: 0.3 } });
    expect(r.png).toBeInstanceOf(Uint8Array);
    expect((await sharp(r.png).metadata()).width).toBe(16);
    const it = await call('latent.interpolate', { model: 'digits', from: { seed: 1 }, to: { seed: 2 }, steps: 3 });
    expect(it.frames).toHaveLength(3);
    const d = await call('latent.directions', { model: 'digits', count: 2, samples: 16 });
    expect(d.directions).toHaveLength(2);
    const bad = await engine.request('latent.render', { model: 'digits', z: { seed: -1 } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('VALIDATION');
    const missing = await engine.request('latent.render', { model: 'nope', z: { seed: 1 } });
    if (!missing.ok) expect(missing.error.code).toBe('NOT_FOUND');
    expect(missing.ok).toBe(false);
  });

  it('infer.translate (bytes, path, both runtimes), translateFolder job, generate', async () => {
    const px = Buffer.alloc(30 * 20 * 3, 90);
    const img = new Uint8Array(await sharp(px, { raw: { width: 30, height: 20, channels: 3 } }).png().toBuffer());
    const a = await call('infer.translate', { model: 'facades', image: img });
    expect([a.width, a.height, a.runtime]).toEqual([30, 20, 'onnx']);
    const f = path.join(root, 'in', 'x.png');
    fs.mkdirSync(path.dirname(f));
    fs.writeFileSync(f, img);
    const b = await call('infer.translate', { model: 'facades', path: f, runtime: 'tfjs', keepSize: false });
    expect([b.width, b.height, b.runtime]).toEqual([16, 16, 'tfjs']);
    const both = await engine.request('infer.translate', { model: 'facades', path: f, image: img });
    expect(both.ok).toBe(false);
    const job = await call('infer.translateFolder', { model: 'facades', input: path.dirname(f), output: path.join(root, 'out') });
    const res = await waitJob<TranslateFolderResult>(job.jobId);
    expect(res.written.map((w) => path.basename(w))).toEqual(['x.png']);
    const g = await call('infer.generate', { model: 'digits', seed: 4, count: 2, label: 3 });
    expect(g.images.map((i) => i.seed)).toEqual([4, 5]);
    const wrong = await engine.request('infer.generate', { model: 'facades' });
    expect(wrong.ok).toBe(false);
  });

  it('infer.translateJob: tiles as a job with progress per tile; folder saved next to the originals with a suffix', async () => {
    const px = Buffer.alloc(100 * 60 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 7) % 251;
    const img = new Uint8Array(await sharp(px, { raw: { width: 100, height: 60, channels: 3 } }).png().toBuffer());
    const job = await call('infer.translateJob', { model: 'facades', image: img, tile: 32, overlap: 8 });
    const r = await waitJob<TranslateResult>(job.jobId);
    const progress = events.filter((e) => e.event === 'job.progress' && e.payload.jobId === job.jobId).map((e) => (e.payload as unknown as { step: number }).step);
    expect([r.width, r.height, r.workWidth, r.scale]).toEqual([100, 60, 100, 'native']);
    expect(r.tiles).toBeGreaterThan(4);
    expect(progress.at(-1)).toBe(r.tiles);
    const beside = path.join(root, 'beside');
    fs.mkdirSync(beside);
    fs.writeFileSync(path.join(beside, 'p.png'), img);
    const same = await engine.request('infer.translateFolder', { model: 'facades', input: beside, output: beside });
    expect(same.ok).toBe(false);
    for (let i = 0; i < 2; i++) {
      const f = await call('infer.translateFolder', { model: 'facades', input: beside, output: beside, suffix: '-facades' });
      const res = await waitJob<TranslateFolderResult>(f.jobId);
      expect(res.written.map((w) => path.basename(w))).toEqual(['p-facades.png']);
    }
    expect(fs.readdirSync(beside).sort()).toEqual(['p-facades.png', 'p.png']);
  });

  it('a bundle replaced on disk (re-promoted) is reloaded, not served from the cache', async () => {
    const first = await call('infer.generate', { model: 'digits', seed: 9, count: 1, label: 1 });
    const dir = path.join(root, 'ws', 'bundles', 'digits');
    fs.rmSync(dir, { recursive: true, force: true });
    const g = tinyCgan(8, 10, 1, 8);
    for (const l of g.layers) if (l.getClassName() === 'Dense') l.setWeights(l.getWeights().map((w) => w.mul(-1)));
    await writeTestBundle(dir, { id: 'digits', model: 'cgan', networks: { G: g }, size: 16, channels: 1, latent: 8, classes: { count: 10 } });
    g.dispose();
    await new Promise((r) => setTimeout(r, 1100));
    const second = await call('infer.generate', { model: 'digits', seed: 9, count: 1, label: 1 });
    expect(Buffer.from(second.images[0]!.png).equals(Buffer.from(first.images[0]!.png))).toBe(false);
    expect((await call('bundle.list', {})).find((b) => b.id === 'digits')!.onnx).toBe(null);
  });

  it('cyclegan with different channel counts: both directions, exported and in memory', async () => {
    const grey = new Uint8Array(await sharp(Buffer.alloc(20 * 20, 128), { raw: { width: 20, height: 20, channels: 1 } }).png().toBuffer());
    const ab = await waitJob((await call('export.onnx', { model: 'colorize' })).jobId);
    const ba = await waitJob((await call('export.onnx', { model: 'colorize', direction: 'BtoA' })).jobId);
    expect(path.basename(ab.file)).toBe('colorize.onnx');
    expect(path.basename(ba.file)).toBe('colorize.BtoA.onnx');
    expect([ab.pass, ba.pass]).toEqual([true, true]);
    expect(ab.inputs[0].shape).toEqual(['batch', 1, 'height', 'width']);
    expect(ab.outputs[0].shape).toEqual(['batch', 3, 'height', 'width']);
    expect(ba.inputs[0].shape).toEqual(['batch', 3, 'height', 'width']);
    const colour = await call('infer.translate', { model: 'colorize', image: grey });
    expect((await sharp(colour.png).metadata()).channels).toBe(3);
    const back = await call('infer.translate', { model: 'colorize', image: colour.png, direction: 'BtoA', runtime: 'tfjs' });
    expect((await sharp(back.png).metadata()).channels).toBe(1);
    const list = await call('bundle.list', {});
    expect(list.find((b) => b.id === 'colorize')!.onnx).toBe(ab.file);
  });
});
