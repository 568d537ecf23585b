/**
 * import.pytorch through the in-process engine: validation, a refused file as a failed job, a bundle
 * as the job's result. import.pytorchRun: the files become a run that train.resume trains.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import type { PytorchImportResult, PytorchRunResult } from '../../../../src/shared/channels/interop';
import type { Envelope } from '../../../../src/shared/errors';
import { writeZip } from '../../../../src/main/engine/interop/zip';
import { type RecordedEvent, jobEnd, waitJob } from '../../../fixtures/engine-jobs';
import { NO_TORCH, runReference, torchAvailable } from './torch';

let tmp: string;
let eng: InProcessEngine;
const events: RecordedEvent[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-importch-'));
  eng = new InProcessEngine({ workspaceRoot: path.join(tmp, 'ws') });
  eng.onEvent((event, payload) => events.push({ event, payload }));
});
afterAll(async () => {
  await eng.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const code = (env: Envelope<unknown>) => (env.ok ? 'ok' : env.error.code);

describe('import.pytorch', () => {
  it('validates the request', async () => {
    expect(code(await eng.request('import.pytorch', { files: [] } as never))).toBe('VALIDATION');
    expect(code(await eng.request('import.pytorch', { files: ['x.pth'], mode: 'sometimes' } as never))).toBe('VALIDATION');
  });

  it('a file calling os.system fails the job with the global named, and leaves no bundle', async () => {
    const bad = path.join(tmp, 'latest_net_G.pth');
    const pkl = Uint8Array.from([0x80, 0x02, ...Buffer.from('cos\nsystem\n'), 0x58, 2, 0, 0, 0, ...Buffer.from('id'), 0x85, 0x52, 0x2e]);
    fs.writeFileSync(bad, writeZip([{ name: 'archive/data.pkl', data: pkl }]));
    const env = await eng.request('import.pytorch', { files: [bad] });
    if (!env.ok) throw new Error(env.error.message);
    const end = await jobEnd(events, (env.data as { jobId: string }).jobId);
    expect(end.ok).toBe(false);
    expect(JSON.stringify(end.payload)).toContain('os.system');
    expect(fs.readdirSync(path.join(tmp, 'ws', 'bundles')).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it.skipIf(!torchAvailable)(`imports a pix2pix checkpoint as a job whose result has the parity${NO_TORCH}`, async () => {
    const src = path.join(tmp, 'facades');
    fs.mkdirSync(src);
    runReference('make', src, [{ name: 'latest_net_G', net: 'resnet_6blocks', norm: 'batch', ngf: 2, size: 32, inc: 3, outc: 3, seed: 3 }]);
    const env = await eng.request('import.pytorch', { files: [path.join(src, 'latest_net_G.pth')], size: 32 });
    if (!env.ok) throw new Error(env.error.message);
    const r = await waitJob<PytorchImportResult>(events, (env.data as { jobId: string }).jobId);
    expect(r).toMatchObject({ id: 'facades', kind: 'pix2pix', pass: true });
    const list = await eng.request('bundle.list', {});
    expect(list.ok && (list.data as { id: string }[]).map((b) => b.id)).toContain('facades');
  });
});

describe('import.pytorchRun', () => {
  it('validates the request', async () => {
    expect(code(await eng.request('import.pytorchRun', { files: ['x.pth'] } as never))).toBe('VALIDATION');
    expect(code(await eng.request('import.pytorchRun', { files: [], datasetId: 'd' } as never))).toBe('VALIDATION');
  });

  it.skipIf(!torchAvailable)(`a pix2pix G without D becomes a run that train.resume trains, saying what starts fresh${NO_TORCH}`, async () => {
    const src = path.join(tmp, 'continue');
    fs.mkdirSync(src);
    runReference('make', src, [{ name: 'latest_net_G', net: 'resnet_6blocks', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 3, seed: 5 }]);
    const env = await eng.request('import.pytorchRun', { files: [path.join(src, 'latest_net_G.pth')], datasetId: 'synthetic:paired', steps: 1, options: { size: 32 } });
    if (!env.ok) throw new Error(env.error.message);
    const r = env.data as PytorchRunResult;
    expect(r).toMatchObject({ model: 'pix2pix', freshNetworks: ['D'] });
    expect(r.note).toMatch(/optimizer state fresh.*D initialised anew/);
    const resumed = await eng.request('train.resume', { runId: r.runId });
    if (!resumed.ok) throw new Error(resumed.error.message);
    const done = await waitJob<{ resumedFrom: number | null; step: number }>(events, (resumed.data as { jobId: string }).jobId);
    expect(done).toMatchObject({ resumedFrom: 0, step: 1 });
  });
});
