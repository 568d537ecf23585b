/**
 * Measure what the wasm thread pool buys, in THIS process (the backend and its thread count are
 * per process: scripts/bench-threads.ts runs this in children with ATELIER_WASM_THREADS=1 / 2).
 *
 * Wall time alone is meaningless on a shared, loaded machine, so each figure also carries
 *  - process CPU time (process.cpuUsage: all threads) and its ratio to wall time,
 *  - the main thread's and the other threads' CPU time, and the time the main thread spent
 *    runnable but waiting for a CPU (Linux /proc/self/task/<tid>/schedstat; null elsewhere).
 * The main thread runs every op and takes part in every pooled one, so its CPU time per op is
 * the critical path: roughly the wall time the op would take on an otherwise idle machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import { tf, initBackend } from '../backend';
import { median } from '../bench/train';
import { createModel } from '../models/registry';
import { wasmThreadsState } from './wasm-threads';

export interface CpuFigure {
  name: string;
  /** Median over reps, per call, milliseconds. */
  wallMs: number;
  cpuMs: number;
  /** cpuMs / wallMs of the whole measured run (all reps). */
  cpuPerWall: number;
  mainCpuMs: number | null;
  otherCpuMs: number | null;
  /** Main thread runnable but not running (CPU taken by other processes), per call. */
  mainRunqWaitMs: number | null;
  reps: number;
}

export interface ThreadsHereResult {
  threads: number;
  threaded: boolean;
  reason: string;
  loadavg: number[];
  figures: CpuFigure[];
  tensorDrift: number;
}

interface TaskStat {
  cpuNs: number;
  waitNs: number;
}

function taskStats(): Map<string, TaskStat> | null {
  try {
    const m = new Map<string, TaskStat>();
    for (const tid of fs.readdirSync('/proc/self/task')) {
      const [cpu, wait] = fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      m.set(tid, { cpuNs: cpu ?? 0, waitNs: wait ?? 0 });
    }
    return m;
  } catch {
    return null;
  }
}


/** Run `fn` `reps` times (after `warmup`), with CPU accounting. */
export function measure(name: string, fn: () => void, reps: number, warmup = 1): CpuFigure {
  for (let i = 0; i < warmup; i++) fn();
  const walls: number[] = [];
  const a = taskStats();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    walls.push(performance.now() - t);
  }
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const b = taskStats();
  const cpuMs = (c.user + c.system) / 1000;
  let mainCpuMs: number | null = null;
  let otherCpuMs: number | null = null;
  let waitMs: number | null = null;
  if (a && b) {
    const main = String(process.pid);
    otherCpuMs = 0;
    for (const [tid, s] of b) {
      const d = (s.cpuNs - (a.get(tid)?.cpuNs ?? 0)) / 1e6;
      if (tid === main) {
        mainCpuMs = d;
        waitMs = (s.waitNs - (a.get(tid)?.waitNs ?? 0)) / 1e6;
      } else otherCpuMs += d;
    }
  }
  const per = (v: number | null) => (v == null ? null : v / reps);
  return {
    name,
    wallMs: median(walls),
    cpuMs: cpuMs / reps,
    cpuPerWall: cpuMs / wall,
    mainCpuMs: per(mainCpuMs),
    otherCpuMs: per(otherCpuMs),
    mainRunqWaitMs: per(waitMs),
    reps,
  };
}

/** Convolutions at the pix2pix U-Net's shapes (ngf 64) for an s x s image, batch 1. */
type Shape4 = [number, number, number, number];

export function pix2pixConvShapes(s: number): { name: string; op: 'conv' | 'convT'; x: Shape4; w: Shape4; out?: Shape4 }[] {
  return [
    { name: `conv ${s}px 3->64 (enc1)`, op: 'conv', x: [1, s, s, 3], w: [4, 4, 3, 64] },
    { name: `conv ${s / 2}px 64->128 (enc2)`, op: 'conv', x: [1, s / 2, s / 2, 64], w: [4, 4, 64, 128] },
    { name: `conv ${s / 4}px 128->256 (enc3)`, op: 'conv', x: [1, s / 4, s / 4, 128], w: [4, 4, 128, 256] },
    { name: `convT ${s / 4}px 512->128 (dec)`, op: 'convT', x: [1, s / 4, s / 4, 512], w: [4, 4, 128, 512], out: [1, s / 2, s / 2, 128] },
    { name: `convT ${s / 2}px 128->3 (out)`, op: 'convT', x: [1, s / 2, s / 2, 128], w: [4, 4, 3, 128], out: [1, s, s, 3] },
  ];
}

export async function measureThreadsHere(opts: { sizes: number[]; convReps: number; steps: number; warmup: number; convs?: boolean; train?: boolean }): Promise<ThreadsHereResult> {
  const info = await initBackend();
  const before = tf.memory().numTensors;
  const figures: CpuFigure[] = [];
  if (opts.convs !== false) {
    for (const s of opts.sizes) {
      for (const c of pix2pixConvShapes(s)) {
        const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomNormal(c.w, 0, 1, 'float32', 2) as tf.Tensor4D;
        figures.push(
          measure(
            c.name,
            () => {
              const y = c.op === 'conv' ? tf.conv2d(x, w, 2, 'same') : tf.conv2dTranspose(x, w, c.out!, 2, 'same');
              y.dataSync();
              y.dispose();
            },
            opts.convReps,
          ),
        );
        tf.dispose([x, w]);
      }
    }
  }
  if (opts.train !== false) {
    for (const s of opts.sizes) {
      const model = createModel('pix2pix', { size: s, channels: 3, batchSize: 1, seed: 1, ngf: 64, ndf: 64, nLayersD: 3 });
      try {
        const a = tf.randomUniform([1, s, s, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
        const b = tf.randomUniform([1, s, s, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
        model.setInput({ a, b });
        figures.push(measure(`pix2pix train step ${s}px`, () => void model.trainStep(), opts.steps, opts.warmup));
      } finally {
        model.dispose();
      }
    }
  }
  const st = wasmThreadsState();
  return { threads: info.threads, threaded: st.threaded, reason: st.reason, loadavg: os.loadavg(), figures, tensorDrift: tf.memory().numTensors - before };
}
