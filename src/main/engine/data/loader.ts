/**
 * Batches for training, as tfjs tensors: NHWC float32 in [-1, 1].
 *   paired    { a, b }        the same crop and flip on both (pix2pix); direction BtoA swaps them
 *   unpaired  { a, b }        each side shuffled and augmented independently (CycleGAN)
 *   labeled   { x, label }    label int32 [N]   (also Fashion-MNIST datasets)
 * Order: a permutation per epoch from (seed, epoch); augmentation (crop offsets, flips) from a
 * seeded RNG whose state is in the cursor {epoch, index, rng}: a loader opened with a saved
 * cursor yields exactly the batches the original would have yielded next.
 * Memory: packed datasets (idx) are held as uint8; file datasets are read per batch. Images are
 * cached as uint8 after the resize step only while the whole set fits in `cacheBytes`.
 *
 * Preprocess modes (as in pix2pix):
 *   resize_and_crop  resize to loadSize x loadSize, then a random size x size crop (train) or the centre (test)
 *   scale_width      scale width to loadSize keeping the aspect ratio, then crop size x size
 *   crop             crop size x size from the stored image, no resize
 *   none             resize to size x size if needed
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetManifest } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import { tf } from '../backend';
import { idxImage, readIdx } from './idx';
import { rawInput, type RawImage } from './normalize';
import { DataRng, mixSeed, permutation, type RngState } from './rng';
import { readManifest } from './store';

export type Preprocess = 'resize_and_crop' | 'scale_width' | 'crop' | 'none';

export interface LoaderCursor {
  epoch: number;
  index: number;
  rng: RngState;
}

export interface LoaderOptions {
  batchSize: number;
  split?: 'train' | 'test';
  seed?: number;
  /** Output side; default the stored width. */
  size?: number;
  preprocess?: Preprocess;
  /** Resize target before cropping; default round(size * 286 / 256) (pix2pix: 286 -> 256). */
  loadSize?: number;
  /** Random crops and horizontal flips; default true for train, false for test. */
  augment?: boolean;
  /** Horizontal flip (with augment); default true. */
  flip?: boolean;
  shuffle?: boolean;
  direction?: 'AtoB' | 'BtoA';
  dropLast?: boolean;
  cursor?: LoaderCursor;
  cacheBytes?: number;
}

export type Batch =
  | { kind: 'paired' | 'unpaired'; a: tf.Tensor4D; b: tf.Tensor4D; epoch: number; indices: number[]; indicesB: number[] }
  | { kind: 'labeled'; x: tf.Tensor4D; label: tf.Tensor1D; epoch: number; indices: number[] };

interface Source {
  count: number;
  get(i: number): Promise<RawImage>;
}

/** Images of one role, from packed idx (in memory) or stored PNG files (read on demand). */
async function openSource(dir: string, m: DatasetManifest, split: 'train' | 'test', role: 'a' | 'b' | 'x'): Promise<Source> {
  const ch = m.image.channels;
  if (m.storage === 'packed') {
    const rel = m.packed?.[split].images[role];
    if (!rel) return { count: 0, get: () => Promise.reject(new Error('empty')) };
    const arr = await readIdx(path.join(dir, rel));
    return { count: arr.dims[0]!, get: async (i) => idxImage(arr, i) };
  }
  const files = (m.items ?? []).filter((it) => it.split === split && it.files[role]).map((it) => path.join(dir, it.files[role]!));
  return {
    count: files.length,
    get: async (i) => {
      const { data, info } = await sharp(files[i]!).toColourspace(ch === 1 ? 'b-w' : 'srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      if (info.channels !== ch) throw new StudioError('BAD_INPUT', `${files[i]} has ${info.channels} channels; the dataset says ${ch}.`, { hint: 'Re-import the dataset.' });
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: ch };
    },
  };
}

function labelsOf(dir: string, m: DatasetManifest, split: 'train' | 'test'): Promise<Uint8Array | number[]> {
  if (m.storage === 'packed') {
    const rel = m.packed?.[split].labels;
    if (!rel) throw new StudioError('BAD_INPUT', `Dataset ${m.id} has no labels for ${split}.`);
    return readIdx(path.join(dir, rel)).then((a) => a.data);
  }
  return Promise.resolve((m.items ?? []).filter((it) => it.split === split && it.files.x).map((it) => it.label ?? 0));
}

async function resizeRaw(img: RawImage, w: number, h: number): Promise<RawImage> {
  if (img.width === w && img.height === h) return img;
  let pipeline = sharp(img.data, rawInput(img)).resize(w, h, { fit: 'fill', kernel: 'cubic' });
  // sharp hands raw output back in sRGB (3 channels) even for a 1-channel input: keep one.
  if (img.channels === 1) pipeline = pipeline.extractChannel(0);
  const data = await pipeline.raw().toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: w, height: h, channels: img.channels };
}

