/**
 * Seconds per training step for a model on random data (the data pipeline is not timed), the
 * trainable parameter count per network, and the tensor count / RSS drift over the run.
 */
import { tf, initBackend } from '../backend';
import { createModel } from '../models/registry';
import type { Batch } from '../models/base';

export interface TrainStepFigure {
  model: string;
  size: number;
  batch: number;
  secondsPerStep: number;
  steps: number;
  params: Record<string, number>;
  tensorDrift: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function randomBatch(kind: string, size: number, batch: number, channels: number, classes: number): Batch {
  return tf.tidy(() => {
    const a = tf.randomUniform([batch, size, size, channels], -1, 1, 'float32', 1) as tf.Tensor4D;
    const b = tf.randomUniform([batch, size, size, channels], -1, 1, 'float32', 2) as tf.Tensor4D;
    const labels = tf.tensor2d(Array.from({ length: batch }, (_, i) => i % classes), [batch, 1], 'int32');
    if (kind === 'cgan') return { a, labels };
    if (kind === 'gan' || kind === 'autoencoder') return { a };
    return { a, b };
  });
}

/** Trainable parameters (PyTorch's `sum(p.numel() for p in m.parameters() if p.requires_grad)`). */
export function countTrainable(net: tf.LayersModel): number {
  return net.trainableWeights.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
}

export async function benchTrainStep(opts: {
  model: string;
  size: number;
  batch: number;
  steps: number;
  warmup: number;
  options?: Record<string, unknown>;
  channels?: number;
}): Promise<TrainStepFigure> {
  await initBackend();
  const channels = opts.channels ?? 3;
  const model = createModel(opts.model, { size: opts.size, channels, batchSize: opts.batch, seed: 1, ...(opts.options ?? {}) });
  const classes = 10;
  const times: number[] = [];
  let before = 0;
  try {
    for (let s = 0; s < opts.warmup + opts.steps; s++) {
      model.setInput(randomBatch(opts.model, opts.size, opts.batch, channels, classes));
      if (s === opts.warmup) before = tf.memory().numTensors;
      const t0 = performance.now();
      // Async: on webgpu the step's losses are read back (so the time covers the GPU's work).
      await model.trainStepAsync();
      if (s >= opts.warmup) times.push((performance.now() - t0) / 1000);
    }
    const drift = tf.memory().numTensors - before;
    const params: Record<string, number> = {};
    for (const [name, net] of Object.entries(model.networks)) params[name] = countTrainable(net);
    return { model: opts.model, size: opts.size, batch: opts.batch, secondsPerStep: median(times), steps: opts.steps, params, tensorDrift: drift };
  } finally {
    model.dispose();
  }
}
