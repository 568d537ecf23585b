/** The bench's sections, in order. Each adds figures; `quick` keeps CI's run to a minute or two. */
import os from 'node:os';
import type { Figure } from './figure';
import { benchTrainStep, median, percentile } from './train';
import { peerAvailability, runPeerCycleGan, runPeerPix2pix } from './peer';
import { tf, initBackend } from '../backend';
import { createModel } from '../models/registry';

type Ctx = { quick: boolean; profile: boolean; sizes?: number[] | null; add: (f: Figure) => void; log: (s: string) => void };

async function backend(ctx: Ctx) {
  const b = await initBackend();
  const { relaxedSimd, gemmOptions } = await import('../kernels/gemm-simd');
  const fma = b.backend === 'wasm' ? `; products with ${gemmOptions.fma && relaxedSimd() ? 'fused multiply-add (relaxed SIMD)' : 'mul + add (no relaxed SIMD)'}` : '';
  const { wasmThreadsState } = await import('../threads/wasm-threads');
  const { poolRule } = await import('../kernels/gemm-pool');
  const why = b.backend === 'wasm' ? ` [${wasmThreadsState().reason}; ATELIER_WASM_THREADS=n sets it; ${poolRule()}]` : '';
  ctx.log(`backend ${b.backend} (${b.reason}); threads ${b.threads}${why}${fma}; own kernels: ${b.customKernels.join(', ') || 'none'}`);
}

// Two warm-up steps on both sides: the first steps of a process grow the wasm heap (page faults:
// ~3 s of system time over the first 128 px CycleGAN steps) and fill the filter caches, so one
// warm-up left the median ~10-15% above the steady state a long training runs at. Medians of 5
// steps: single steps on this shared 2-core machine move by ~10% either way.
const PEER_WARMUP = 2;

/**
 * A model's training step at the paper's widths (ngf = ndf = 64, batch 1) against the same
 * networks, losses and optimiser in PyTorch, in the same run: parameter counts must match, the
 * ratio is ours / PyTorch, and a missed target says by how much.
 */