export class DatasetLoader {
  readonly kind: 'paired' | 'unpaired' | 'labeled';
  readonly size: number;
  readonly channels: number;
  /** Items per epoch (unpaired: the larger domain). */
  readonly length: number;
  private epoch: number;
  private index: number;
  private rng: DataRng;
  private perms = new Map<string, Uint32Array>();
  private cache = new Map<string, RawImage>();
  private cacheOn: boolean;
  private readonly o: Required<Omit<LoaderOptions, 'cursor' | 'size' | 'loadSize'>> & { loadSize: number };

  private constructor(
    readonly manifest: DatasetManifest,
    private srcA: Source,
    private srcB: Source | null,
    private labels: Uint8Array | number[] | null,
    opts: LoaderOptions,
  ) {
    this.kind = manifest.kind === 'fashion-mnist' ? 'labeled' : manifest.kind;
    const split = opts.split ?? 'train';
    this.size = opts.size ?? manifest.image.width;
    this.channels = manifest.image.channels;
    const preprocess = opts.preprocess ?? 'none';
    this.o = {
      batchSize: opts.batchSize,
      split,
      seed: opts.seed ?? 0,
      preprocess,
      loadSize: opts.loadSize ?? (preprocess === 'resize_and_crop' || preprocess === 'scale_width' ? Math.round((this.size * 286) / 256) : this.size),
      augment: opts.augment ?? split === 'train',
      flip: opts.flip ?? true,
      shuffle: opts.shuffle ?? true,
      direction: opts.direction ?? 'AtoB',
      dropLast: opts.dropLast ?? false,
      cacheBytes: opts.cacheBytes ?? 64 * 2 ** 20,
    };
    if (!(opts.batchSize >= 1)) throw new StudioError('BAD_INPUT', 'Batch size must be at least 1.');
    if (this.o.loadSize < this.size) throw new StudioError('BAD_INPUT', `Load size ${this.o.loadSize} is smaller than the crop size ${this.size}.`);
    this.length = this.kind === 'unpaired' ? Math.max(srcA.count, srcB!.count) : srcA.count;
    if (!this.length || (this.kind === 'unpaired' && (!srcA.count || !srcB!.count))) {
      throw new StudioError('BAD_INPUT', `Dataset ${manifest.id} has no ${split} images${this.kind === 'unpaired' ? ' in one of its domains' : ''}.`);
    }
    const c = opts.cursor;
    this.epoch = c?.epoch ?? 0;
    this.index = c?.index ?? 0;
    this.rng = new DataRng(c?.rng ?? mixSeed(this.o.seed, 0x5eed));
    const loaded = this.o.preprocess === 'none' ? this.size : this.o.loadSize;
    const imgs = srcA.count + (srcB?.count ?? 0);
    // Files: cache decoded images while they fit. Packed: already in memory; cache only resized copies.
    const resized = this.o.preprocess !== 'crop' && loaded !== manifest.image.width;
    this.cacheOn = (manifest.storage === 'files' || resized) && imgs * loaded * loaded * this.channels <= this.o.cacheBytes;
  }

  static async open(dir: string, opts: LoaderOptions): Promise<DatasetLoader> {
    const m = await readManifest(dir);
    const split = opts.split ?? 'train';
    const kind = m.kind === 'fashion-mnist' ? 'labeled' : m.kind;
    if (kind === 'labeled') {
      const x = await openSource(dir, m, split, 'x');
      const labels = await labelsOf(dir, m, split);
      return new DatasetLoader(m, x, null, labels, opts);
    }
    const a = await openSource(dir, m, split, 'a');
    const b = await openSource(dir, m, split, 'b');
    return new DatasetLoader(m, a, b, null, opts);
  }

  get batchesPerEpoch(): number {
    return this.o.dropLast ? Math.floor(this.length / this.o.batchSize) : Math.ceil(this.length / this.o.batchSize);
  }

  /** Where the next batch starts; save it with a checkpoint. */
  cursor(): LoaderCursor {
    return { epoch: this.epoch, index: this.index, rng: this.rng.state() };
  }

  private perm(which: 'a' | 'b', n: number): Uint32Array {
    const key = `${which}:${this.epoch}`;
    let p = this.perms.get(key);
    if (!p) {
      if (this.o.shuffle) p = permutation(n, mixSeed(this.o.seed, this.epoch, which === 'a' ? 1 : 2));
      else p = Uint32Array.from({ length: n }, (_, i) => i);
      for (const k of [...this.perms.keys()]) if (!k.endsWith(`:${this.epoch}`)) this.perms.delete(k);
      this.perms.set(key, p);
    }
    return p;
  }

