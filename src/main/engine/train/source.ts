/**
 * Where training batches come from. The dataset loader (src/main/engine/data) implements
 * BatchSource; until it is wired, `registerDatasetOpener` lets it plug in, and the in-memory
 * source below serves tests and the built-in synthetic datasets ("synthetic:<kind>").
 *
 * A BatchSource yields NHWC float32 batches in [-1, 1] with a resumable cursor:
 *   next()            a new Batch (the caller owns the tensors)
 *   state()/restore() the cursor as JSON (checkpointed with the run)
 */
import { tf } from '../backend';
import type { Batch } from '../models/base';
import { Rng } from '../models/rng';
import { StudioError } from '../../../shared/errors';
import type { Workspace } from '../core/workspace';

export interface BatchSourceInfo {
  size: number;
  channels: number;
  /** Items per epoch. */
  length: number;
  /** Batches carry b (pix2pix: aligned pairs; cyclegan: an independent B domain). */
  hasB: boolean;
  paired: boolean;
  numClasses?: number;
  classNames?: string[];
}

export interface BatchSource {
  readonly info: BatchSourceInfo;
  next(): Batch | Promise<Batch>;
  state(): unknown;
  restore(state: unknown): void | Promise<void>;
  close?(): void;
}

export interface OpenSourceRequest {
  workspace: Workspace;
  datasetId: string;
  /** Output side; undefined: the dataset's own (synthetic: 32). */
  size?: number;
  /** undefined: the dataset's own (synthetic: 3). */
  channels?: number;
  /**
   * Channels of the input side A when they differ from `channels` (pix2pix inChannels): 1 turns
   * a colour A into grey by the channel mean (a colouriser's paired set stores A as R=G=B).
   */
  inChannels?: number;
  batchSize: number;
  seed: number;
  /** What the model needs: paired A/B, unpaired A/B, labelled images or plain images. */
  needs: 'images' | 'labelled' | 'paired' | 'unpaired';
  /** pix2pix: AtoB or BtoA. */
  direction: 'AtoB' | 'BtoA';
}

export type DatasetOpener = (req: OpenSourceRequest) => Promise<BatchSource | null>;
const openers: DatasetOpener[] = [];

/** The dataset module registers how it opens a workspace dataset as a BatchSource. */
export function registerDatasetOpener(fn: DatasetOpener): void {
  openers.push(fn);
}

export async function openBatchSource(req: OpenSourceRequest): Promise<BatchSource> {
  if (req.datasetId.startsWith('synthetic')) return syntheticSource(req);
  for (const o of openers) {
    const s = await o(req);
    if (s) return s;
  }
  throw new StudioError('NOT_FOUND', `No dataset "${req.datasetId}" could be opened for training.`, {
    hint: 'Import it first (datasets), or use "synthetic:<images|labelled|paired|unpaired>" to try training on generated shapes.',
  });
}

interface MemCursor {
  epoch: number;
  index: number;
  bIndex: number;
}

/**
 * In-memory BatchSource over Float32Array images (HWC, [-1,1]). Each epoch visits the items in
 * an order shuffled by (seed, epoch); an unpaired B side has its own order. The cursor is
 * {epoch, index, bIndex}: restoring it continues the exact same sequence of batches.
 */
export class InMemoryBatchSource implements BatchSource {
  readonly info: BatchSourceInfo;
  private cur: MemCursor = { epoch: 0, index: 0, bIndex: 0 };

  constructor(
    private readonly data: { a: Float32Array[]; b?: Float32Array[]; labels?: number[]; size: number; channels: number; paired?: boolean; numClasses?: number },
    private readonly batchSize: number,
    private readonly seed = 0,
  ) {
    if (!data.a.length) throw new Error('InMemoryBatchSource needs at least one image');
    this.info = {
      size: data.size,
      channels: data.channels,
      length: data.a.length,
      hasB: !!data.b,
      paired: data.paired ?? !!data.b,
      ...(data.labels ? { numClasses: data.numClasses ?? Math.max(...data.labels) + 1 } : {}),
    };
  }

  private orders = new Map<string, number[]>();

  private order(n: number, epoch: number, salt: number): number[] {
    const key = `${n}:${epoch}:${salt}`;
    const hit = this.orders.get(key);
    if (hit) return hit;
    if (this.orders.size > 8) this.orders.clear();
    const r = new Rng((this.seed * 1000003 + epoch * 7919 + salt) >>> 0);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    this.orders.set(key, idx);
    return idx;
  }

