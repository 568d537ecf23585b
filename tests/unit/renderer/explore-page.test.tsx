import './match-media';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { ExplorePage } from '../../../src/renderer/src/pages/explore/ExplorePage';
import { clustersOnScatter, rowKeys, toRequestSource } from '../../../src/renderer/src/pages/explore/sources';
import { setStudioForTests } from '../../../src/renderer/src/studio';
import { useUi } from '../../../src/renderer/src/store/ui';
import { connectJobEvents } from '../../../src/renderer/src/store/jobs';
import type { StudioApi } from '../../../src/shared/api';
import type { AnalysisSourceInfo, PcaResult, ReconstructResult } from '../../../src/shared/channels/analysis';

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });
const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

const BUNDLES = [
  { id: 'fashion-cgan', name: 'fashion-cgan', kind: 'cgan', capabilities: { data: 'labelled', generate: { latent: 64, network: 'G', classes: { count: 2 } }, metrics: { suite: 'generated', key: { name: 'conditionalAccuracy', higherIsBetter: true } } }, imageSize: 32, channels: 1, latentSize: 64, classNames: ['a', 'b'], location: 'shipped', dir: '/m/c', onnx: '/m/c.onnx', hasTfjs: true },
  { id: 'fashion-autoencoder', name: 'fashion-autoencoder', kind: 'autoencoder', capabilities: { data: 'images', encode: { latent: 32, encoder: 'encoder', decoder: 'decoder' }, generate: { latent: 32, network: 'decoder' }, metrics: { suite: 'reconstruction', key: { name: 'reconMse', higherIsBetter: false } } }, imageSize: 32, channels: 1, latentSize: 32, location: 'shipped', dir: '/m/a', onnx: '/m/a.onnx', hasTfjs: true },
  { id: 'edges', name: 'edges', kind: 'pix2pix', capabilities: { data: 'paired', translate: { AtoB: 'G' }, metrics: { suite: 'paired', key: { name: 'l1', higherIsBetter: false } } }, imageSize: 64, channels: 3, location: 'shipped', dir: '/m/e', onnx: null, hasTfjs: true },
];
const DATASETS = [{ id: 'fashion', name: 'fashion', kind: 'fashion-mnist', counts: { train: 100, test: 20 }, image: { width: 28, height: 28, channels: 1 } }];

function pcaOf(source: AnalysisSourceInfo): PcaResult {
  const n = source.n;
  return {
    source,
    method: 'covariance',
    components: [],
    explained: [2, 1],
    ratio: [0.6, 0.3],
    cumulative: [0.6, 0.9],
    totalVariance: 3.3,
    projection: Array.from({ length: n }, (_, i) => [i, (i * 7) % 5]),
    mean: [],
  };
}

let pcaReqs: { source: Record<string, unknown> }[];
let renders: unknown[];
let reconReqs: unknown[];
let treeReqs: { source: Record<string, unknown> }[];
let kmReqs: Record<string, unknown>[];

