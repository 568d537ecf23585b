/**
 * The shipped models in models/: each loads, generates, exports ONNX with parity < 1e-4, and
 * re-evaluating it on the shipped data (demo datasets built from resources/demo) reproduces the
 * key metric of its card (card.json, written by scripts/train-demos.ts) within its tolerance.
 * A model whose folder is absent is skipped, with the reason in the test name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../../../src/main/engine/backend';
import { bytesToTensor, classify, disposeClassifier, loadClassifier, toClassifierInput } from '../../../../src/main/engine/analysis/classifier';
import { DEMO_NAMES, type ModelCard } from '../../../../src/main/engine/eval/demos';
import { evaluateBundle, metricValue } from '../../../../src/main/engine/eval/evaluate';
import { readSubset } from '../../../../src/main/engine/eval/fashion';
import { ensureDemoDatasets } from '../../../../src/main/engine/data/demo';
import { exportOnnx, PARITY_THRESHOLD } from '../../../../src/main/engine/export/onnx-export';
import { listBundles, loadBundleSource } from '../../../../src/main/engine/infer/registry';
import { disposeBundle, generate, loadBundle, translate } from '../../../../src/main/engine/train/bundle';
import { appRoot, openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';

const MODELS = path.join(appRoot(), 'models');
const RESOURCES = path.join(appRoot(), 'resources');
const CLASSIFIER = path.join(MODELS, DEMO_NAMES.classifier);
const present = (name: string) => fs.existsSync(path.join(MODELS, name));
const title = (name: string, what: string) => (present(name) ? `${name}: ${what}` : `${name}: ${what} — SKIPPED: models/${name} is not in this checkout`);
const readCard = (name: string) => JSON.parse(fs.readFileSync(path.join(MODELS, name, 'card.json'), 'utf8')) as ModelCard;

let root: string;
let ws: Workspace;
let saved: Record<string, string | undefined>;
beforeAll(async () => {
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-demos-'));
  saved = { from: process.env.ATELIER_DEMO_FROM, models: process.env.ATELIER_MODELS_DIR };
  process.env.ATELIER_DEMO_FROM = 'resources'; // the shipped subset, as on a machine without the Debian package
  process.env.ATELIER_MODELS_DIR = MODELS;
  ws = openWorkspace(path.join(root, 'ws'));
});
afterAll(() => {
  if (saved.from === undefined) delete process.env.ATELIER_DEMO_FROM;
  else process.env.ATELIER_DEMO_FROM = saved.from;
  if (saved.models === undefined) delete process.env.ATELIER_MODELS_DIR;
  else process.env.ATELIER_MODELS_DIR = saved.models;
  fs.rmSync(root, { recursive: true, force: true });
});

describe('shipped models', () => {
  const generators = (['cgan', 'autoencoder', 'pix2pix', 'cyclegan'] as const).map((s) => DEMO_NAMES[s]);

  it('bundle.list shows the shipped generators in a fresh workspace with no dataset', async () => {
    const list = await listBundles(ws);
    for (const name of generators.filter(present)) {
      const s = list.find((b) => b.id === name);
      expect(s, name).toBeDefined();
      expect(s!.location).toBe('shipped');
      expect(s!.onnx).not.toBeNull();
    }
    // the classifier is an instrument, not a generator bundle: not listed
    expect(list.some((b) => b.id === DEMO_NAMES.classifier)).toBe(false);
  });

  it.skipIf(!present(DEMO_NAMES.classifier))(title(DEMO_NAMES.classifier, 'held-out accuracy on the shipped subset >= 0.85, as in its card'), async () => {
    const c = await loadClassifier(CLASSIFIER);
    const sub = await readSubset(RESOURCES);
    const x = bytesToTensor(sub.images, sub.n, sub.size);
    const pred = classify(c, x);
    x.dispose();
    let ok = 0;
    pred.forEach((p, i) => (ok += p === sub.labels[i] ? 1 : 0));
    const acc = ok / sub.n;
    expect(acc).toBeGreaterThanOrEqual(0.85);
    expect(Math.abs(acc - readCard(DEMO_NAMES.classifier).keyMetric.value)).toBeLessThanOrEqual(0.005);
    // input convention: 28 -> 32 with a black (-1) border, 32 as is
    const t = toClassifierInput(tf.fill([1, 28, 28, 1], 1) as tf.Tensor4D);
    expect(t.shape).toEqual([1, 32, 32, 1]);
    const v = t.dataSync();
    expect(v[0]).toBe(-1);
    expect(v[2 * 32 + 2]).toBe(1);
    t.dispose();
    disposeClassifier(c);
  });

  for (const name of generators) {
    it.skipIf(!present(name))(title(name, 'loads, generates, exports ONNX with parity < 1e-4'), async () => {
      const dir = path.join(MODELS, name);
      const b = await loadBundle(dir);
      const n0 = tf.memory().numTensors;
      let out: tf.Tensor4D;
      if (b.meta.model === 'cgan' || b.meta.model === 'gan') out = generate(b, { n: 4, seed: 1 });
      else out = translate(b, tf.zeros([2, b.meta.preprocessing.size, b.meta.preprocessing.size, b.meta.preprocessing.inChannels]) as tf.Tensor4D);
      expect(out.shape.slice(1)).toEqual([32, 32, 1]);
      const v = out.dataSync();
      expect(v.every((x) => Number.isFinite(x) && x >= -1 && x <= 1)).toBe(true);
      out.dispose();
      expect(tf.memory().numTensors).toBeLessThanOrEqual(n0 + 1);
      disposeBundle(b);
      for (const direction of b.meta.model === 'cyclegan' ? (['AtoB', 'BtoA'] as const) : (['AtoB'] as const)) {
        const src = await loadBundleSource(dir, { direction });
        const res = await exportOnnx(src, path.join(root, `${name}.${direction}.onnx`));
        for (const m of [src.generator, src.encoder, src.decoder]) m?.dispose();
        expect(res.parity.maxAbsDiff, direction).toBeLessThan(PARITY_THRESHOLD);
      }
      // the shipped ONNX passed its parity check when written
      for (const o of [readCard(name).onnx].flat()) expect(o!.pass).toBe(true);
    });

    it.skipIf(!present(name))(title(name, 're-evaluation on the shipped data reproduces the card key metric'), async () => {
      const card = readCard(name);
      await ensureDemoDatasets(ws);
      const r = await evaluateBundle(ws, { model: path.join(MODELS, name), dataset: card.keyMetric.dataset, split: 'test', seed: 0, classifier: CLASSIFIER });
      const v = metricValue(r, card.keyMetric.name);
      expect(Math.abs(v - card.keyMetric.value), `${card.keyMetric.name} ${v} vs card ${card.keyMetric.value}`).toBeLessThanOrEqual(card.keyMetric.tolerance);
    });
  }
});
