/**
 * Per-kernel time of training steps on the wasm backend (`atelier bench --profile`,
 * scripts/kernels-profile.ts). Every registered wasm kernel is wrapped for the duration of the
 * run and restored afterwards; only top-level calls are timed (a kernel of ours that calls other
 * kernels counts once, inclusive), so the rows add up to the kernel time of the step.
 */
import * as tf from '@tensorflow/tfjs';
import { tf as engineTf, initBackend } from '../backend';
import { createModel } from '../models/registry';

export interface KernelProfileRow {
  kernel: string;
  ms: number;
  /** Process CPU time (the calling thread's work when the backend runs 1 thread). */
  cpuMs: number;
  calls: number;
}
export interface StepProfile {
  model: string;
  size: number;
  /** Median wall and process CPU time per step, ms. */
  wallMs: number;
  cpuMs: number;
  /** Per-kernel wall ms per step (mean over the profiled steps), largest first. */
  kernels: KernelProfileRow[];
  threads: number;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

type Times = Map<string, { ms: number; cpuMs: number; calls: number }>;

/**
 * Time `fn` per kernel while it runs; originals are restored even if fn throws. `byShape` keys
 * the rows by kernel and input shapes.
 */
export function withKernelTimes<T>(fn: () => T, byShape = false): { result: T; times: Times } {
  const times: Times = new Map();
  const originals = tf.getKernelsForBackend('wasm');
  let depth = 0;
  for (const k of originals) {
    const orig = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      setupFunc: undefined,
      kernelFunc: (a) => {
        if (depth > 0) return orig(a);
        depth++;
        const t0 = performance.now();
        const c0 = cpuNow();
        try {
          return orig(a);
        } finally {
          depth--;
          const key = byShape ? `${k.kernelName} ${Object.values(a.inputs).map((t) => (t ? `[${t.shape.join(',')}]` : '-')).join(' ')}` : k.kernelName;
          const e = times.get(key) ?? { ms: 0, cpuMs: 0, calls: 0 };
          e.ms += performance.now() - t0;
          e.cpuMs += cpuNow() - c0;
          e.calls++;
          times.set(key, e);
        }
      },
    });
  }
  try {
    return { result: fn(), times };
  } finally {
    for (const k of originals) {
      tf.unregisterKernel(k.kernelName, 'wasm');
      tf.registerKernel(k);
    }
  }
}

/**
 * Profile `steps` training steps of a model (after `warmup` steps, default 2) on random data. One
 * warm-up step is not enough: the second step still touches ~170 MB of wasm heap for the first
 * time at 128 px CycleGAN (~43K minor page faults, ~1.3 s of a ~3.9 s step; from the third step
 * ~1-4K), and with two profiled steps the median is the larger one.
 */
export async function profileTrainStep(opts: { model: string; size: number; steps?: number; warmup?: number; options?: Record<string, unknown>; byShape?: boolean }): Promise<StepProfile> {
  const info = await initBackend();
  const model = opts.model;
  const steps = opts.steps ?? 2;
  const m = createModel(model, { size: opts.size, channels: 3, batchSize: 1, seed: 1, ...(opts.options ?? { ngf: 64, ndf: 64, nLayersD: 3 }) });
  const batch = () => engineTf.tidy(() => ({
    a: engineTf.randomUniform([1, opts.size, opts.size, 3], -1, 1, 'float32', 1) as tf.Tensor4D,
    b: engineTf.randomUniform([1, opts.size, opts.size, 3], -1, 1, 'float32', 2) as tf.Tensor4D,
  }));
  try {
    for (let w = 0; w < (opts.warmup ?? 2); w++) {
      m.setInput(batch());
      m.trainStep();
    }
    const walls: number[] = [];
    const cpus: number[] = [];
    const { times } = withKernelTimes(() => {
      for (let s = 0; s < steps; s++) {
        m.setInput(batch());
        const w0 = performance.now();
        const c0 = cpuNow();
        m.trainStep();
        walls.push(performance.now() - w0);
        cpus.push(cpuNow() - c0);
      }
    }, opts.byShape);
    const kernels = [...times.entries()]
      .map(([kernel, v]) => ({ kernel, ms: v.ms / steps, cpuMs: v.cpuMs / steps, calls: v.calls / steps }))
      .sort((a, b) => b.cpuMs - a.cpuMs);
    return { model, size: opts.size, wallMs: median(walls), cpuMs: median(cpus), kernels, threads: info.threads };
  } finally {
    m.dispose();
  }
}

/** Lines for a log: total, then the top kernels with their share of the kernel time. */
export function formatProfile(p: StepProfile, top = 12): string[] {
  const total = p.kernels.reduce((s, k) => s + k.cpuMs, 0);
  const lines = [`${p.model} ${p.size}px step: wall ${p.wallMs.toFixed(0)} ms, CPU ${p.cpuMs.toFixed(0)} ms, kernels CPU ${total.toFixed(0)} ms (${p.threads} thread${p.threads === 1 ? '' : 's'}; per kernel: CPU ms, wall ms)`];
  for (const k of p.kernels.slice(0, top)) {
    lines.push(`  ${k.kernel.padEnd(26)} ${k.cpuMs.toFixed(1).padStart(8)} ${k.ms.toFixed(1).padStart(8)} ${((100 * k.cpuMs) / total).toFixed(0).padStart(3)}%  ${k.calls} calls`);
  }
  return lines;
}