async function peerSteps(ctx: Ctx, o: {
  section: string;
  model: 'pix2pix' | 'cyclegan';
  sizes: number[];
  steps: number;
  options: Record<string, unknown>;
  /** Target ratio per size; null: reported only. */
  target: (size: number) => number | null;
}): Promise<{ ourTimes: Map<number, number>; peerAvailable: boolean }> {
  const ourTimes = new Map<number, number>();
  // `--sizes 64,128` keeps only those sizes (a single figure without the long 256 px step)
  if (ctx.sizes?.length) o = { ...o, sizes: o.sizes.filter((s) => ctx.sizes!.includes(s)) };
  if (!o.sizes.length) return { ourTimes, peerAvailable: false };
  const peerInfo = await peerAvailability();
  ctx.log(`${o.model} at paper widths (ngf = ndf = 64, batch 1) vs PyTorch: ${peerInfo.available ? `${peerInfo.reason}, 2 threads` : `peer not measured (${peerInfo.reason})`}`);
  const run = o.model === 'pix2pix' ? runPeerPix2pix : runPeerCycleGan;
  const peer = peerInfo.available ? await run({ sizes: o.sizes, batch: 1, steps: o.steps, warmup: PEER_WARMUP }) : null;
  if (peer && 'error' in peer) ctx.log(peer.error);
  if (peer && !('error' in peer)) ctx.log(`peer BLAS loaded: ${peer.blas.join(', ') || 'unknown'}; torch ${peer.torch}, ${peer.threads} threads`);
  for (const size of o.sizes) {
    const ours = await benchTrainStep({ model: o.model, size, batch: 1, steps: o.steps, warmup: PEER_WARMUP, options: o.options });
    ourTimes.set(size, ours.secondsPerStep);
    const p = peer && !('error' in peer) ? peer.results.find((r) => r.size === size) : undefined;
    // One G and one D (CycleGAN has two of each, built alike).
    const [gName, dName] = o.model === 'pix2pix' ? ['G', 'D'] : ['G_A', 'D_A'];
    const g = ours.params[gName]!;
    const d = ours.params[dName]!;
    const match = p ? p.paramsG === g && p.paramsD === d : null;
    if (p) ctx.log(`${o.model} ${size}px params ours G ${g} D ${d}; PyTorch G ${p.paramsG} D ${p.paramsD}${match ? ' (match)' : ' (DIFFER: the ratio compares different networks)'}`);
    const ratio = p && match ? ours.secondsPerStep / p.secondsPerStep : null;
    const t = o.target(size);
    const met = ratio == null || t == null ? null : ratio <= t;
    const missed = met === false ? `; target missed by x${(ratio! / t!).toFixed(2)} (needs ${(100 * (1 - t! / ratio!)).toFixed(0)}% less time)` : '';
    ctx.add({
      section: o.section,
      name: `${o.model} step ${size}px b1 (paper widths)`,
      value: ours.secondsPerStep,
      unit: 's',
      peer: p?.secondsPerStep ?? null,
      ratio,
      target: t == null ? 'reported' : `<= ${t}x PyTorch`,
      met,
      note: `G ${(g / 1e6).toFixed(2)}M, D ${(d / 1e6).toFixed(2)}M params${p ? (match ? ', equal to PyTorch' : ', NOT equal to PyTorch') : ''}${missed}; load average ${os.loadavg()[0]!.toFixed(1)}`,
    });
  }
  const { describePool } = await import('../kernels/gemm-pool');
  ctx.log(`${describePool()}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (ctx.profile) {
    // Per-kernel wall time of the step (top-level kernel calls) and the process CPU time.
    const { profileTrainStep, formatProfile } = await import('../kernels/profile');
    for (const size of o.sizes) {
      const prof = await profileTrainStep({ model: o.model, size, steps: 2, options: o.options });
      for (const line of formatProfile(prof)) ctx.log(line);
      ctx.add({ section: o.section, name: `${o.model} step ${size}px b1 CPU time (profiled)`, value: prof.cpuMs / 1000, unit: 's', note: `wall ${(prof.wallMs / 1000).toFixed(2)} s, ${prof.threads} thread(s)` });
    }
  }
  return { ourTimes, peerAvailable: peerInfo.available };
}

/** pix2pix step (U-Net ngf 64 + 70x70 PatchGAN, batch 1) against the same networks in PyTorch. */
async function pix2pix(ctx: Ctx) {
  await backend(ctx);
  // Issue #17: <= 1.3x at 256 px; 64 and 128 px were already below 1x: none may regress past it.
  await peerSteps(ctx, { section: 'pix2pix', model: 'pix2pix', sizes: ctx.quick ? [32] : [64, 128, 256], steps: ctx.quick ? 2 : 5, options: { ngf: 64, ndf: 64, nLayersD: 3 }, target: () => 1.3 });
}

/**
 * CycleGAN step at the paper's widths (ResNet generators ngf 64, 6 blocks up to 128 px and 9 at
 * 256, PatchGAN ndf 64, instance norm, LSGAN, identity 0.5) against PyTorch. Also run by
 * `models`; on its own with `--only cyclegan`.
 */
async function cyclegan(ctx: Ctx) {
  await backend(ctx);
  // Issue #17: <= 1.5x at 64 and 128 px, reported at 256 px.
  const steps = ctx.quick ? 2 : 5;
  const { ourTimes: ours, peerAvailable } = await peerSteps(ctx, { section: 'cyclegan', model: 'cyclegan', sizes: ctx.quick ? [32] : [64, 128, 256], steps, options: { ngf: 64, ndf: 64, nLayersD: 3 }, target: (s) => (s <= 128 ? 1.5 : null) });
  // Our step runs a generator's independent applications (and a discriminator's real and fake
  // halves) as one batch up to 128 x 128 pixels (models/cyclegan.ts); the target is against the
  // reference step, which does not. PyTorch restructured the same way, reported beside it, says
  // how much of the ratio is that restructuring rather than the kernels.
  const sizes = [...ours.keys()].filter((s) => s <= 128);
  if (!sizes.length || !peerAvailable) return;
  const peer = await runPeerCycleGan({ sizes, batch: 1, steps, warmup: PEER_WARMUP, batched: true });
  if ('error' in peer) return ctx.log(peer.error);
  for (const r of peer.results) {
    const mine = ours.get(r.size)!;
    ctx.add({
      section: 'cyclegan',
      name: `cyclegan step ${r.size}px b1 (paper widths) vs PyTorch batched like ours`,
      value: mine,
      unit: 's',
      peer: r.secondsPerStep,
      ratio: mine / r.secondsPerStep,
      target: 'reported',
      met: null,
      note: `PyTorch with G_A(A, B), G_B(B, A) and each D's real and fake halves as one batch (same computation per sample); our step as in the row above; load average ${os.loadavg()[0]!.toFixed(1)}`,
    });
  }
}

