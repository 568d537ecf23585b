/**
 * Timings of our wasm kernels at pix2pix-like shapes (U-Net, ngf 64, batch 1): stock vs ours.
 * `npm run bench` (or `npx tsx scripts/bench-kernels.ts`) calls benchKernels().
 *
 * - Conv2DBackpropInput: the stock wasm kernel vs the phase decomposition (ours).
 * - Conv2DBackpropFilter: wasm has no stock kernel; "stock" is the cpu backend (what training
 *   would fall back to), measured only up to `cpuUpTo` px (default 0: it takes ~30 s at 64 px).
 * - Timings are medians of `reps` runs after a warm-up, in CPU time of this process (see cpuMs)
 *   and in wall time. CPU time counts every thread: with the threaded build it shows work, not
 *   the pool's wall-clock gain (compare kernels with ATELIER_WASM_THREADS=1).
 * - generator step: forward + backward of a pix2pix U-Net generator with the stock vs our
 *   Conv2DBackpropInput (every transposed conv and every conv input gradient uses it).
 * - benchAdam: one optimizer step over the U-Net generator's weights, tf.train.adam vs
 *   FusedAdamOptimizer.
 */
import { tf, initBackend } from '../backend';
import { createAdamSimd } from './adam-simd';
import { fusedAdam } from './fused-adam';
import { useWasmKernel } from './index';
import { type BackendWasm, heapMemory } from './wasm-util';