  private async loaded(src: Source, role: string, i: number): Promise<RawImage> {
    const key = `${role}:${i}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let img = await src.get(i);
    const { preprocess, loadSize } = this.o;
    if (preprocess === 'resize_and_crop') img = await resizeRaw(img, loadSize, loadSize);
    else if (preprocess === 'scale_width') img = await resizeRaw(img, loadSize, Math.max(this.size, Math.round((img.height * loadSize) / img.width)));
    else if (preprocess === 'none') img = await resizeRaw(img, this.size, this.size);
    else if (img.width < this.size || img.height < this.size) img = await resizeRaw(img, Math.max(img.width, this.size), Math.max(img.height, this.size));
    if (this.cacheOn) this.cache.set(key, img);
    return img;
  }

  /** Draw crop offsets and a flip for one image. */
  private params(img: RawImage): { x: number; y: number; flip: boolean } {
    const s = this.size;
    if (!this.o.augment) return { x: (img.width - s) >> 1, y: (img.height - s) >> 1, flip: false };
    const x = this.rng.int(img.width - s + 1);
    const y = this.rng.int(img.height - s + 1);
    const flip = this.o.flip ? this.rng.next() < 0.5 : false;
    return { x, y, flip };
  }

  /** Write one image (crop + flip) into `out` at sample k, scaled to [-1, 1]. */
  private put(out: Float32Array, k: number, img: RawImage, p: { x: number; y: number; flip: boolean }): void {
    const s = this.size;
    const c = this.channels;
    const base = k * s * s * c;
    for (let y = 0; y < s; y++) {
      const row = ((p.y + y) * img.width + p.x) * c;
      for (let x = 0; x < s; x++) {
        const sx = p.flip ? s - 1 - x : x;
        const src = row + sx * c;
        const dst = base + (y * s + x) * c;
        for (let ch = 0; ch < c; ch++) out[dst + ch] = img.data[src + ch]! / 127.5 - 1;
      }
    }
  }

  async next(): Promise<Batch> {
    const bs = this.o.batchSize;
    if (this.index >= this.length || (this.o.dropLast && this.length - this.index < bs)) {
      this.epoch++;
      this.index = 0;
      if (this.o.dropLast && this.length < bs) throw new StudioError('BAD_INPUT', `Batch size ${bs} is larger than the ${this.length} items of the dataset.`);
    }
    const start = this.index;
    const n = Math.min(bs, this.length - start);
    const s = this.size;
    const c = this.channels;
    const epoch = this.epoch;
    if (this.kind === 'labeled') {
      const perm = this.perm('a', this.srcA.count);
      const x = new Float32Array(n * s * s * c);
      const lab = new Int32Array(n);
      const indices: number[] = [];
      for (let k = 0; k < n; k++) {
        const i = perm[start + k]!;
        indices.push(i);
        const img = await this.loaded(this.srcA, 'x', i);
        this.put(x, k, img, this.params(img));
        lab[k] = Number(this.labels![i]);
      }
      this.index = start + n;
      return { kind: 'labeled', x: tf.tensor4d(x, [n, s, s, c]), label: tf.tensor1d(lab, 'int32'), epoch, indices };
    }
    const srcB = this.srcB!;
    const pa = this.perm('a', this.srcA.count);
    const pb = this.kind === 'unpaired' ? this.perm('b', srcB.count) : pa;
    const a = new Float32Array(n * s * s * c);
    const b = new Float32Array(n * s * s * c);
    const indices: number[] = [];
    const indicesB: number[] = [];
    for (let k = 0; k < n; k++) {
      const pos = start + k;
      const ia = pa[pos % this.srcA.count]!;
      const ib = this.kind === 'unpaired' ? pb[pos % srcB.count]! : ia;
      indices.push(ia);
      indicesB.push(ib);
      const imgA = await this.loaded(this.srcA, 'a', ia);
      const imgB = await this.loaded(srcB, 'b', ib);
      const pA = this.params(imgA);
      const pB = this.kind === 'paired' ? pA : this.params(imgB);
      this.put(a, k, imgA, pA);
      this.put(b, k, imgB, pB);
    }
    this.index = start + n;
    const ta = tf.tensor4d(a, [n, s, s, c]);
    const tb = tf.tensor4d(b, [n, s, s, c]);
    const swap = this.kind === 'paired' && this.o.direction === 'BtoA';
    return { kind: this.kind, a: swap ? tb : ta, b: swap ? ta : tb, epoch, indices, indicesB };
  }
}

/** Convenience: open the loader of a dataset in the workspace by id. */
export async function openLoader(datasetsDir: string, id: string, opts: LoaderOptions): Promise<DatasetLoader> {
  const dir = path.join(datasetsDir, id);
  await fsp.access(dir).catch(() => {
    throw new StudioError('NOT_FOUND', `No dataset "${id}".`);
  });
  return DatasetLoader.open(dir, opts);
}