  next(): Batch {
    const { size, channels } = this.data;
    const per = size * size * channels;
    const n = this.batchSize;
    const a = new Float32Array(n * per);
    const b = this.data.b ? new Float32Array(n * per) : null;
    const labels = this.data.labels ? new Int32Array(n) : null;
    for (let k = 0; k < n; k++) {
      if (this.cur.index >= this.data.a.length) {
        this.cur = { epoch: this.cur.epoch + 1, index: 0, bIndex: this.cur.bIndex };
      }
      const order = this.order(this.data.a.length, this.cur.epoch, 1);
      const i = order[this.cur.index]!;
      a.set(this.data.a[i]!, k * per);
      if (b && this.data.b) {
        if (this.info.paired) b.set(this.data.b[i]!, k * per);
        else {
          const nb = this.data.b.length;
          const bEpoch = Math.floor(this.cur.bIndex / nb);
          const j = this.order(nb, bEpoch, 2)[this.cur.bIndex % nb]!;
          b.set(this.data.b[j]!, k * per);
          this.cur.bIndex += 1;
        }
      }
      if (labels) labels[k] = this.data.labels![i]!;
      this.cur.index += 1;
    }
    return {
      a: tf.tensor4d(a, [n, size, size, channels]),
      ...(b ? { b: tf.tensor4d(b, [n, size, size, channels]) } : {}),
      ...(labels ? { labels: tf.tensor2d(labels, [n, 1], 'int32') } : {}),
    };
  }

  state(): unknown {
    return { ...this.cur };
  }

  restore(state: unknown): void {
    const s = state as MemCursor;
    this.cur = { epoch: s.epoch, index: s.index, bIndex: s.bIndex };
  }
}

/** Procedural shapes: a disc or a square of some colour on a dark background. */
export function syntheticImages(opts: { n: number; size: number; channels: number; seed: number; kind: 'images' | 'labelled' | 'paired' | 'unpaired'; numClasses?: number }) {
  const r = new Rng(opts.seed);
  const { size: S, channels: C } = opts;
  const nc = opts.numClasses ?? 4;
  const a: Float32Array[] = [];
  const b: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < opts.n; i++) {
    const cls = i % nc;
    const cx = S * (0.3 + 0.4 * r.next());
    const cy = S * (0.3 + 0.4 * r.next());
    const rad = S * (0.15 + 0.15 * r.next());
    const square = opts.kind === 'labelled' ? cls % 2 === 1 : r.next() > 0.5;
    const colour = Array.from({ length: C }, (_, c) => (opts.kind === 'labelled' ? ((cls >> 1) + c) % 2 ? 0.9 : -0.5 : -0.5 + 1.4 * r.next()));
    const fill = new Float32Array(S * S * C).fill(-1);
    const edge = new Float32Array(S * S * C).fill(-1);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const d = square ? Math.max(Math.abs(x - cx), Math.abs(y - cy)) : Math.hypot(x - cx, y - cy);
        const inside = d <= rad;
        const onEdge = Math.abs(d - rad) < 1;
        for (let c = 0; c < C; c++) {
          if (inside) fill[(y * S + x) * C + c] = colour[c]!;
          if (onEdge) edge[(y * S + x) * C + c] = 1;
        }
      }
    }
    if (opts.kind === 'paired') {
      a.push(edge);
      b.push(fill);
    } else if (opts.kind === 'unpaired') {
      (i % 2 ? b : a).push(i % 2 ? fill : edge);
    } else a.push(fill);
    labels.push(cls);
  }
  return { a, b, labels, numClasses: nc };
}

function syntheticSource(req: OpenSourceRequest): BatchSource {
  const kind = (req.datasetId.split(':')[1] || req.needs) as OpenSourceRequest['needs'];
  if (!['images', 'labelled', 'paired', 'unpaired'].includes(kind)) {
    throw new StudioError('BAD_INPUT', `Unknown synthetic dataset "${req.datasetId}".`, { hint: 'Use synthetic:images, synthetic:labelled, synthetic:paired or synthetic:unpaired.' });
  }
  const size = req.size ?? 32;
  const channels = req.channels ?? 3;
  const d = syntheticImages({ n: 64, size, channels, seed: 1234, kind });
  const swap = kind === 'paired' && req.direction === 'BtoA';
  return new InMemoryBatchSource(
    {
      a: swap ? d.b : d.a,
      ...(kind === 'paired' || kind === 'unpaired' ? { b: swap ? d.a : d.b } : {}),
      ...(kind === 'labelled' ? { labels: d.labels, numClasses: d.numClasses } : {}),
      size,
      channels,
      paired: kind === 'paired',
    },
    req.batchSize,
    req.seed,
  );
}