function install(opts: { paths?: string[]; pcaJob?: string } = {}) {
  kmReqs = [];
  pcaReqs = [];
  renders = [];
  reconReqs = [];
  treeReqs = [];
  setStudioForTests({
    transport: 'browser',
    dataset: { list: () => ok(DATASETS), get: () => ok({ items: [] }) },
    bundle: { list: () => ok(BUNDLES) },
    analysis: {
      pca: (req: { source: Record<string, unknown> }) => {
        pcaReqs.push(req);
        const s = req.source;
        const n = 4;
        const info: AnalysisSourceInfo =
          s.kind === 'latent' || s.kind === 'generated'
            ? { n, d: 64, description: 'z', model: s.model as string, seeds: [0, 1, 2, 3], classLabels: [0, 1, 0, 1], classes: ['a', 'b'] }
            : { n, d: 3, description: String(s.kind), ...(s.kind === 'matrix' ? {} : { indices: [3, 5, 8, 9] }) };
        return opts.pcaJob ? ok({ jobId: opts.pcaJob }) : ok({ result: pcaOf(info) });
      },
      kmeans: (req: Record<string, unknown>) => {
        kmReqs.push(req);
        return ok({ result: { source: { n: 4, d: 2, description: '' }, labels: [0, 0, 1, 1], centroids: [], inertia: 1, iterations: 2, converged: true, sizes: [2, 2], metric: 'euclidean', nInit: 4, localTrials: 2 } });
      },
      hierarchical: (req: { source: Record<string, unknown> }) => {
        treeReqs.push(req);
        // A tree over a subset (images 5 and 9) of the scatter's images (3, 5, 8, 9).
        return ok({ result: { source: { n: 2, d: 3, description: 'tree', indices: [5, 9] }, linkage: [[0, 1, 1, 2]], leafOrder: [0, 1], maxHeight: 1, method: 'average', metric: 'euclidean' } });
      },
      reconstruct: (req: unknown) => {
        reconReqs.push(req);
        const r: ReconstructResult = {
          model: 'fashion-autoencoder',
          k: 32,
          latentSize: 32,
          n: 100,
          description: 'fashion (test, 100 images)',
          fit: { on: 'train', n: 2000, method: 'randomized' },
          pcaMse: 0.0114,
          autoencoderMse: 0.0081,
          image: { width: 32, height: 32, channels: 1 },
          examples: [{ index: 7, original: { png: PNG, width: 32, height: 32 }, pca: { png: PNG, width: 32, height: 32 }, autoencoder: { png: PNG, width: 32, height: 32 }, pcaMse: 0.01, autoencoderMse: 0.008 }],
        };
        return ok({ result: r });
      },
    },
    latent: {
      render: (req: unknown) => {
        renders.push(req);
        return ok({ png: PNG, width: 32, height: 32, z: [], ms: 1 });
      },
    },
    job: { list: () => ok([]) },
    on: () => () => {},
    pathsForFiles: async () => opts.paths ?? [],
  } as unknown as StudioApi);
}

beforeEach(() => {
  globalThis.URL.createObjectURL ??= () => 'blob:x';
  globalThis.URL.revokeObjectURL ??= () => undefined;
});
afterEach(() => {
  cleanup();
  setStudioForTests(null);
  useUi.setState({ toasts: [] });
});

const choose = async (testId: string, value: string) => {
  await act(async () => fireEvent.change(screen.getByTestId(testId), { target: { value } }));
};

describe('Explore progress and k-means defaults', () => {
  it('shows a long PCA job\'s progress inline, then the scatter; k-means runs with the default initialisations and says how many', async () => {
    install({ pcaJob: 'pca-1' });
    const listeners: Record<string, (p: unknown) => void> = {};
    const off = connectJobEvents(((e: string, cb: (p: unknown) => void) => {
      listeners[e] = cb;
      return () => {};
    }) as never);
    render(<ExplorePage />);
    await screen.findByTestId('explore-source');
    await waitFor(() => expect((screen.getByTestId('run-pca') as HTMLButtonElement).disabled).toBe(false));
    await act(async () => fireEvent.click(screen.getByTestId('run-pca')));
    expect((await screen.findByTestId('explore-progress')).textContent).toMatch(/PCA: starting \(0%\)/);
    await act(async () => listeners['job.progress']!({ jobId: 'pca-1', step: 400, total: 1000, message: 'subspace iteration 2/4' }));
    expect(screen.getByTestId('explore-progress').textContent).toMatch(/PCA: subspace iteration 2\/4 \(40%\)/);
    const info = { n: 4, d: 3, description: 'dataset', indices: [3, 5, 8, 9] };
    await act(async () => listeners['job.done']!({ jobId: 'pca-1', job: { id: 'pca-1', kind: 'analysis', title: 'PCA', state: 'done', startedAt: 0, step: 1000, total: 1000 }, result: pcaOf(info) }));
    expect(await screen.findByTestId('scatter')).toBeTruthy();
    await waitFor(() => expect(screen.queryByTestId('explore-progress')).toBeNull());
    await waitFor(() => expect(kmReqs).toHaveLength(1));
    expect(kmReqs[0]!.nInit).toBeUndefined();
    expect(await screen.findByText(/best of 4 initialisations/)).toBeTruthy();
    off();
  });
});

