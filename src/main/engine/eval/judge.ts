/**
 * The second judge of generated Fashion-MNIST images: PixelMLP (analysis/classifier.ts), a
 * multilayer perceptron on raw pixels, trained by `npm run train:demos -- --only judge` on
 * Fashion-MNIST train minus the shipped subset and scored on the held-out t10k. It is of a
 * different family from FashionCNN (no convolutions), so a generator that fools one through
 * the CNN's texture blind spots is still caught by the other. Shipped in models/fashion-judge-mlp.
 */
import path from 'node:path';
import { bytesToTensor, buildPixelMlpNetwork, classify, disposeClassifier, loadClassifier, saveClassifier, trainClassifier } from '../analysis/classifier';
import { writeFileAtomic, writeJsonAtomic } from '../core/fsutil';
import { CLASS_NAMES, fashionDir, readFashion, readSubset, withoutSubset } from './fashion';
import { matchRate } from './metrics';

export const JUDGE_NAME = 'fashion-judge-mlp';

export interface JudgeContext {
  out: string;
  seed: number;
  resources: string;
  limit?: number;
  log: (m: string) => void;
}

/** Train PixelMLP, save it in <out>/fashion-judge-mlp with its held-out accuracy (t10k, per class). */
export async function stageJudge(ctx: JudgeContext): Promise<{ t10kAccuracy: number; perClass: Record<string, number> }> {
  const dir = fashionDir();
  if (!dir) throw new Error('The judge trains on the full Fashion-MNIST: install dataset-fashion-mnist or set ATELIER_FASHION_MNIST_DIR.');
  let train = withoutSubset(await readFashion(dir, 'train'));
  if (ctx.limit) train = { ...train, n: ctx.limit, images: train.images.subarray(0, ctx.limit * 784), labels: train.labels.subarray(0, ctx.limit) };
  const test = await readFashion(dir, 'test');
  const subset = await readSubset(ctx.resources);
  const epochs = 8;
  const batchSize = 128;
  const lr = 1e-3;
  let last = 0;
  const r = await trainClassifier({
    build: buildPixelMlpNetwork,
    images: train.images,
    labels: train.labels,
    size: 28,
    epochs,
    batchSize,
    lr,
    seed: ctx.seed,
    classes: CLASS_NAMES,
    shift: 1,
    lrFactor: (p) => (p < 0.5 ? 1 : 1 - 1.8 * (p - 0.5)),
    onProgress: (p) => {
      if (p.step - last >= 200 || p.step === p.total) {
        last = p.step;
        ctx.log(`step ${p.step}/${p.total} epoch ${p.epoch} loss ${p.loss.toFixed(4)} acc ${p.acc.toFixed(4)}`);
      }
    },
  });
  const outDir = path.join(ctx.out, JUDGE_NAME);
  const training = { images: train.n, epochs, steps: r.steps, batchSize, lr, shift: 1, optimizer: 'adam; lr constant for half the run, then linearly to 0.1x', durationSec: r.durationSec, seed: ctx.seed };
  await saveClassifier(outDir, r.model, { name: 'PixelMLP', classes: CLASS_NAMES, training, metrics: {} });
  r.model.dispose();
  const c = await loadClassifier(outDir);
  const acc = (d: { images: Uint8Array; labels: Uint8Array; n: number; size: number }) => {
    const x = bytesToTensor(d.images, d.n, d.size);
    const s = matchRate(classify(c, x), d.labels);
    x.dispose();
    return s;
  };
  const t = acc(test);
  const sub = acc(subset);
  disposeClassifier(c);
  const perClass = Object.fromEntries(CLASS_NAMES.map((name, i) => [name, t.perClass[i]?.rate ?? NaN]));
  ctx.log(`PixelMLP t10k accuracy ${t.rate.toFixed(4)}, shipped subset ${sub.rate.toFixed(4)}`);
  const metaFile = path.join(outDir, 'classifier.json');
  const meta = JSON.parse(await (await import('node:fs/promises')).readFile(metaFile, 'utf8')) as Record<string, unknown>;
  await writeJsonAtomic(metaFile, { ...meta, metrics: { t10kAccuracy: t.rate, t10kPerClass: perClass, subsetAccuracy: sub.rate } });
  const md = [
    '# fashion-judge-mlp (PixelMLP)',
    '',
    'The second, independent judge of generated Fashion-MNIST images (conditional accuracy of',
    'models/fashion-cgan): a multilayer perceptron on the 32x32 pixels (1024 -> 256 -> 64 -> 10, ReLU),',
    'a different family from the FashionCNN in models/fashion-classifier. Same input convention',
    '(32x32 grey in [-1, 1], 28 px padded by 2 black pixels) and folder format.',
    '',
    `Trained on Fashion-MNIST train minus the shipped subset (${train.n} images), ${epochs} epochs, batch ${batchSize}, Adam lr ${lr} (constant for half the run, then linearly to 0.1x), random shifts of 1 px, seed ${ctx.seed}; ${r.steps} steps, ${(r.durationSec / 60).toFixed(1)} min (${'wasm'}).`,
    '',
    `Held-out accuracy: t10k ${t.rate.toFixed(4)} (${test.n} images), shipped subset ${sub.rate.toFixed(4)} (${subset.n}).`,
    '',
    '| class | t10k accuracy |',
    '|---|---|',
    ...Object.entries(perClass).map(([k, v]) => `| ${k} | ${v.toFixed(4)} |`),
    '',
    'Reproduce: `npm run train:demos -- --only judge`.',
    '',
  ].join('\n');
  await writeFileAtomic(path.join(outDir, 'README.md'), md);
  return { t10kAccuracy: t.rate, perClass };
}