/**
 * Other models' steps at small sizes, batch 1 and 8, at the widths the app picks for them
 * (scaled down for small images: not comparable with a paper-width peer; CycleGAN and pix2pix
 * at paper widths have their own sections).
 */
async function models(ctx: Ctx) {
  await initBackend();
  const plan: [string, number, number, Record<string, unknown>][] = ctx.quick
    ? [['cyclegan', 32, 1, {}], ['cgan', 32, 8, {}], ['autoencoder', 32, 8, {}]]
    : [
        ['cyclegan', 32, 1, {}], ['cyclegan', 64, 1, {}],
        ['cgan', 32, 1, {}], ['cgan', 32, 8, {}], ['cgan', 64, 8, {}], ['cgan', 128, 1, {}],
        ['pix2pix', 32, 8, {}], ['pix2pix', 64, 8, {}],
        ['autoencoder', 32, 8, {}],
      ];
  for (const [model, size, batch, options] of plan) {
    const f = await benchTrainStep({ model, size, batch, steps: ctx.quick ? 2 : 3, warmup: 1, options });
    ctx.add({ section: 'models', name: `${model} step ${size}px b${batch} (scaled widths)`, value: f.secondsPerStep, unit: 's', note: `params ${Object.entries(f.params).map(([k, v]) => `${k} ${(v / 1e6).toFixed(2)}M`).join(', ')}` });
  }
}

