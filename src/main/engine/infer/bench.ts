/**
 * Inference speed: per-image generator inference, tfjs (current backend) vs onnxruntime-node,
 * for the pix2pix U-Net (ngf 64, batch norm, dropout) at 64 / 128 / 256 px, against the same
 * generator in PyTorch (eval mode, no grad, 2 threads) when the peer is available and the run is
 * not quick; and latent.render through the contract (in-process engine: validation, cached
 * session, PNG encode) for DCGAN generators at 32 / 64 px. Medians after warm-up; reported,
 * never asserted.
 *
 * `inferBenchSection` fits `atelier bench` sections ({quick, add, log}).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../backend';
import { unetGenerator, dcganGenerator, saveModelToDir } from '../networks';
import { InProcessEngine } from '../client/inprocess';
import { InferenceModel } from './model';
import { evictModels } from './registry';
import { sampleZ } from './latent';
import { peerAvailability, runPeerUnetInference, type PeerInferResult } from '../bench/peer';
import { countTrainable, median, percentile } from '../bench/train';
import type { Figure } from '../bench/figure';

export interface BenchCtx {
  quick: boolean;
  add: (f: Figure) => void;
  log: (s: string) => void;
}

async function time(fn: () => Promise<unknown>, reps: number, warm = 1): Promise<number[]> {
  for (let i = 0; i < warm; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return t;
}

export async function inferBenchSection(ctx: BenchCtx): Promise<void> {
  const info = await initBackend();
  const section = 'inference';
  const sizes = ctx.quick ? [64] : [64, 128, 256];
  // The same U-Net in PyTorch, once for all sizes (the full bench only: quick mode is CI's).
  let peer: PeerInferResult | null = null;
  if (ctx.quick) {
    ctx.log('peer: not measured (quick run)');
  } else {
    const peerInfo = await peerAvailability();
    ctx.log(`peer: ${peerInfo.available ? `PyTorch with ${peerInfo.reason}, 2 threads, model.eval() under inference_mode` : `not measured (${peerInfo.reason})`}`);
    const r = peerInfo.available ? await runPeerUnetInference({ sizes, reps: 10, warmup: 2 }) : null;
    if (r && 'error' in r) ctx.log(r.error);
    if (r && !('error' in r)) {
      peer = r;
      ctx.log(`peer BLAS loaded: ${r.blas.join(', ') || 'unknown'}; torch ${r.torch}, ${r.threads} threads`);
    }
  }
  for (const size of sizes) {
    const g = unetGenerator({ size, inChannels: 3, outChannels: 3, ngf: 64, norm: 'batch', dropout: true, seed: 1 });
    const src = { kind: 'pix2pix' as const, name: `unet${size}`, generator: g, imageSize: size, channels: 3 };
    const x = Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i) * 0.9);
    const onnx = InferenceModel.fromSource(src, 'onnx');
    const tfjs = InferenceModel.fromSource(src, 'tfjs');
    const reps = ctx.quick ? 3 : size >= 256 ? 5 : 10;
    const tOrt = median(await time(() => onnx.translate(x, 1), reps, 2));
    const tTf = median(await time(() => tfjs.translate(x, 1), Math.max(3, Math.ceil(reps / 2)), 1));
    const p = peer?.results.find((r) => r.size === size);
    if (p) {
      const ours = countTrainable(g);
      ctx.log(`params ours G ${ours}; PyTorch G ${p.paramsG}${p.paramsG === ours ? ' (match)' : ' (DIFFER)'}`);
    }
    const peerMs = p ? p.secondsPerImage * 1000 : null;
    const ratio = peerMs ? tOrt / peerMs : null;
    ctx.add({ section, name: `U-Net ngf64 ${size}px onnxruntime`, value: tOrt, unit: 'ms', peer: peerMs, ratio, target: '<= 1x PyTorch', met: ratio == null ? null : ratio <= 1 });
    ctx.add({ section, name: `U-Net ngf64 ${size}px tfjs-${info.backend}`, value: tTf, unit: 'ms', note: `onnxruntime ${(tTf / tOrt).toFixed(1)}x faster` });
    await onnx.dispose();
    await tfjs.dispose();
    g.dispose();
  }

  // latent.render through the contract (in-process engine, cached session).
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-'));
  const engine = new InProcessEngine({ workspaceRoot: root });
  try {
    for (const size of ctx.quick ? [32] : [32, 64]) {
      for (const cond of [false, true]) {
        const id = `dcgan${size}${cond ? 'c' : ''}`;
        const g = dcganGenerator({ size, channels: size === 32 ? 1 : 3, nz: 100, ngf: 64, ndf: 64, numClasses: cond ? 10 : 0, seed: 2 });
        const dir = path.join(root, 'bundles', id);
        await saveModelToDir(g, path.join(dir, 'networks', 'G'));
        const channels = size === 32 ? 1 : 3;
        const meta = {
          format: 'atelier-bundle',
          version: 1,
          id,
          name: id,
          createdAt: new Date().toISOString(),
          model: cond ? 'cgan' : 'gan',
          networks: { G: { path: 'networks/G', role: 'generator', inputs: [], output: { shape: g.outputs[0]!.shape } } },
          config: {},
          preprocessing: { size, channels, inChannels: channels, layout: 'NHWC', dtype: 'float32', valueRange: [-1, 1], direction: null, norm: 'batch', inference: { batchNorm: 'moving-statistics', dropout: 'off', training: false } },
          ...(cond ? { classes: { count: 10 } } : {}),
          latent: { size: 100 },
        };
        fs.writeFileSync(path.join(dir, 'bundle.json'), JSON.stringify(meta));
        g.dispose();
        const exp = await engine.request('export.onnx', { model: id });
        if (!exp.ok) throw new Error(exp.error.message);
        await waitJob(engine, (exp.data as { jobId: string }).jobId);
        const z = Array.from(sampleZ(3, 1, 100));
        let k = 0;
        const render = async () => {
          const req = cond ? { model: id, z: { z }, blend: { a: 1, b: 2, t: (k++ % 10) / 10 } } : { model: id, z: { z }, dims: [{ index: 0, value: (k++ % 10) / 5 }] };
          const r = await engine.request('latent.render', req);
          if (!r.ok) throw new Error(r.error.message);
        };
        const ts = await time(render, ctx.quick ? 20 : 100, 3);
        const p50 = median(ts);
        ctx.add({ section, name: `latent.render DCGAN ${size}px${cond ? ' cgan blend' : ''} p50`, value: p50, unit: 'ms', target: '<= 30 ms', met: p50 <= 30 });
        ctx.add({ section, name: `latent.render DCGAN ${size}px${cond ? ' cgan blend' : ''} p95`, value: percentile(ts, 95), unit: 'ms' });
      }
    }
    // The shipped demo translators (models/), end to end through infer.translate (PNG in and out).
    const shipped = await engine.request('bundle.list', {});
    if (shipped.ok) {
      for (const b of (shipped.data as { id: string; kind: string; location: string; imageSize: number; channels: number }[]).filter((x) => x.location === 'shipped' && (x.kind === 'pix2pix' || x.kind === 'cyclegan'))) {
        const sharp = (await import('sharp')).default;
        const img = new Uint8Array(await sharp(Buffer.alloc(b.imageSize * b.imageSize * 3, 128), { raw: { width: b.imageSize, height: b.imageSize, channels: 3 } }).png().toBuffer());
        const ts = await time(async () => {
          const r = await engine.request('infer.translate', { model: b.id, image: img });
          if (!r.ok) throw new Error(r.error.message);
        }, ctx.quick ? 10 : 50, 3);
        ctx.add({ section, name: `infer.translate ${b.id} (${b.imageSize}px) p50`, value: median(ts), unit: 'ms' });
      }
    }
  } finally {
    await evictModels();
    await engine.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
  ctx.log(`tf tensors after bench: ${tf.memory().numTensors}`);
}

async function waitJob(engine: InProcessEngine, jobId: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const off = engine.onEvent((event, payload) => {
      const p = payload as { jobId?: string; result?: unknown; error?: { message: string } };
      if (p.jobId !== jobId) return;
      if (event === 'job.done') {
        off();
        resolve(p.result);
      } else if (event === 'job.failed') {
        off();
        reject(new Error(p.error?.message ?? 'job failed'));
      }
    });
  });
}