export interface BenchRow {
  kernel: string;
  shape: string;
  size: number;
  /** CPU ms of this process (all threads): the work done, robust to other load. */
  stockMs: number | null;
  oursMs: number;
  /** Wall ms (what a user waits; noisy on a shared machine, shows thread-pool gains). */
  stockWallMs?: number | null;
  oursWallMs?: number;
  maxDiff: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * CPU time of this process in ms. The wasm backend runs on one thread, so this is the work
 * done, and unlike wall time it does not count the time other processes on a shared machine
 * hold the cores (under load, wall times here varied 5x between runs; CPU times ~10%).
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function timeIt(fn: () => Float32Array, reps: number): { ms: number; wallMs: number; out: Float32Array } {
  let out = fn(); // warm up (heap growth)
  const ts: number[] = [];
  const ws: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = cpuMs();
    const w0 = performance.now();
    out = fn();
    ws.push(performance.now() - w0);
    ts.push(cpuMs() - t0);
  }
  return { ms: median(ts), wallMs: median(ws), out };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Read data outside tf.tidy: tidy walks a returned typed array element by element. */
function run(name: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>): Float32Array {
  const out = tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
  const d = out.dataSync() as Float32Array;
  out.dispose();
  return d;
}

/** U-Net layers (4x4, stride 2, same): [input channels, output channels, input size divisor]. */
function unetConvs(ngf: number): [number, number, number][] {
  return [
    [3, ngf, 1],
    [ngf, ngf * 2, 2],
    [ngf * 2, ngf * 4, 4],
    [ngf * 4, ngf * 8, 8],
  ];
}

async function onBackend<T>(name: string, fn: () => T): Promise<T> {
  const before = tf.getBackend();
  await tf.setBackend(name);
  try {
    return fn();
  } finally {
    await tf.setBackend(before);
  }
}

export async function benchKernels(opts: { sizes?: number[]; reps?: number; ngf?: number; cpuUpTo?: number; generatorUpTo?: number; log?: (s: string) => void } = {}): Promise<BenchRow[]> {
  const { sizes = [64, 128, 256], reps = 3, ngf = 64, cpuUpTo = 0, generatorUpTo = 128, log = console.log } = opts;
  const info = await initBackend();
  if (info.backend !== 'wasm') throw new Error(`kernel bench needs the wasm backend (have ${info.backend})`);
  const rows: BenchRow[] = [];
  const emit = (r: BenchRow) => {
    rows.push(r);
    const f = (x: number | null) => (x == null ? '      -' : x.toFixed(1).padStart(7));
    const speed = r.stockMs != null ? `${(r.stockMs / r.oursMs).toFixed(2)}x` : '';
    const wall = r.oursWallMs != null ? `  wall ${f(r.stockWallMs ?? null)} /${f(r.oursWallMs)}` : '';
    log(`${r.kernel.padEnd(22)} ${r.shape.padEnd(36)} cpu stock ${f(r.stockMs)} ms  ours ${f(r.oursMs)} ms  ${speed.padStart(7)}${wall}  ${r.maxDiff == null ? '' : `maxdiff ${r.maxDiff.toExponential(1)}`}`);
  };

  for (const S of sizes) {
    for (const [ci, co, div] of unetConvs(ngf)) {
      const H = S / div;
      const xShape = [1, H, H, ci];
      const dyShape = [1, H / 2, H / 2, co];
      const x = tf.randomNormal(xShape, 0, 1, 'float32', 1);
      const dy = tf.randomNormal(dyShape, 0, 1, 'float32', 2);
      const w = tf.randomNormal([4, 4, ci, co], 0, 0.05, 'float32', 3);
      const fAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, ci, co] };
      const ours = timeIt(() => run('Conv2DBackpropFilter', { x, dy }, fAttrs), reps);
      let stockMs: number | null = null;
      let stockWallMs: number | null = null;
      let maxDiff: number | null = null;
      if (S <= cpuUpTo) {
        const cpu = await onBackend('cpu', () => timeIt(() => run('Conv2DBackpropFilter', { x, dy }, fAttrs), 1));
        stockMs = cpu.ms;
        stockWallMs = cpu.wallMs;
        maxDiff = maxAbsDiff(ours.out, cpu.out);
      }
      emit({ kernel: 'Conv2DBackpropFilter', shape: `x ${xShape} dy ${dyShape}${stockMs != null ? ' (stock=cpu)' : ''}`, size: S, stockMs, oursMs: ours.ms, stockWallMs, oursWallMs: ours.wallMs, maxDiff });

      // The transposed conv that mirrors this layer in the decoder: [1,H/2,H/2,co] -> [1,H,H,ci].
      const bAttrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: xShape };
      useWasmKernel('Conv2DBackpropInput', 'stock');
      const stock = timeIt(() => run('Conv2DBackpropInput', { dy, filter: w }, bAttrs), reps);
      useWasmKernel('Conv2DBackpropInput', 'ours');
      const mine = timeIt(() => run('Conv2DBackpropInput', { dy, filter: w }, bAttrs), reps);
      emit({ kernel: 'Conv2DBackpropInput', shape: `dy ${dyShape} -> ${xShape}`, size: S, stockMs: stock.ms, oursMs: mine.ms, stockWallMs: stock.wallMs, oursWallMs: mine.wallMs, maxDiff: maxAbsDiff(mine.out, stock.out) });
      tf.dispose([x, dy, w]);
    }
    if (S <= generatorUpTo) {
      const gen = benchGenerator(S, ngf, Math.max(1, reps - 1));
      emit({ kernel: 'U-Net G fwd+bwd', shape: `[1,${S},${S},3] ngf ${ngf}`, size: S, stockMs: gen.stockMs, oursMs: gen.oursMs, stockWallMs: gen.stockWallMs, oursWallMs: gen.oursWallMs, maxDiff: gen.maxDiff });
    }
  }
  useWasmKernel('Conv2DBackpropInput', 'ours');
  return rows;
}

