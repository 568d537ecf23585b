import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { drive, driveAsync } from '../../../../src/main/engine/analysis/steps';
import { type AnalysisReply, type HierarchicalResult, type KMeansResultDto, type PcaResult, KMEANS_DEFAULT_N_INIT } from '../../../../src/shared/channels/analysis';
import type { Envelope } from '../../../../src/shared/errors';
import type { EventMap } from '../../../../src/shared/events';
import { writeLabeled } from '../../../fixtures/bad-images';
import { type RecordedEvent, ok, waitJob } from '../../../fixtures/engine-jobs';

let tmp: string;
let eng: InProcessEngine;
const events: RecordedEvent[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-analysis-'));
  eng = new InProcessEngine({ workspaceRoot: path.join(tmp, 'ws') });
  eng.onEvent((event, payload) => events.push({ event, payload }));
});
afterAll(async () => {
  await eng.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function errCode(env: Envelope<unknown>): string {
  if (env.ok) throw new Error('expected an error');
  return env.error.code;
}

const pts = [[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]];

describe('analysis channels through the engine', () => {
  it('answers small inline requests at once', async () => {
    const km = ok<AnalysisReply<KMeansResultDto>>(await eng.request('analysis.kmeans', { source: { kind: 'inline', rows: pts }, k: 2, nInit: 2 }));
    expect(km.jobId).toBeUndefined();
    const r = km.result!;
    expect(r.labels.slice(0, 3).every((l) => l === r.labels[0])).toBe(true);
    expect(r.labels.slice(3).every((l) => l === r.labels[3])).toBe(true);
    expect(r.labels[0]).not.toBe(r.labels[3]);
    expect(r.converged).toBe(true);
    expect(r.source).toMatchObject({ n: 6, d: 2 });

    const h = ok<AnalysisReply<HierarchicalResult>>(
      await eng.request('analysis.hierarchical', { source: { kind: 'inline', rows: pts }, linkage: 'complete', metric: 'manhattan', k: 2 }),
    ).result!;
    expect(h.linkage).toHaveLength(5);
    expect(h.linkage[4]![3]).toBe(6);

    // defaults through the channel: several greedy k-means++ initialisations, scikit-learn's optimum on the blobs
    const blobs = (JSON.parse(fs.readFileSync(new URL('./fixtures/kmeans-blobs.json', import.meta.url), 'utf8')) as { cases: { X: number[][]; inertia: number }[] }).cases[1]!;
    const kb = ok<AnalysisReply<KMeansResultDto>>(await eng.request('analysis.kmeans', { source: { kind: 'inline', rows: blobs.X }, k: 3 })).result!;
    expect(kb.nInit).toBe(KMEANS_DEFAULT_N_INIT);
    expect(kb.localTrials).toBe(3);
    expect(Math.abs(kb.inertia - blobs.inertia) / blobs.inertia).toBeLessThan(1e-5);
    expect(h.leafOrder.slice().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(h.clusters).size).toBe(2);
    expect(h.maxHeight).toBe(21); // complete manhattan: the farthest pair, (0,0) to (11,10) or (10,11)

    const p = ok<AnalysisReply<PcaResult>>(await eng.request('analysis.pca', { source: { kind: 'inline', rows: pts }, nComponents: 2 })).result!;
    expect(p.projection).toHaveLength(6);
    expect(p.projection[0]).toHaveLength(2);
    expect(p.components).toHaveLength(2);
    expect(p.cumulative[1]).toBeCloseTo(1, 5);
    expect(p.ratio[0]).toBeGreaterThan(0.9);
  });

  it('validates requests and reports unusable data as BAD_INPUT', async () => {
    expect(errCode(await eng.request('analysis.kmeans', { source: { kind: 'inline', rows: pts }, k: 0 }))).toBe('VALIDATION');
    expect(errCode(await eng.request('analysis.kmeans', { source: { kind: 'inline', rows: pts }, k: 2, extra: 1 }))).toBe('VALIDATION');
    expect(errCode(await eng.request('analysis.pca', { source: { kind: 'nope' } }))).toBe('VALIDATION');
    expect(errCode(await eng.request('analysis.hierarchical', { source: { kind: 'inline', rows: pts }, linkage: 'median' }))).toBe('VALIDATION');
    expect(errCode(await eng.request('analysis.kmeans', { source: { kind: 'inline', rows: pts }, k: 7 }))).toBe('BAD_INPUT');
    expect(errCode(await eng.request('analysis.kmeans', { source: { kind: 'inline', rows: [[1, 2], [3]] }, k: 1 }))).toBe('BAD_INPUT');
    expect(errCode(await eng.request('analysis.hierarchical', { source: { kind: 'inline', rows: [[1, 2]] } }))).toBe('BAD_INPUT');
    expect(errCode(await eng.request('analysis.pca', { source: { kind: 'inline', rows: [[1, 2], [1, 2]] } }))).toBe('BAD_INPUT');
    expect(errCode(await eng.request('analysis.pca', { source: { kind: 'matrix', path: path.join(tmp, 'missing.csv') } }))).toBe('NOT_FOUND');
    expect(errCode(await eng.request('analysis.pca', { source: { kind: 'dataset', datasetId: 'nope' } }))).toBe('NOT_FOUND');
  });

  it('runs a matrix file as a job with progress', async () => {
    const file = path.join(tmp, 'pts.csv');
    fs.writeFileSync(file, 'x,y\n' + pts.map((r) => r.join(',')).join('\n'));
    const { jobId } = ok<AnalysisReply<HierarchicalResult>>(await eng.request('analysis.hierarchical', { source: { kind: 'matrix', path: file }, linkage: 'single' }));
    expect(jobId).toBeTruthy();
    const h = await waitJob<HierarchicalResult>(events, jobId!);
    expect(h.linkage.map((r) => r[2]).slice(0, 4)).toEqual([1, 1, 1, 1]);
    expect(h.source.description).toMatch(/pts\.csv \(csv, 6 x 2\)/);
    expect(events.some((e) => e.event === 'job.progress' && (e.payload as { jobId: string }).jobId === jobId)).toBe(true);
  });

  it('analyses dataset images (flattened, [0,1]) with indices and class labels', async () => {
    await writeLabeled(path.join(tmp, 'src'), { classes: ['left', 'right'], perClass: 5, size: 16 });
    const imp = ok<{ jobId: string }>(await eng.request('dataset.import', { kind: 'labeled', path: path.join(tmp, 'src'), name: 'shapes', size: 16, testFraction: 0 }));
    await waitJob(events, imp.jobId);
    const { jobId } = ok<AnalysisReply<KMeansResultDto>>(
      await eng.request('analysis.kmeans', { source: { kind: 'dataset', datasetId: 'shapes', limit: 6, seed: 1 }, k: 2 }),
    );
    const r = await waitJob<KMeansResultDto>(events, jobId!);
    expect(r.source.n).toBe(6);
    expect(r.source.indices).toHaveLength(6);
    expect(r.source.indices).toEqual([...r.source.indices!].sort((a, b) => a - b));
    expect(r.source.classLabels).toHaveLength(6);
    expect(r.source.classes).toEqual(['left', 'right']);
    expect(r.source.image).toMatchObject({ width: 16, height: 16 });
    expect(r.centroids[0]!.length).toBe(r.source.d);
    expect(Math.max(...r.centroids.flat())).toBeLessThanOrEqual(1);
    // same seed, same subset
    const again = ok<AnalysisReply<PcaResult>>(
      await eng.request('analysis.pca', { source: { kind: 'dataset', datasetId: 'shapes', limit: 6, seed: 1 }, nComponents: 3 }),
    );
    const p = await waitJob<PcaResult>(events, again.jobId!);
    expect(p.source.indices).toEqual(r.source.indices);
    expect(p.projection).toHaveLength(6);
  });
});

describe('analysis jobs', () => {
  it('big inline requests become jobs, and cancel stops them', async () => {
    // 2100 x 100 = 210,000 values: above the inline limit, so a job
    const rows = Array.from({ length: 2100 }, (_, i) => Array.from({ length: 100 }, (_, j) => Math.sin(i * 7 + j)));
    const { jobId } = ok<AnalysisReply<HierarchicalResult>>(await eng.request('analysis.hierarchical', { source: { kind: 'inline', rows } }));
    expect(jobId).toBeTruthy();
    expect(ok<{ cancelled: boolean }>(await eng.request('job.cancel', { jobId: jobId! })).cancelled).toBe(true);
    for (let i = 0; i < 6000; i++) {
      const e = events.find((x) => (x.event === 'job.done' || x.event === 'job.failed') && (x.payload as { jobId: string }).jobId === jobId);
      if (e) {
        expect(e.event).toBe('job.failed');
        expect((e.payload as EventMap['job.failed']).cancelled).toBe(true);
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('job did not end');
  });
});

describe('steps driver', () => {
  function* gen(): Generator<number, string, void> {
    try {
      yield 1;
      yield 2;
      return 'done';
    } finally {
      closed++;
    }
  }
  let closed = 0;
  it('drives to the end, and stops the generator when the callback throws (cancel)', async () => {
    const seen: number[] = [];
    expect(drive(gen(), (v) => seen.push(v))).toBe('done');
    expect(seen).toEqual([1, 2]);
    await expect(
      driveAsync(gen(), async (v) => {
        if (v === 1) throw new Error('cancelled');
      }),
    ).rejects.toThrow('cancelled');
    expect(closed).toBe(2);
  });
});
