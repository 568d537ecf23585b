/**
 * Bench section `resolution`: translating at the image's own size.
 *   - time per megapixel of a colouriser network at paper width (pix2pix U-Net, ngf 64, 1 -> 3
 *     channels, built for 256 px: depth 8, stride 256, seeded weights) run by onnxruntime
 *     (2 threads) at a non-square size, against the same network in PyTorch at the same size
 *     (ratio). The peer builds this network only, so the ratio is always taken on it;
 *   - time per megapixel of the shipped `nature-colorize-pix2pix` (its own, narrower chroma
 *     design), by onnxruntime alone: what a user's translate costs, with no peer;
 *   - peak RSS of a 4096 x 4096 photo translated with the default memory budget (tiles), in a
 *     fresh process (scripts/bench-tiled-rss.ts) that loads the paper-width ONNX file as the CLI
 *     would: the figure the README's bound (1.5 GiB) is about, on the largest colouriser.
 * Reported, never asserted.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { initBackend } from '../backend';
import { appRoot } from '../core/workspace';
import { buildOnnx } from '../export/onnx-export';
import { unetGenerator } from '../networks';
import { peerAvailability, runPeerUnetInference } from '../bench/peer';
import { median } from '../bench/train';
import type { BenchCtx } from './bench';
import { InferenceModel } from './model';

const run = promisify(execFile);

const SHIPPED = () => path.join(appRoot(), 'models', 'nature-colorize-pix2pix', 'nature-colorize-pix2pix.onnx');

/** The paper-width colouriser the PyTorch peer also builds, with seeded weights, as ONNX. */
async function paperWidthOnnx(dir: string, quick: boolean): Promise<{ file: string; note: string }> {
  await initBackend();
  // Quick runs (CI) prove the path with a narrow network; the figures come from full runs.
  const ngf = quick ? 16 : 64;
  const g = unetGenerator({ size: 256, inChannels: 1, outChannels: 3, ngf, norm: 'batch', dropout: true, seed: 1 });
  try {
    const [b] = buildOnnx({ kind: 'pix2pix', name: 'colouriser-shape', generator: g, imageSize: 256, channels: 3, inChannels: 1 });
    const file = path.join(dir, 'colouriser.onnx');
    fs.writeFileSync(file, b!.bytes);
    return { file, note: `U-Net ngf ${ngf}, 1->3, built for 256 px, seeded weights` };
  } finally {
    g.dispose();
  }
}

/** Median seconds per megapixel of `file` run by onnxruntime on an h x w input (after a warm run). */
async function ortSecondsPerMp(file: string, h: number, w: number, reps: number): Promise<number> {
  const m = await InferenceModel.fromOnnxFile(file);
  try {
    const x = Float32Array.from({ length: m.info.inChannels * h * w }, (_, i) => Math.sin(i * 0.37) * 0.9);
    await m.translate(x, 1, h, w); // warm: the session plans memory for this size
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await m.translate(x, 1, h, w);
      times.push(performance.now() - t0);
    }
    return median(times) / 1000 / ((h * w) / 1e6);
  } finally {
    await m.dispose();
  }
}

/** A 4096 x 4096 photo-like PNG made by code (smooth fields and edges), written once. */
async function bigPhoto(file: string, side: number): Promise<void> {
  const px = Buffer.alloc(side * side);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) px[y * side + x] = Math.round(128 + 90 * Math.sin(x / 97) * Math.cos(y / 61) + ((x ^ y) & 32 ? 20 : -20));
  await sharp(px, { raw: { width: side, height: side, channels: 1 } }).png({ compressionLevel: 1 }).toFile(file);
}

export async function resolutionBenchSection(ctx: BenchCtx): Promise<void> {
  const section = 'resolution';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-res-'));
  try {
    const { file, note } = await paperWidthOnnx(dir, ctx.quick);
    ctx.log(`colouriser at paper width: ${note}`);
    // Multiples of the stride (256: the U-Net goes down to 1x1 at its training size), non-square.
    const [h, w] = ctx.quick ? [256, 512] : [512, 768];
    const mp = (h * w) / 1e6;
    const reps = ctx.quick ? 1 : 3;
    const secPerMp = await ortSecondsPerMp(file, h, w, reps);
    let peerSecPerMp: number | null = null;
    if (!ctx.quick) {
      const info = await peerAvailability();
      const r = info.available ? await runPeerUnetInference({ sizes: [256], reps, warmup: 1, inChannels: 1, outChannels: 3, hw: [h, w] }) : null;
      if (r && 'error' in r) ctx.log(r.error);
      else if (r) peerSecPerMp = r.results[0]!.secondsPerImage / mp;
      else ctx.log(`peer: not measured (${info.reason})`);
    } else ctx.log('peer: not measured (quick run)');
    const ratio = peerSecPerMp ? secPerMp / peerSecPerMp : null;
    ctx.add({ section, name: `colouriser ${note.split(',')[0]!} (256 px) translate ${w}x${h} onnxruntime 2 threads, per megapixel`, value: secPerMp, unit: 's/MP', peer: peerSecPerMp, ratio, target: '<= 1x PyTorch', met: ratio == null ? null : ratio <= 1 });
    // The shipped colouriser is a different, narrower network (chroma head, resize convolutions)
    // that the peer does not build: its own cost, without a ratio.
    if (fs.existsSync(SHIPPED())) {
      const shipped = await ortSecondsPerMp(SHIPPED(), h, w, reps);
      ctx.add({ section, name: `shipped nature-colorize-pix2pix translate ${w}x${h} onnxruntime 2 threads, per megapixel`, value: shipped, unit: 's/MP', note: 'no PyTorch peer: the peer builds the paper-width U-Net above, not this chroma design' });
    }

    // Peak RSS of the 4096^2 tiled run, in a fresh process (RSS is per process and never shrinks).
    const side = ctx.quick ? 1024 : 4096;
    const img = path.join(dir, `photo-${side}.png`);
    await bigPhoto(img, side);
    const script = path.join(appRoot(), 'scripts', 'bench-tiled-rss.ts');
    // Default tiling (memory budget from free memory), as `atelier translate` runs it.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, '--onnx', file, '--image', img, '--out', path.join(dir, 'out.png')], {
      cwd: appRoot(),
      timeout: 60 * 60_000,
      maxBuffer: 1 << 20,
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { maxRssMiB: number; baselineRssMiB: number; ms: number; tiles: number; tileSize?: number; width: number; height: number };
    ctx.add({
      section,
      name: `${side}x${side} tiled translate peak RSS (default budget)`,
      value: r.maxRssMiB,
      unit: 'MiB',
      target: side === 4096 ? '<= 1536 MiB (README)' : undefined,
      met: side === 4096 ? r.maxRssMiB <= 1536 : null,
      note: `${r.tiles} tiles of ${r.tileSize ?? side}px, ${(r.ms / 1000).toFixed(1)} s, RSS after loading the model ${r.baselineRssMiB} MiB`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
