/**
 * BatchSource over a workspace dataset (src/main/engine/data/loader.ts): paired / unpaired
 * datasets give {a, b}; labelled ones (and Fashion-MNIST) give {a: x, labels}. The cursor is
 * the loader's own (epoch, index, augmentation RNG); restoring re-opens the loader at it.
 * Registered as the default dataset opener on import.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatasetLoader, type LoaderCursor, type LoaderOptions } from '../data/loader';
import { readManifest } from '../data/store';
import type { Batch } from '../models/base';
import { StudioError } from '../../../shared/errors';
import { tf } from '../backend';
import { registerDatasetOpener, type BatchSource, type BatchSourceInfo, type OpenSourceRequest } from './source';

class LoaderSource implements BatchSource {
  readonly info: BatchSourceInfo;
  constructor(
    private loader: DatasetLoader,
    private readonly dir: string,
    private readonly opts: LoaderOptions,
    /** Resize batches to this side here (bilinear) instead of in the loader. */
    private readonly resizeTo: number | null = null,
    /** 1: A becomes grey (channel mean) for a grey -> colour model on a colour paired set. */
    private readonly greyA = false,
  ) {
    const m = loader.manifest;
    this.info = {
      size: resizeTo ?? loader.size,
      channels: loader.channels,
      length: loader.length,
      hasB: loader.kind !== 'labeled',
      paired: loader.kind === 'paired',
      ...(loader.kind === 'labeled' && m.classes?.length ? { numClasses: m.classes.length, classNames: m.classes } : {}),
    };
  }

  private sized(x: tf.Tensor4D): tf.Tensor4D {
    const s = this.resizeTo;
    if (!s || (x.shape[1] === s && x.shape[2] === s)) return x;
    const y = tf.tidy(() => tf.clipByValue(tf.image.resizeBilinear(x, [s, s], false, true), -1, 1) as tf.Tensor4D);
    x.dispose();
    return y;
  }

  async next(): Promise<Batch> {
    const b = await this.loader.next();
    if (b.kind === 'labeled') {
      const labels = tf.tidy(() => tf.reshape(tf.cast(b.label, 'int32'), [-1, 1]) as tf.Tensor2D);
      b.label.dispose();
      return { a: this.sized(b.x), labels };
    }
    let a = this.sized(b.a);
    if (this.greyA && a.shape[3] !== 1) {
      const g = tf.tidy(() => tf.mean(a, 3, true) as tf.Tensor4D);
      a.dispose();
      a = g;
    }
    return { a, b: this.sized(b.b) };
  }

  state(): unknown {
    return this.loader.cursor();
  }

  async restore(state: unknown): Promise<void> {
    this.loader = await DatasetLoader.open(this.dir, { ...this.opts, cursor: state as LoaderCursor });
  }
}

export async function openDatasetSource(req: OpenSourceRequest): Promise<BatchSource | null> {
  const dir = path.join(req.workspace.datasets, req.datasetId);
  if (!/^[A-Za-z0-9_.-]+$/.test(req.datasetId) || !fs.existsSync(path.join(dir, 'dataset.json'))) return null;
  const base: LoaderOptions = { batchSize: req.batchSize, split: 'train', seed: req.seed, preprocess: 'none', direction: req.direction, dropLast: true };
  // Grey datasets: the loader's sharp resize returns 3-channel pixels for 1-channel input
  // (striped images), so those are loaded at their stored size and resized here. The manifest
  // says which: the loader (which reads packed images whole) is opened once.
  const { image } = await readManifest(dir);
  const resizeTo = image.channels === 1 && req.size && req.size !== image.width ? req.size : null;
  const opts: LoaderOptions = { ...base, ...(req.size && !resizeTo ? { size: req.size } : {}) };
  const loader = await DatasetLoader.open(dir, opts);
  if (req.channels && req.channels !== loader.channels) {
    throw new StudioError('BAD_INPUT', `Dataset ${req.datasetId} has ${loader.channels}-channel images; the options ask for ${req.channels}.`, {
      hint: `Leave channels unset (it follows the dataset) or set channels=${loader.channels}.`,
    });
  }
  if (req.inChannels !== undefined && req.inChannels !== loader.channels && req.inChannels !== 1) {
    throw new StudioError('BAD_INPUT', `inChannels=${req.inChannels} cannot be made from ${req.datasetId}'s ${loader.channels}-channel images.`, { hint: 'Leave inChannels unset, or use 1 (grey input).' });
  }
  if (req.needs === 'paired' && loader.kind !== 'paired') throw new StudioError('BAD_INPUT', `pix2pix needs a paired dataset; ${req.datasetId} is ${loader.kind}.`, { hint: 'Use cyclegan for unpaired data.' });
  if (req.needs === 'unpaired' && loader.kind === 'labeled') throw new StudioError('BAD_INPUT', `cyclegan needs two image domains; ${req.datasetId} is a labelled set.`);
  if (req.needs === 'labelled' && loader.kind !== 'labeled') throw new StudioError('BAD_INPUT', `cgan needs class labels; ${req.datasetId} is ${loader.kind}.`, { hint: 'Use gan for unlabelled images.' });
  return new LoaderSource(loader, dir, opts, resizeTo, req.inChannels === 1 && loader.channels !== 1 && loader.kind !== 'labeled');
}

registerDatasetOpener(openDatasetSource);