/** pix2pix U-Net generator (depth from size, down to 1x1), forward + backward of an L1 loss. */
function benchGenerator(S: number, ngf: number, reps: number): { stockMs: number; oursMs: number; stockWallMs: number; oursWallMs: number; maxDiff: number } {
  const depth = Math.log2(S);
  const chans = (i: number) => ngf * Math.min(8, 2 ** i); // encoder level i output channels
  const ws: tf.Tensor[] = [];
  const down: [number, number][] = [];
  for (let i = 0; i < depth; i++) down.push([i === 0 ? 3 : chans(i - 1), chans(i)]);
  for (const [ci, co] of down) ws.push(tf.randomNormal([4, 4, ci, co], 0, 0.02, 'float32', ws.length + 10));
  const up: [number, number][] = []; // convT [out, in]
  for (let i = depth - 1; i >= 0; i--) {
    const inC = i === depth - 1 ? chans(i) : chans(i) * 2;
    const outC = i === 0 ? 3 : chans(i - 1);
    up.push([outC, inC]);
  }
  for (const [co, ci] of up) ws.push(tf.randomNormal([4, 4, co, ci], 0, 0.02, 'float32', ws.length + 10));
  const x = tf.randomNormal([1, S, S, 3], 0, 1, 'float32', 5);
  const target = tf.randomNormal([1, S, S, 3], 0, 1, 'float32', 6);
  const g = (...w: tf.Tensor[]) => {
    const skips: tf.Tensor4D[] = [];
    let h = x as tf.Tensor4D;
    for (let i = 0; i < depth; i++) {
      h = tf.conv2d(i === 0 ? h : tf.leakyRelu(h, 0.2), w[i] as tf.Tensor4D, 2, 'same');
      skips.push(h);
    }
    for (let j = 0; j < depth; j++) {
      const i = depth - 1 - j;
      const inp = j === 0 ? h : (tf.concat([h, skips[i]!], 3) as tf.Tensor4D);
      const outC = up[j]![0];
      h = tf.conv2dTranspose(tf.relu(inp), w[depth + j] as tf.Tensor4D, [1, S >> i, S >> i, outC], 2, 'same');
    }
    return tf.mean(tf.abs(tf.tanh(h).sub(target))) as tf.Scalar;
  };
  const step = () => {
    const g0 = tf.tidy(() => tf.valueAndGrads(g)(ws).grads[0]!);
    const d = g0.dataSync() as Float32Array;
    g0.dispose();
    return d;
  };
  useWasmKernel('Conv2DBackpropInput', 'stock');
  const stock = timeIt(step, reps);
  useWasmKernel('Conv2DBackpropInput', 'ours');
  const ours = timeIt(step, reps);
  tf.dispose([...ws, x, target]);
  return { stockMs: stock.ms, oursMs: ours.ms, stockWallMs: stock.wallMs, oursWallMs: ours.wallMs, maxDiff: maxAbsDiff(stock.out, ours.out) };
}

/** One Adam step over a pix2pix U-Net generator's weights (size S, ngf): stock vs fused. */
export async function benchAdam(opts: { size?: number; ngf?: number; reps?: number; log?: (s: string) => void } = {}): Promise<BenchRow> {
  const { size: S = 64, ngf = 64, reps = 3, log = console.log } = opts;
  await initBackend();
  const depth = Math.log2(S);
  const chans = (i: number) => ngf * Math.min(8, 2 ** i);
  const shapes: number[][] = [];
  for (let i = 0; i < depth; i++) shapes.push([4, 4, i === 0 ? 3 : chans(i - 1), chans(i)], [chans(i)]);
  for (let i = depth - 1; i >= 0; i--) shapes.push([4, 4, i === 0 ? 3 : chans(i - 1), i === depth - 1 ? chans(i) : chans(i) * 2], [i === 0 ? 3 : chans(i - 1)]);
  const vars = shapes.map((s, i) => tf.variable(tf.randomNormal(s, 0, 0.02, 'float32', i), true, `benchAdam_${S}_${i}`));
  const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 1e-3, 'float32', 100 + i)]));
  const params = vars.reduce((a, v) => a + v.size, 0);
  const time = (opt: tf.Optimizer) => {
    opt.applyGradients(grads); // creates the moments
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = cpuMs();
      opt.applyGradients(grads);
      vars[0]!.dataSync(); // wait for the last write
      ts.push(cpuMs() - t0);
    }
    opt.dispose();
    return median(ts);
  };
  const stockMs = time(tf.train.adam(2e-4, 0.5, 0.999));
  const oursMs = time(fusedAdam(2e-4, 0.5, 0.999));
  tf.dispose([...vars, ...Object.values(grads)]);
  const how = createAdamSimd(heapMemory(tf.engine().backend as unknown as BackendWasm)) ? 'simd' : 'JS loop';
  const row: BenchRow = { kernel: 'Adam step (U-Net G)', shape: `${S} px, ${(params / 1e6).toFixed(1)}M params, ${how}`, size: S, stockMs, oursMs, maxDiff: null };
  log(`${row.kernel.padEnd(22)} ${row.shape.padEnd(36)} cpu stock ${stockMs.toFixed(1).padStart(7)} ms  ours ${oursMs.toFixed(1).padStart(7)} ms  ${(stockMs / oursMs).toFixed(2).padStart(6)}x`);
  return row;
}