describe('Explore source picker', () => {
  it('offers the five sources; generators are gan/cgan bundles; latents go out as a latent source and hover renders the point', async () => {
    install();
    render(<ExplorePage />);
    const picker = await screen.findByTestId('explore-source');
    const options = within(picker).getAllByRole('option').map((o) => o.getAttribute('value'));
    expect(options).toEqual(['dataset', 'latent', 'generated', 'features', 'matrix']);
    await waitFor(() => expect((within(picker).getByRole('option', { name: 'Generator latents' }) as HTMLOptionElement).disabled).toBe(false));
    await choose('explore-source', 'latent');
    const gens = within(screen.getByTestId('explore-generator')).getAllByRole('option').map((o) => o.getAttribute('value'));
    expect(gens).toEqual(['fashion-cgan']);
    expect(screen.queryByTestId('explore-dataset')).toBeNull();
    await choose('explore-limit', '500');
    await act(async () => fireEvent.change(screen.getByTestId('explore-seed'), { target: { value: '7' } }));
    await act(async () => fireEvent.click(screen.getByTestId('run-pca')));
    await waitFor(() => expect(pcaReqs).toHaveLength(1));
    expect(pcaReqs[0]!.source).toEqual({ kind: 'latent', model: 'fashion-cgan', count: 500, seed: 7 });
    expect(await screen.findByTestId('scatter')).toBeTruthy();
    // Clicking near the first point selects it and draws the generator's image for its seed.
    const canvas = screen.getByTestId('scatter');
    await act(async () => fireEvent.mouseMove(canvas, { clientX: 28, clientY: 460 - 28 }));
    await act(async () => fireEvent.click(canvas, { clientX: 28, clientY: 460 - 28 }));
    await waitFor(() => expect(renders.length).toBeGreaterThan(0));
    expect(renders[0]).toMatchObject({ model: 'fashion-cgan', z: { seed: 0 }, label: 0 });
  });

  it('autoencoder features: the encoder (autoencoder or translator) and dataset go out together', async () => {
    install();
    render(<ExplorePage />);
    await screen.findByTestId('explore-source');
    await waitFor(() => expect((screen.getByRole('option', { name: 'Autoencoder features' }) as HTMLOptionElement).disabled).toBe(false));
    await choose('explore-source', 'features');
    expect(within(screen.getByTestId('explore-autoencoder')).getAllByRole('option').map((o) => o.getAttribute('value'))).toEqual(['fashion-autoencoder', 'edges']);
    await waitFor(() => expect(within(screen.getByTestId('explore-dataset')).getAllByRole('option')).toHaveLength(1));
    await act(async () => fireEvent.click(screen.getByTestId('run-pca')));
    await waitFor(() => expect(pcaReqs).toHaveLength(1));
    expect(pcaReqs[0]!.source).toMatchObject({ kind: 'features', model: 'fashion-autoencoder', datasetId: 'fashion', limit: 1000 });
  });

  it('matrix file: a picked .csv becomes a matrix source; a non-matrix file is refused with a toast', async () => {
    install({ paths: ['/tmp/up/points.csv'] });
    render(<ExplorePage />);
    await screen.findByTestId('explore-source');
    await choose('explore-source', 'matrix');
    expect((screen.getByTestId('run-pca') as HTMLButtonElement).disabled).toBe(true);
    const input = screen.getByTestId('matrix-drop-input');
    await act(async () => fireEvent.change(input, { target: { files: [new File(['x'], 'cat.png', { type: 'image/png' })] } }));
    await waitFor(() => expect(useUi.getState().toasts.length).toBe(1));
    expect(JSON.stringify(useUi.getState().toasts[0])).toMatch(/not a matrix file/);
    await act(async () => fireEvent.change(input, { target: { files: [new File(['1,2\n3,4'], 'points.csv', { type: 'text/csv' })] } }));
    await waitFor(() => expect(screen.getByTestId('matrix-file').textContent).toBe('points.csv'));
    await act(async () => fireEvent.click(screen.getByTestId('run-pca')));
    await waitFor(() => expect(pcaReqs).toHaveLength(1));
    expect(pcaReqs[0]!.source).toEqual({ kind: 'matrix', path: '/tmp/up/points.csv' });
    expect(await screen.findByTestId('scatter')).toBeTruthy();
  });

  it('colour by dendrogram cut: enabled once the tree is built, matches the tree rows to the scatter', async () => {
    install();
    render(<ExplorePage />);
    await waitFor(() => expect(within(screen.getByTestId('explore-dataset')).getAllByRole('option')).toHaveLength(1));
    await act(async () => fireEvent.click(screen.getByTestId('run-pca')));
    await screen.findByTestId('scatter');
    expect((screen.getByTestId('colour-tree') as HTMLButtonElement).disabled).toBe(true);
    await act(async () => fireEvent.click(screen.getByTestId('run-tree')));
    await screen.findByTestId('dendrogram');
    expect(treeReqs[0]!.source).toMatchObject({ kind: 'dataset', datasetId: 'fashion', limit: 200 });
    await act(async () => fireEvent.click(screen.getByTestId('colour-tree')));
    // The first cut leaves both leaves apart; images 3 and 8 are not in the tree.
    expect(screen.getByTestId('tree-legend').textContent).toBe('2 clusters below the cut · 2 points outside the tree (grey)');
  });

  it('the reconstruction panel compares PCA-k with the autoencoder', async () => {
    install();
    render(<ExplorePage />);
    const k = await screen.findByTestId('reconstruct-k');
    await act(async () => fireEvent.change(k, { target: { value: '16' } }));
    await act(async () => fireEvent.click(screen.getByTestId('run-reconstruct')));
    await waitFor(() => expect(screen.getByTestId('reconstruct-mse').textContent).toMatch(/PCA-32 MSE 0\.0114.*autoencoder \(z 32\) MSE 0\.00810/));
    expect(reconReqs[0]).toMatchObject({ datasetId: 'fashion', model: 'fashion-autoencoder', k: 16 });
    expect(screen.getByTestId('reconstruct-examples').querySelectorAll('img')).toHaveLength(3);
  });
});

