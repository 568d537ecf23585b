import './match-media';
import { describe, expect, it } from 'vitest';
import { cutTree, layoutDendrogram } from '../../../src/renderer/src/components/Dendrogram';
import { smooth } from '../../../src/renderer/src/components/LossChart';
import { fitScale } from '../../../src/renderer/src/components/ImageView';
import { commonRoot, filesFromDataTransfer, filesFromList } from '../../../src/renderer/src/lib/files';
import { fmtEta } from '../../../src/renderer/src/lib/format';
import { guessKind } from '../../../src/renderer/src/pages/data/DataPage';
import { buildRenderRequest } from '../../../src/renderer/src/pages/latent/LatentPage';
import { DIVERSITY_SERIES, historyFromLog } from '../../../src/renderer/src/pages/train/TrainPage';
import { changedOptions, defaultsOf } from '../../../src/renderer/src/pages/train/OptionsForm';

// 4 points: 0 and 1 merge at 1, 2 and 3 at 2, then the two pairs at 5 (scipy layout).
const LINK = [
  [0, 1, 1, 2],
  [2, 3, 2, 2],
  [4, 5, 5, 4],
];

describe('dendrogram maths', () => {
  it('lays leaves out in tree order with merges centred over their children', () => {
    const l = layoutDendrogram(LINK, 4);
    expect(l.order).toEqual([0, 1, 2, 3]);
    expect(l.x[4]).toBe(0.5);
    expect(l.x[5]).toBe(2.5);
    expect(l.x[6]).toBe(1.5);
    expect(l.maxH).toBe(5);
  });

  it('cuts the tree into flat clusters at a height', () => {
    expect(cutTree(LINK, 4, 0.5)).toEqual([0, 1, 2, 3]);
    expect(cutTree(LINK, 4, 1.5)).toEqual([0, 0, 1, 2]);
    expect(cutTree(LINK, 4, 3)).toEqual([0, 0, 1, 1]);
    expect(cutTree(LINK, 4, 5)).toEqual([0, 0, 0, 0]);
  });
});

describe('loss smoothing', () => {
  it('is the identity at 0 and a debiased EMA otherwise, skipping gaps', () => {
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = smooth([2, NaN, 4], 0.5);
    expect(s[0]).toBeCloseTo(2); // debiased: first value is kept
    expect(Number.isNaN(s[1]!)).toBe(true);
    expect(s[2]).toBeCloseTo((0.5 * 2 * 0.5 + 0.5 * 4) / 0.75);
  });
});

describe('pixel-exact zoom', () => {
  it('uses integer factors when enlarging and a fraction when shrinking', () => {
    expect(fitScale(32, 32, 500, 400)).toBe(12);
    expect(fitScale(32, 32, 20, 20)).toBe(0.625);
    expect(fitScale(32, 32, 5000, 5000)).toBe(16);
  });
});

describe('dropped files', () => {
  function fileEntry(name: string, fullPath: string) {
    return { isFile: true, isDirectory: false, name, fullPath, file: (ok: (f: File) => void) => ok(new File(['x'], name)) };
  }
  function dirEntry(name: string, children: unknown[]) {
    let done = false;
    return {
      isFile: false,
      isDirectory: true,
      name,
      fullPath: `/${name}`,
      createReader: () => ({
        readEntries: (ok: (e: unknown[]) => void) => {
          ok(done ? [] : children);
          done = true;
        },
      }),
    };
  }

  it('walks dropped folders and keeps relative paths, skipping hidden files', async () => {
    const tree = dirEntry('shoes', [dirEntry('trainB', [fileEntry('2.png', '')]), dirEntry('trainA', [fileEntry('1.png', ''), fileEntry('.DS_Store', '')])]);
    const dt = { items: [{ kind: 'file', webkitGetAsEntry: () => tree }], files: [] } as unknown as DataTransfer;
    const out = await filesFromDataTransfer(dt);
    expect(out.relPaths).toEqual(['shoes/trainA/1.png', 'shoes/trainB/2.png']);
    expect(out.folders).toEqual(['shoes']);
    expect(out.files.map((f) => f.name)).toEqual(['1.png', '2.png']);
    expect(guessKind(out.relPaths)).toBe('unpaired');
  });

  it('falls back to the file list when entries are not available', () => {
    const f = new File(['x'], 'a.png');
    const out = filesFromList([f]);
    expect(out.relPaths).toEqual(['a.png']);
    expect(out.folders).toEqual([]);
  });

  it('finds the folder the uploaded files live in', () => {
    expect(commonRoot(['/ws/tmp/uploads/b1/shoes/A/1.png'], ['shoes/A/1.png'])).toBe('/ws/tmp/uploads/b1');
  });

  it('guesses the dataset kind from the structure', () => {
    expect(guessKind(['set/A/1.png', 'set/B/1.png'])).toBe('paired');
    expect(guessKind(['t10k-images-idx3-ubyte.gz'])).toBe('fashion-mnist');
    expect(guessKind(['animals/cat/1.png', 'animals/dog/2.png'])).toBe('labeled');
    expect(guessKind(['1.png', '2.png'])).toBe('paired');
  });
});

