/**
 * Fashion-MNIST as evaluation data: the full train/t10k files (Debian's dataset-fashion-mnist,
 * or ATELIER_FASHION_MNIST_DIR) and the shipped subset (resources/demo/fashion-mnist-subset,
 * 2,600 training images: the first 200 of each class + the first 500 sneakers and ankle boots).
 * The classifier is trained on the training images NOT in the shipped subset, so accuracy
 * measured on the subset (and on the demo datasets built from it) is held-out accuracy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../../../shared/errors';
import { DEBIAN_FASHION_DIR, SUBSET_QUOTA, selectFirstPerClass } from '../data/demo';
import { FASHION_CLASSES, FASHION_FILES, readIdx } from '../data/idx';

export interface LabelledBytes {
  /** n x size x size uint8. */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  size: number;
}

export function fashionDir(): string | null {
  const d = process.env.ATELIER_FASHION_MNIST_DIR ?? DEBIAN_FASHION_DIR;
  return fs.existsSync(path.join(d, `${FASHION_FILES.testImages}.gz`)) ? d : null;
}

export async function readFashion(dir: string, split: 'train' | 'test'): Promise<LabelledBytes> {
  const im = await readIdx(path.join(dir, `${split === 'train' ? FASHION_FILES.trainImages : FASHION_FILES.testImages}.gz`));
  const lb = await readIdx(path.join(dir, `${split === 'train' ? FASHION_FILES.trainLabels : FASHION_FILES.testLabels}.gz`));
  if (im.dims[0] !== lb.dims[0]) throw new StudioError('BAD_INPUT', `Fashion-MNIST ${split} images and labels differ in count in ${dir}.`);
  return { images: im.data, labels: lb.data, n: lb.dims[0]!, size: im.dims[1]! };
}

/** Full Fashion-MNIST train split minus the images of the shipped subset. */
export function withoutSubset(train: LabelledBytes): LabelledBytes {
  const drop = new Set(selectFirstPerClass(train.labels, SUBSET_QUOTA));
  const keep: number[] = [];
  for (let i = 0; i < train.n; i++) if (!drop.has(i)) keep.push(i);
  return pick(train, keep);
}

export function pick(d: LabelledBytes, idx: number[]): LabelledBytes {
  const px = d.size * d.size;
  const images = new Uint8Array(idx.length * px);
  const labels = new Uint8Array(idx.length);
  idx.forEach((s, k) => {
    images.set(d.images.subarray(s * px, s * px + px), k * px);
    labels[k] = d.labels[s]!;
  });
  return { images, labels, n: idx.length, size: d.size };
}

export async function readSubset(resourcesDir: string): Promise<LabelledBytes> {
  return readFashion(path.join(resourcesDir, 'demo', 'fashion-mnist-subset'), 'train');
}

export const CLASS_NAMES: string[] = [...FASHION_CLASSES];