describe('Explore source helpers', () => {
  it('builds request sources, incomplete selections give null', () => {
    const base = { split: 'train' as const, limit: 100, seed: 3 };
    expect(toRequestSource({ ...base, kind: 'generated', model: 'g' }, 20)).toEqual({ kind: 'generated', model: 'g', count: 20, seed: 3 });
    expect(toRequestSource({ ...base, kind: 'features', datasetId: 'd' })).toBeNull();
    expect(toRequestSource({ ...base, kind: 'matrix' })).toBeNull();
    expect(toRequestSource({ ...base, kind: 'dataset', datasetId: 'd', role: 'b' })).toEqual({ kind: 'dataset', datasetId: 'd', split: 'train', limit: 100, role: 'b' });
  });

  it('colours scatter points by the dendrogram cluster of the same row (by image index or seed); others grey', () => {
    const scatter = { n: 4, d: 2, description: '', indices: [2, 5, 9, 11] };
    const tree = { n: 2, d: 2, description: '', indices: [5, 11] };
    expect(clustersOnScatter(scatter, tree, [1, 0])).toEqual([-1, 1, -1, 0]);
    expect(rowKeys({ n: 3, d: 1, description: '', seeds: [10, 11, 12] })).toEqual([10, 11, 12]);
    expect(rowKeys({ n: 2, d: 1, description: '' })).toEqual([0, 1]);
  });
});
