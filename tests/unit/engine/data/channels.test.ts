import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import type { EventMap } from '../../../../src/shared/events';
import type { DatasetImportResult, DatasetSummary, DatasetThumb, ValidationReport } from '../../../../src/shared/channels/dataset';
import { writeLabeled } from '../../../fixtures/bad-images';
import { type RecordedEvent, jobEnd, ok } from '../../../fixtures/engine-jobs';

let tmp: string;
let eng: InProcessEngine;
const events: RecordedEvent[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-dschan-'));
  eng = new InProcessEngine({ workspaceRoot: path.join(tmp, 'ws') });
  eng.onEvent((event, payload) => events.push({ event, payload }));
  await writeLabeled(path.join(tmp, 'src'), { classes: ['left', 'right'], perClass: 5, size: 20 });
});
afterAll(async () => {
  await eng.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('dataset channels through the engine', () => {
  it('rejects malformed requests (strict schemas, path length)', async () => {
    const extra = await eng.request('dataset.validate', { kind: 'labeled', path: '/x', surprise: 1 });
    expect(extra.ok).toBe(false);
    if (!extra.ok) expect(extra.error.code).toBe('VALIDATION');
    const long = await eng.request('dataset.validate', { kind: 'labeled', path: 'x'.repeat(5000) });
    if (long.ok) throw new Error('expected failure');
    expect(long.error.code).toBe('VALIDATION');
    const kind = await eng.request('dataset.validate', { kind: 'nope', path: '/x' });
    expect(kind.ok).toBe(false);
    const missing = await eng.request('dataset.validate', { kind: 'labeled', path: path.join(tmp, 'nope') });
    if (missing.ok) throw new Error('expected failure');
    expect(missing.error.code).toBe('NOT_FOUND');
  });

  it('validate -> import (job with progress) -> list -> get (PNG bytes, paged) -> delete', async () => {
    const report = ok<ValidationReport>(await eng.request('dataset.validate', { kind: 'labeled', path: path.join(tmp, 'src'), size: 16, network: 'unet' }));
    expect(report.clean).toBe(true);
    expect(report.classes).toEqual([
      { name: 'left', count: 5 },
      { name: 'right', count: 5 },
    ]);
    const { jobId } = ok<{ jobId: string }>(await eng.request('dataset.import', { kind: 'labeled', path: path.join(tmp, 'src'), name: 'My Set', size: 16, testFraction: 0.2 }));
    const end = await jobEnd(events, jobId);
    expect(end.ok).toBe(true);
    const result = (end.payload as EventMap['job.done']).result as DatasetImportResult;
    expect(result.dataset).toMatchObject({ id: 'My-Set', name: 'My Set', kind: 'labeled', counts: { train: 8, test: 2 } });
    expect(events.some((e) => e.event === 'job.progress' && (e.payload as { jobId: string }).jobId === jobId)).toBe(true);

    const dup = await eng.request('dataset.import', { kind: 'labeled', path: path.join(tmp, 'src'), name: 'My Set' });
    if (dup.ok) throw new Error('expected conflict');
    expect(dup.error.code).toBe('CONFLICT');

    const list = ok<DatasetSummary[]>(await eng.request('dataset.list', {}));
    expect(list.map((d) => d.id)).toEqual(['My-Set']);
    expect(list[0]).not.toHaveProperty('items');
    expect(list[0]!.bytes).toBeGreaterThan(0);

    const page = ok<{ items: DatasetThumb[]; total: number; offset: number }>(await eng.request('dataset.get', { id: 'My-Set', offset: 5, limit: 2, thumbSize: 32 }));
    expect(page.total).toBe(8);
    expect(page.items.map((t) => t.index)).toEqual([5, 6]);
    for (const t of page.items) {
      expect(t.png).toBeInstanceOf(Uint8Array);
      expect([...t.png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
      expect([t.width, t.height]).toEqual([32, 32]);
      expect(t.label === 0 || t.label === 1).toBe(true);
    }
    const test = ok<{ items: DatasetThumb[]; total: number }>(await eng.request('dataset.get', { id: 'My-Set', split: 'test' }));
    expect(test.total).toBe(2);

    expect(ok(await eng.request('dataset.delete', { id: 'My-Set' }))).toEqual({ deleted: true });
    expect(ok<DatasetSummary[]>(await eng.request('dataset.list', {}))).toEqual([]);
    const again = await eng.request('dataset.delete', { id: 'My-Set' });
    if (again.ok) throw new Error('expected NOT_FOUND');
    expect(again.error.code).toBe('NOT_FOUND');
  });

  it('a failed import job says why and leaves nothing behind', async () => {
    const bad = path.join(tmp, 'bad');
    fs.mkdirSync(path.join(bad, 'one'), { recursive: true });
    fs.mkdirSync(path.join(bad, 'two'), { recursive: true });
    fs.writeFileSync(path.join(bad, 'one', 'x.png'), 'not a png');
    fs.copyFileSync(path.join(tmp, 'src', 'left', 'left-0.png'), path.join(bad, 'two', 'y.png'));
    const { jobId } = ok<{ jobId: string }>(await eng.request('dataset.import', { kind: 'labeled', path: bad, name: 'bad' }));
    const end = await jobEnd(events, jobId);
    expect(end.ok).toBe(false);
    const f = end.payload as EventMap['job.failed'];
    expect(f.error.code).toBe('BAD_INPUT');
    expect(f.error.message).toMatch(/Nothing to import|have problems/);
    expect(fs.readdirSync(path.join(tmp, 'ws', 'datasets'))).toEqual([]);
  });

  it('a cancelled import ends as cancelled and leaves nothing behind', async () => {
    const big = path.join(tmp, 'big');
    await writeLabeled(big, { classes: ['p', 'q'], perClass: 20, size: 16 });
    let cancelAsked = false;
    const off = eng.onEvent((event, payload) => {
      const p = payload as EventMap['job.progress'];
      if (event === 'job.progress' && p.message === 'importing' && p.step >= 2 && !cancelAsked) {
        cancelAsked = true;
        void eng.request('job.cancel', { jobId: p.jobId });
      }
    });
    const { jobId } = ok<{ jobId: string }>(await eng.request('dataset.import', { kind: 'labeled', path: big, name: 'cancelled' }));
    const end = await jobEnd(events, jobId);
    off();
    expect(cancelAsked).toBe(true);
    expect(end.ok).toBe(false);
    expect((end.payload as EventMap['job.failed']).cancelled).toBe(true);
    expect(fs.readdirSync(path.join(tmp, 'ws', 'datasets'))).toEqual([]);
  });

  it('dataset.demo builds the three demo datasets as a job', async () => {
    const { jobId } = ok<{ jobId: string }>(await eng.request('dataset.demo', {}));
    const end = await jobEnd(events, jobId);
    expect(end.ok).toBe(true);
    const list = ok<DatasetSummary[]>(await eng.request('dataset.list', {}));
    expect(list.map((d) => d.id).sort()).toEqual(['demo-edges2fashion', 'demo-fashion', 'demo-sneaker2boot']);
    const page = ok<{ items: DatasetThumb[] }>(await eng.request('dataset.get', { id: 'demo-edges2fashion', limit: 1 }));
    expect(page.items.map((t) => t.role)).toEqual(['a', 'b']);
  });
});
