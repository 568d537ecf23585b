/**
 * The way out to the reference implementation's trainer (and its multi-GPU DDP runs):
 *   DIR/checkpoints/<name>/latest_net_G.pth            pix2pix: G and D
 *   DIR/checkpoints/<name>/latest_net_{G_A,G_B,D_A,D_B}.pth   cyclegan
 *   DIR/datasets/<name>/{train,test}/<item>.png         pix2pix: aligned A|B side by side
 *   DIR/datasets/<name>/{trainA,trainB,testA,testB}/    cyclegan: unaligned
 *   DIR/train.sh                                        --continue_train on one GPU, torchrun on N
 * The .pth files load with torch.load(f, weights_only=True) and a strict load_state_dict into the
 * reference's networks. Only bundles built on the reference-compatible variant export (imports,
 * and runs trained with it); a discriminator the bundle lacks is written freshly initialised as
 * the reference's init_weights does (N(0, 0.02), batch-norm scale N(1, 0.02), zero biases) so that
 * --continue_train finds every file it loads.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { StudioError } from '../../../shared/errors';
import { tf } from '../backend';
import { exists } from '../core/fsutil';
import { safeId, type Workspace } from '../core/workspace';
import { datasetDir, readManifest } from '../data/store';
import type { ModelKind } from '../models/base';
import { referenceOf, type ReferenceCounterpart } from '../models/registry';
import { loadModelFromDir } from '../networks/io';
import { disposeBundle, loadBundle, type LoadedBundle } from '../train/bundle';
import { writePth } from './pth';
import { REFERENCE_VARIANT, initReferenceWeights, referenceDiscriminator } from './reference-networks';
import { detectReference, referenceStateDict, type DetectedGenerator } from './weights';

export interface PytorchExportOptions {
  /** Bundle folder. */
  bundleDir: string;
  out: string;
  /** Experiment name (the reference's --name); default the bundle id. */
  name?: string;
  /** Dataset to lay out for the reference (default: the one the bundle was trained on, when it still exists). */
  dataset?: string;
  seed?: number;
}

export interface PytorchExportResult {
  dir: string;
  name: string;
  /** The bundle's model kind. */
  model: ModelKind;
  checkpoints: { network: string; file: string; fresh: boolean }[];
  dataset: { id: string; dir: string; images: number } | null;
  datasetNote?: string;
  trainScript: string;
  commands: { oneGpu: string; multiGpu: string };
}

function isReference(b: LoadedBundle): boolean {
  // Imported bundles say so in their source; runs trained with --option variant=reference in their config.
  return b.meta.source?.variant === REFERENCE_VARIANT || b.meta.config.variant === 'reference' || b.meta.config.variant === REFERENCE_VARIANT;
}

async function writeAligned(a: string, b: string, out: string): Promise<void> {
  const ma = await sharp(a).metadata();
  const h = ma.height ?? 0;
  const w = ma.width ?? 0;
  const bImg = await sharp(b).removeAlpha().toColourspace('srgb').resize(w, h, { fit: 'fill' }).png().toBuffer();
  const aImg = await sharp(a).removeAlpha().toColourspace('srgb').png().toBuffer();
  await sharp({ create: { width: w * 2, height: h, channels: 3, background: '#000' } })
    .composite([
      { input: aImg, left: 0, top: 0 },
      { input: bImg, left: w, top: 0 },
    ])
    .png()
    .toFile(out);
}

