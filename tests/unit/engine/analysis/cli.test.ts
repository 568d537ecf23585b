import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runAnalyzeCli } from '../../../../src/main/cli/analyze';
import { type HierarchicalResult, type KMeansResultDto, type PcaResult, KMEANS_DEFAULT_N_INIT } from '../../../../src/shared/channels/analysis';
import { captureConsole } from '../../main/cli/capture';

let tmp: string;
let file: string;
let out: string[];
let err: string[];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-analyze-cli-'));
  file = path.join(tmp, 'pts.csv');
  fs.writeFileSync(file, 'x,y\n0,0\n0,1\n1,0\n10,10\n10,11\n11,10\n');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function capture(): void {
  ({ out, err } = captureConsole());
}

describe('atelier analyze', () => {
  it('kmeans --json prints the result', async () => {
    capture();
    expect(await runAnalyzeCli(['kmeans', '--input', file, '--k', '2', '--json', '--workspace', path.join(tmp, 'ws')])).toBe(0);
    const r = JSON.parse(out.join('\n')) as KMeansResultDto;
    expect(r.sizes.slice().sort()).toEqual([3, 3]);
    expect(r.converged).toBe(true);
  });

  it("kmeans defaults on the blob fixture give scikit-learn's inertia (several greedy k-means++ initialisations)", async () => {
    const { cases } = JSON.parse(fs.readFileSync(new URL('./fixtures/kmeans-blobs.json', import.meta.url), 'utf8')) as {
      cases: { randomState: number; X: number[][]; inertia: number; sizes: number[] }[];
    };
    for (const c of cases) {
      const csv = path.join(tmp, `blobs-${c.randomState}.csv`);
      fs.writeFileSync(csv, c.X.map((r) => r.join(',')).join('\n') + '\n');
      capture();
      expect(await runAnalyzeCli(['kmeans', '--input', csv, '--k', '3', '--json', '--workspace', path.join(tmp, 'ws')])).toBe(0);
      const r = JSON.parse(out.join('')) as KMeansResultDto;
      expect(Math.abs(r.inertia - c.inertia) / c.inertia).toBeLessThan(1e-5);
      expect(r.sizes.slice().sort((a, b) => a - b)).toEqual(c.sizes);
      expect(r.nInit).toBe(KMEANS_DEFAULT_N_INIT);
      expect(r.localTrials).toBe(3);
      capture();
      expect(await runAnalyzeCli(['kmeans', '--input', csv, '--k', '3', '--workspace', path.join(tmp, 'ws')])).toBe(0);
      expect(out.join('\n')).toMatch(new RegExp(`best of ${KMEANS_DEFAULT_N_INIT} initialisations, 3 k-means\\+\\+ candidates per centre`));
    }
  });

  it('hierarchical with linkage, metric and k; human summary', async () => {
    capture();
    expect(await runAnalyzeCli(['hierarchical', '--input', file, '--linkage', 'complete', '--metric', 'manhattan', '--k', '2', '--workspace', path.join(tmp, 'ws')])).toBe(0);
    expect(out[0]).toMatch(/complete linkage \(manhattan\) of pts\.csv/);
    expect(out.join('\n')).toMatch(/2 flat clusters, sizes: 3 3/);
    capture();
    expect(await runAnalyzeCli(['hierarchical', '--input', file, '--json', '--workspace', path.join(tmp, 'ws')])).toBe(0);
    expect((JSON.parse(out.join('')) as HierarchicalResult).method).toBe('average');
  });

  it('pca summary and --limit on a file', async () => {
    capture();
    expect(await runAnalyzeCli(['pca', '--input', file, '--limit', '4', '--json', '--workspace', path.join(tmp, 'ws')])).toBe(0);
    const r = JSON.parse(out.join('')) as PcaResult;
    expect(r.source.n).toBe(4);
    expect(r.projection).toHaveLength(4);
    capture();
    expect(await runAnalyzeCli(['pca', '--input', file, '--workspace', path.join(tmp, 'ws')])).toBe(0);
    expect(out.join('\n')).toMatch(/PC1: variance .* ratio/);
  });

  it('usage errors exit 2, data errors exit 1 with the message', async () => {
    capture();
    expect(await runAnalyzeCli([])).toBe(2);
    expect(await runAnalyzeCli(['kmeans', '--input', file, '--workspace', tmp])).toBe(2);
    expect(err.join('\n')).toMatch(/needs --k/);
    expect(await runAnalyzeCli(['kmeans', '--input', file, '--dataset', 'x', '--k', '2'])).toBe(2);
    expect(await runAnalyzeCli(['cluster', '--input', file])).toBe(2);
    expect(await runAnalyzeCli(['hierarchical', '--input', file, '--linkage', 'median', '--workspace', tmp])).toBe(2);
    err.length = 0;
    expect(await runAnalyzeCli(['kmeans', '--input', file, '--k', '9', '--workspace', tmp])).toBe(1);
    expect(err.join('\n')).toMatch(/BAD_INPUT.*k = 9 clusters is more than the 6 points/);
    expect(await runAnalyzeCli(['pca', '--input', path.join(tmp, 'missing.csv'), '--workspace', tmp])).toBe(1);
    expect(err.join('\n')).toMatch(/NOT_FOUND/);
  });
});
