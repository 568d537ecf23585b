/** eval.run through the in-process engine: validation, NOT_FOUND, a job whose result is the EvalResult. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { ensureDemoDatasets } from '../../../../src/main/engine/data/demo';
import { appRoot, openWorkspace } from '../../../../src/main/engine/core/workspace';
import type { EvalResult } from '../../../../src/shared/channels/eval';
import type { Envelope } from '../../../../src/shared/errors';
import { type RecordedEvent, waitJob } from '../../../fixtures/engine-jobs';

const PIX = path.join(appRoot(), 'models', 'edges2fashion-pix2pix');
let tmp: string;
let eng: InProcessEngine;
const events: RecordedEvent[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-evalch-'));
  process.env.ATELIER_DEMO_FROM = 'resources';
  await ensureDemoDatasets(openWorkspace(path.join(tmp, 'ws')));
  eng = new InProcessEngine({ workspaceRoot: path.join(tmp, 'ws') });
  eng.onEvent((event, payload) => events.push({ event, payload }));
});
afterAll(async () => {
  delete process.env.ATELIER_DEMO_FROM;
  await eng.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const code = (env: Envelope<unknown>) => (env.ok ? 'ok' : env.error.code);

describe('eval.run', () => {
  it('validates the request and reports a missing model before starting a job', async () => {
    expect(code(await eng.request('eval.run', { model: 'x', dataset: 'demo-fashion', split: 'validation' } as never))).toBe('VALIDATION');
    expect(code(await eng.request('eval.run', { model: 'no-such-model', dataset: 'demo-fashion' }))).toBe('NOT_FOUND');
  });

  it.skipIf(!fs.existsSync(PIX))(fs.existsSync(PIX) ? 'evaluates a pix2pix bundle as a job (L1/SSIM and both baselines)' : 'evaluates a pix2pix bundle — SKIPPED: models/edges2fashion-pix2pix is not in this checkout', async () => {
    const env = await eng.request('eval.run', { model: PIX, dataset: 'demo-edges2fashion' });
    if (!env.ok) throw new Error(env.error.message);
    const r = await waitJob<EvalResult>(events, (env.data as { jobId: string }).jobId, 12000);
    expect(r.model.kind).toBe('pix2pix');
    expect(r.dataset).toMatchObject({ id: 'demo-edges2fashion', split: 'test', count: 50 });
    const keys = r.metrics.map((m) => m.key);
    expect(keys).toEqual(expect.arrayContaining(['l1', 'ssim', 'baselineInput.l1', 'baselineInput.ssim', 'baselineMean.l1', 'baselineMean.ssim']));
    for (const m of r.metrics) expect(Number.isFinite(m.value)).toBe(true);
  });
});