/** The dataset in the reference's layout; packed (idx) datasets are not laid out. */
async function exportDataset(ws: Workspace, id: string, layout: ReferenceCounterpart['dataset'], root: string): Promise<{ images: number; note?: string }> {
  const dir = datasetDir(ws, id);
  const m = await readManifest(dir);
  if (m.storage !== 'files' || !m.items) return { images: 0, note: `dataset ${id} is stored packed (idx); lay it out for the reference by hand` };
  let n = 0;
  for (const it of m.items) {
    const stem = safeId(it.name);
    if (layout === 'aligned') {
      if (!it.files.a || !it.files.b) continue;
      const d = path.join(root, it.split);
      await fsp.mkdir(d, { recursive: true });
      await writeAligned(path.join(dir, it.files.a), path.join(dir, it.files.b), path.join(d, `${stem}.png`));
      n++;
    } else {
      for (const side of ['a', 'b'] as const) {
        const f = it.files[side];
        if (!f) continue;
        const d = path.join(root, `${it.split}${side.toUpperCase()}`);
        await fsp.mkdir(d, { recursive: true });
        await fsp.copyFile(path.join(dir, f), path.join(d, `${stem}${path.extname(f)}`));
        n++;
      }
    }
  }
  return { images: n };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function exportPytorch(ws: Workspace, o: PytorchExportOptions): Promise<PytorchExportResult> {
  const b = await loadBundle(o.bundleDir);
  try {
    const m = b.meta;
    const ref = referenceOf(m.model);
    if (!isReference(b)) {
      throw new StudioError('BAD_INPUT', `Bundle ${m.id} uses Atelier's own networks, which do not map weight for weight onto the reference's.`, {
        hint: 'Import reference checkpoints, or train with the reference variant (--option variant=reference), to export to PyTorch.',
      });
    }
    if (m.source?.mode === 'train' || m.preprocessing.inference.batchNorm === 'per-image-statistics') {
      throw new StudioError('BAD_INPUT', `Bundle ${m.id} was imported in train mode, which drops the batch-norm running statistics a checkpoint needs.`, { hint: 'Import the checkpoints again in eval mode (the default) to export them.' });
    }
    const kind = m.model;
    const cfg = m.config as { dropout?: boolean };
    // The architecture as the reference names it, read back from the generator's own state dict.
    const firstG = b.networks[ref.generators[0]!]!;
    const det = detectReference({ format: 'zip', tensors: new Map(referenceStateDict(firstG).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: Float32Array.from(t.data) }])) }) as DetectedGenerator;
    const { netG, norm } = det;
    const ngf = det.ngf;
    const inc = m.preprocessing.inChannels;
    const outc = m.preprocessing.channels;
    const size = m.preprocessing.size;
    const name = safeId(o.name ?? m.id);
    const out = path.resolve(o.out);
    const ckDir = path.join(out, 'checkpoints', name);
    await fsp.mkdir(ckDir, { recursive: true });
    const checkpoints: PytorchExportResult['checkpoints'] = [];
    const write = async (network: string, model: tf.LayersModel, fresh: boolean) => {
      const stem = `latest_net_${network}`;
      const file = path.join(ckDir, `${stem}.pth`);
      await fsp.writeFile(file, writePth(referenceStateDict(model), stem));
      checkpoints.push({ network, file, fresh });
    };
    const gens = ref.generators;
    for (const g of gens) await write(g, b.networks[g]!, false);
    // Discriminators by what each judges: A images (input channels), B images, or cat(A, B).
    const ds: [string, number][] = ref.discriminators.map((d) => [d.name, d.judges === 'A' ? inc : d.judges === 'B' ? outc : inc + outc]);
    let ndf = ngf;
    for (const [d, ch] of ds) {
      const saved = path.join(b.dir, 'reference', d);
      let net: tf.LayersModel;
      let fresh = false;
      if (await exists(path.join(saved, 'model.json'))) net = await loadModelFromDir(saved);
      else {
        net = referenceDiscriminator({ norm, ndf, inChannels: ch, size: Math.max(size, 64), name: d });
        initReferenceWeights(net, o.seed ?? 0);
        fresh = true;
      }
      const first = net.layers.find((l) => l.name === 'model.0');
      if (first) ndf = (first.getConfig() as { filters: number }).filters;
      try {
        await write(d, net, fresh);
      } finally {
        net.dispose();
      }
    }
    // The dataset, when we know which one.
    const datasetId = o.dataset ?? (m.training.datasetId || '');
    let dataset: PytorchExportResult['dataset'] = null;
    let datasetNote: string | undefined;
    const dataroot = path.join(out, 'datasets', name);
    if (datasetId && (await exists(path.join(ws.datasets, datasetId)))) {
      const r = await exportDataset(ws, datasetId, ref.dataset, dataroot);
      dataset = { id: datasetId, dir: dataroot, images: r.images };
      datasetNote = r.note;
    } else datasetNote = datasetId ? `dataset ${datasetId} is no longer in the workspace` : 'no dataset given (--data D); put yours under datasets/' + name;
    if (!dataset || !dataset.images) await fsp.mkdir(dataroot, { recursive: true });
    // train.sh: the reference's own flags for exactly these networks.
    const load = Math.round((size * 286) / 256 / 2) * 2;
    const args = [
      '--dataroot', `"$HERE/datasets/${name}"`, '--name', name, '--checkpoints_dir', '"$HERE/checkpoints"',
      '--model', ref.model, '--netG', netG, '--netD', 'basic', '--norm', norm, '--ngf', String(ngf), '--ndf', String(ndf),
      '--input_nc', String(inc), '--output_nc', String(outc), '--load_size', String(load), '--crop_size', String(size),
      ...(ref.dataset === 'aligned' ? ['--direction', m.preprocessing.direction ?? 'AtoB'] : []),
      ...((det.dropout ?? cfg.dropout) === false ? ['--no_dropout'] : []),
      '--continue_train', '--epoch', 'latest',
    ].map((a) => (a.startsWith('"') ? a : shellQuote(a)));
    const oneGpu = `python train.py ${args.join(' ')}`;
    const multiGpu = `torchrun --nproc_per_node "$NGPUS" train.py ${args.join(' ')}`;
    const script = [
      '#!/usr/bin/env bash',
      `# Continue Atelier bundle "${m.id}" on the reference trainer (junyanz/pytorch-CycleGAN-and-pix2pix).`,
      '# Run it from a clone of that repository:   bash path/to/train.sh [NGPUS]',
      '#   NGPUS 1 (default): one GPU.  NGPUS > 1: torchrun DDP, one process per GPU.',
      `# Then bring the result back:  atelier import pytorch "$HERE/checkpoints/${name}/latest_net_${gens[0]}.pth"${gens.length > 1 ? ` "$HERE/checkpoints/${name}/latest_net_G_B.pth"` : ''}`,
      ...(ref.forcesNoDropout && det.dropout
        ? [`# Note: these ResNet generators use dropout; the reference forces --no_dropout for ${ref.model}, so enable it in its ${ref.model}_model.py.`]
        : []),
      'set -euo pipefail',
      'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
      'NGPUS="${1:-1}"',
      'if [ "$NGPUS" -gt 1 ]; then',
      `  ${multiGpu}`,
      'else',
      `  ${oneGpu}`,
      'fi',
      '',
    ].join('\n');
    const trainScript = path.join(out, 'train.sh');
    await fsp.writeFile(trainScript, script, { mode: 0o755 });
    return { dir: out, name, model: kind, checkpoints, dataset, ...(datasetNote ? { datasetNote } : {}), trainScript, commands: { oneGpu, multiGpu } };
  } finally {
    disposeBundle(b);
  }
}