describe('latent render request', () => {
  const dirReq = { count: 2, samples: 256, seed: 0, space: 'features' as const };
  it('names the PCA sliders by index with the directions request (the engine applies and records them)', () => {
    const r = buildRenderRequest({ model: 'm', seed: 7, dirReq, amounts: [0, 1.5], dims: { 3: -1 }, label: null, blendTo: null, blendT: 0 });
    expect(r).toEqual({ model: 'm', z: { seed: 7 }, pca: { ...dirReq, amounts: [0, 1.5] }, dims: [{ index: 3, value: -1 }] });
    // Sliders at rest send no pca at all.
    expect(buildRenderRequest({ model: 'm', seed: 7, dirReq, amounts: [0, 0], dims: {}, label: null, blendTo: null, blendT: 0 })).toEqual({ model: 'm', z: { seed: 7 } });
  });
  it('uses a class blend only when a second class and a weight are set', () => {
    const base = { model: 'm', seed: 0, dirReq: null, amounts: [], dims: {} };
    expect(buildRenderRequest({ ...base, label: 2, blendTo: null, blendT: 0.5 })).toEqual({ model: 'm', z: { seed: 0 }, label: 2 });
    expect(buildRenderRequest({ ...base, label: 2, blendTo: 5, blendT: 0 })).toEqual({ model: 'm', z: { seed: 0 }, label: 2 });
    expect(buildRenderRequest({ ...base, label: 2, blendTo: 5, blendT: 0.25 })).toEqual({ model: 'm', z: { seed: 0 }, blend: { a: 2, b: 5, t: 0.25 } });
  });
});

describe('training helpers', () => {
  it('sends only options that differ from the defaults', () => {
    const specs = [
      { key: 'lr', type: 'number' as const, default: 2e-4, description: '' },
      { key: 'ngf', type: 'int' as const, default: null, description: '' },
      { key: 'flip', type: 'boolean' as const, default: true, description: '' },
    ];
    const v = defaultsOf(specs);
    expect(changedOptions(specs, v)).toEqual({});
    expect(changedOptions(specs, { ...v, ngf: 16, flip: false })).toEqual({ ngf: 16, flip: false });
  });
  it('turns a run log into chart series', () => {
    const h = historyFromLog([
      { step: 1, epoch: 0, lr: 1, t: 0, losses: { G: 1 } },
      { step: 2, epoch: 0, lr: 1, t: 0, losses: { G: 0.5, D: 2 } },
    ]);
    expect(h.steps).toEqual([1, 2]);
    expect(h.series.G).toEqual([1, 0.5]);
    expect(h.series.D).toEqual([NaN, 2]);
    expect(h.series[DIVERSITY_SERIES]).toBeUndefined();
  });
  it('charts the logged sample diversity (lowest row) beside the losses', () => {
    const h = historyFromLog([
      { step: 1, epoch: 0, lr: 1, t: 0, losses: { G: 1 }, diversity: { class_0: 0.9, class_1: 0.4 } },
      { step: 2, epoch: 0, lr: 1, t: 0, losses: { G: 0.5 } },
    ]);
    expect(h.series[DIVERSITY_SERIES]).toEqual([0.4, NaN]);
  });
  it('formats ETAs for people', () => {
    expect(fmtEta(42)).toBe('42s');
    expect(fmtEta(125)).toBe('2m 05s');
    expect(fmtEta(3 * 3600 + 600)).toBe('3h 10m');
    expect(fmtEta(undefined)).toBe('—');
  });
});