/** Tensor count and RSS over many steps of a small model: both must stay flat. */
async function memory(ctx: Ctx) {
  await initBackend();
  const steps = ctx.quick ? 60 : 500;
  const model = createModel('pix2pix', { size: 32, channels: 3, batchSize: 1, seed: 3, ngf: 8, ndf: 8 });
  const a = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const b = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
  let t10 = 0;
  let rss10 = 0;
  let peak = 0;
  for (let s = 0; s < steps; s++) {
    model.setInput({ a: a.clone(), b: b.clone() });
    model.trainStep();
    if (s === 9) {
      t10 = tf.memory().numTensors;
      rss10 = process.memoryUsage().rss;
    }
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const drift = tf.memory().numTensors - t10;
  const rssGrowth = (process.memoryUsage().rss - rss10) / 2 ** 20;
  ctx.add({ section: 'memory', name: `tensor count drift over ${steps - 10} steps`, value: drift, unit: '', target: '0', met: drift === 0 });
  ctx.add({ section: 'memory', name: `RSS growth after warm-up (${steps - 10} steps)`, value: rssGrowth, unit: ' MiB', target: '< 64 MiB', met: rssGrowth < 64 });
  ctx.add({ section: 'memory', name: 'peak RSS', value: peak / 2 ** 20, unit: ' MiB' });
  model.dispose();
  tf.dispose([a, b]);
}

/** Our wasm kernels against the stock ones (or cpu where wasm has none), and the fused Adam. */
async function kernels(ctx: Ctx) {
  const { benchKernels, benchAdam } = await import('../kernels/bench');
  const rows = await benchKernels({ sizes: ctx.quick ? [32] : [64, 128, 256], reps: ctx.quick ? 1 : 3, generatorUpTo: ctx.quick ? 32 : 128, log: () => {} });
  for (const r of rows) {
    ctx.add({ section: 'kernels', name: `${r.kernel} ${r.shape}`, value: r.oursMs, unit: ' ms', note: r.stockMs == null ? 'no stock kernel' : `stock ${r.stockMs.toFixed(1)} ms (x${(r.stockMs / r.oursMs).toFixed(2)} faster)${r.maxDiff == null ? '' : `, max diff ${r.maxDiff.toExponential(1)}`}` });
  }
  const adam = await benchAdam({ size: ctx.quick ? 32 : 64, reps: ctx.quick ? 2 : 5, log: () => {} });
  ctx.add({ section: 'kernels', name: `Adam update ${adam.shape}`, value: adam.oursMs, unit: ' ms', note: adam.stockMs == null ? '' : `tf.train.adam ${adam.stockMs.toFixed(1)} ms (x${(adam.stockMs / adam.oursMs).toFixed(2)} faster)` });
}

/** Generator inference tfjs vs onnxruntime, latent.render through the contract. */
async function inference(ctx: Ctx) {
  const { inferBenchSection } = await import('../infer/bench');
  await inferBenchSection(ctx);
}

/** k-means 60k x 784 and hierarchical 5k x 784 per linkage (quick: 10k and 1k). */
async function analysis(ctx: Ctx) {
  const { benchAnalysis } = await import('../analysis/bench');
  for (const f of await benchAnalysis({ quick: ctx.quick })) ctx.add(f);
}

/**
 * While a training job runs in the engine host: the event-loop lag of this (main/serve-like)
 * process, which relays every event, and how long a small request waits for the busy engine.
 */
async function eventloop(ctx: Ctx) {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const { EngineClient, childProcessSpawner } = await import('../client/client');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-'));
  const client = new EngineClient(childProcessSpawner({ ...process.env, ATELIER_WORKSPACE: ws }));
  const events: { event: string; payload: Record<string, unknown> }[] = [];
  client.onEvent((event, payload) => events.push({ event, payload: payload as Record<string, unknown> }));
  const ok = async <T>(p: Promise<{ ok: boolean; data?: unknown; error?: { message: string } }>) => {
    const e = await p;
    if (!e.ok) throw new Error(e.error!.message);
    return e.data as T;
  };
  const until = async (pred: () => boolean) => {
    while (!pred()) await new Promise((r) => setTimeout(r, 20));
  };
  try {
    const demo = await ok<{ jobId: string }>(client.request('dataset.demo', {}));
    await until(() => events.some((e) => e.event === 'job.done' && e.payload.jobId === demo.jobId));
    const ds = (await ok<{ id: string; kind: string }[]>(client.request('dataset.list', {}))).find((d) => d.kind === 'paired')!;
    // A generator for latent.render (the shipped class-conditional DCGAN, or any gan/cgan bundle).
    const bundles = await ok<{ id: string; kind: string; location: string }[]>(client.request('bundle.list', {}));
    const gen = bundles.find((b) => b.id === 'fashion-cgan') ?? bundles.find((b) => b.kind === 'cgan' || b.kind === 'gan');
    let k = 0;
    const render = gen ? () => client.request('latent.render', { model: gen.id, z: { seed: 3 }, dims: [{ index: 0, value: (k++ % 10) / 5 }], ...(gen.kind === 'cgan' ? { label: 1 } : {}) }) : null;
    // Warm the render path (session load) before training, so the figures are the steady state.
    if (render) await ok(render());
    const { jobId } = await ok<{ jobId: string }>(client.request('train.start', { model: 'pix2pix', datasetId: ds.id, steps: 100_000, sampleEvery: 5, checkpointEvery: 50, options: {} }));
    await until(() => events.some((e) => e.event === 'job.progress' && e.payload.jobId === jobId && (e.payload.step as number) > 1));
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const waits: number[] = [];
    const renders: number[] = [];
    const t0 = Date.now();
    const stepAt = (e: { payload: Record<string, unknown> }) => e.payload.step as number;
    const progress = () => events.filter((e) => e.event === 'job.progress' && e.payload.jobId === jobId && typeof e.payload.step === 'number');
    const firstStep = stepAt(progress().at(-1)!);
    while (Date.now() - t0 < (ctx.quick ? 4000 : 20000)) {
      let q = performance.now();
      await client.request('app.stats', {});
      waits.push(performance.now() - q);
      if (render) {
        q = performance.now();
        await ok(render());
        renders.push(performance.now() - q);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    h.disable();
    const secs = (Date.now() - t0) / 1000;
    const steps = progress().length;
    const stepTime = secs / Math.max(1, stepAt(progress().at(-1)!) - firstStep);
    const pids = `engine pid ${client.pid}, training host pid ${client.trainerPid ?? 'none'}`;
    ctx.add({ section: 'eventloop', name: 'serve process event-loop lag p99 (training)', value: h.percentile(99) / 1e6, unit: ' ms', target: '< 50 ms', met: h.percentile(99) / 1e6 < 50, note: `max ${(h.max / 1e6).toFixed(1)} ms, ${steps} progress events relayed` });
    ctx.add({ section: 'eventloop', name: 'engine request wait p50 (training)', value: median(waits), unit: ' ms', note: `training step ~${(stepTime * 1000).toFixed(0)} ms` });
    ctx.add({ section: 'eventloop', name: 'engine request wait p95 (training)', value: percentile(waits, 95), unit: ' ms', note: `app.stats; training runs in its own engine host (${pids}), so requests do not wait for its steps` });
    if (render) {
      ctx.add({ section: 'eventloop', name: `latent.render ${gen!.id} p50 (training)`, value: median(renders), unit: ' ms' });
      ctx.add({ section: 'eventloop', name: `latent.render ${gen!.id} p95 (training)`, value: percentile(renders, 95), unit: ' ms', note: 'slider render on the primary host while pix2pix trains' });
    } else {
      ctx.log('latent.render not measured: no gan/cgan bundle in bundle.list');
    }
    await client.request('job.cancel', { jobId });
  } finally {
    await client.close();
    fs.rmSync(ws, { recursive: true, force: true });
  }
}

/** Translating at the image's own size: time per megapixel vs PyTorch, peak RSS of a 4096^2 tiled run. */
async function resolution(ctx: Ctx) {
  const { resolutionBenchSection } = await import('../infer/bench-resolution');
  await resolutionBenchSection(ctx);
}

/**
 * The GPU path next to the CPU path in one run: a pix2pix training step (256 px; 64 px with
 * --quick) and U-Net inference, on WebGPU (Dawn) and on the backend this process chose, with
 * the adapter named. A software adapter (SwiftShader, WARP) is measured only when asked
 * (ATELIER_BENCH_SOFTWARE_GPU=1: minutes) and its figures are reported, not judged.
 */
async function gpu(ctx: Ctx) {
  const b = await initBackend();
  const { probeAdapter, registerWebGpuBackend, releaseGpu } = await import('../gpu/webgpu');
  const p = await probeAdapter();
  if (!p.ok) {
    ctx.log(`gpu: no WebGPU adapter (${p.error}); section skipped`);
    return;
  }
  const a = p.report;
  const name = `${a.vendor} ${a.architecture}${a.description ? ` (${a.description})` : ''}${a.isFallbackAdapter ? ', software adapter' : ''}`;
  if (a.isFallbackAdapter && process.env.ATELIER_BENCH_SOFTWARE_GPU !== '1') {
    ctx.log(`gpu: ${name}: a software adapter, slower than the CPU path; skipped (ATELIER_BENCH_SOFTWARE_GPU=1 measures it)`);
    return;
  }
  const size = ctx.quick ? 64 : 256;
  const steps = ctx.quick ? 1 : 3;
  const cpuPath = b.backend;
  if (cpuPath !== 'webgpu') await registerWebGpuBackend(tf, p.adapter);
  const unet = async (backend: string) => {
    await tf.setBackend(backend);
    const m = createModel('pix2pix', { size, channels: 3, seed: 1 });
    try {
      const x = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 1);
      const times: number[] = [];
      for (let i = 0; i < 1 + steps; i++) {
        const t0 = performance.now();
        const y = m.networks.G!.apply(x, { training: false }) as tf.Tensor;
        await y.data();
        y.dispose();
        if (i > 0) times.push((performance.now() - t0) / 1000);
      }
      x.dispose();
      return median(times);
    } finally {
      m.dispose();
    }
  };
  const figures: { path: string; step: number; infer: number }[] = [];
  try {
    for (const backend of ['webgpu', cpuPath === 'webgpu' ? 'wasm' : cpuPath]) {
      await tf.setBackend(backend);
      const step = await benchTrainStep({ model: 'pix2pix', size, batch: 1, steps, warmup: 1 });
      figures.push({ path: backend, step: step.secondsPerStep, infer: await unet(backend) });
    }
  } finally {
    await tf.setBackend(cpuPath);
    if (cpuPath !== 'webgpu') {
      tf.removeBackend('webgpu');
      releaseGpu();
    }
  }
  const [g, c] = figures as [(typeof figures)[0], (typeof figures)[0]];
  const judged = !a.isFallbackAdapter;
  for (const [what, key] of [[`pix2pix step ${size}px b1`, 'step'], [`U-Net inference ${size}px b1`, 'infer']] as const) {
    ctx.add({
      section: 'gpu',
      name: `${what} on WebGPU`,
      value: g[key],
      unit: 's',
      peer: c[key],
      ratio: g[key] / c[key],
      target: judged ? '< 1x the CPU path' : 'reported (software adapter)',
      met: judged ? g[key] < c[key] : null,
      note: `${name}; peer = the CPU path (${c.path}) in this run; load average ${os.loadavg()[0]!.toFixed(1)}`,
    });
  }
}

export const SECTIONS: Record<string, (ctx: Ctx) => Promise<void>> = {
  pix2pix,
  cyclegan,
  models,
  memory,
  kernels,
  inference,
  resolution,
  analysis,
  eventloop,
  gpu,
};
