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
import type { DatasetManifest } from '../../../shared/channels/dataset';
import { idxImage, readIdx, type IdxArray } from '../data/idx';
import { rawInput, type RawImage } from '../data/normalize';
import { datasetDir, readManifest } from '../data/store';
import type { ModelKind } from '../models/base';
import { referenceOf, type ReferenceCounterpart } from '../models/registry';
import { loadModelFromDir } from '../networks/io';
import { disposeBundle, loadBundle, type LoadedBundle } from '../train/bundle';
import { modelFromCheckpoint } from '../train/run-promote';
import { writePth } from './pth';
import { REFERENCE_VARIANT, initReferenceWeights, referenceDiscriminator } from './reference-networks';
import { detectReference, referenceStateDict, type DetectedGenerator } from './weights';

export interface PytorchExportOptions {
  /** Bundle folder (generators, and the discriminators an import kept), or: */
  bundleDir?: string;
  /** a run folder of the reference variant: its newest checkpoint (or `step`), every network trained. */
  runDir?: string;
  step?: number;
  out: string;
  /** Experiment name (the reference's --name); default the bundle id. */
  name?: string;
  /** Dataset to lay out for the reference (default: the one the bundle or run was trained on, when it still exists). */
  dataset?: string;
  seed?: number;
}

export interface PytorchExportResult {
  dir: string;
  name: string;
  /** The model kind of the bundle or run. */
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

/** An image as a PNG at `file` (grey stays one channel: the reference reads both with convert('RGB')). */
async function writeRaw(img: RawImage, file: string): Promise<void> {
  const p = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), rawInput(img));
  // sharp writes raw 1-channel input as RGB unless told otherwise.
  await (img.channels === 1 ? p.toColourspace('b-w') : p).png().toFile(file);
}

/** A|B side by side, A on the left (the reference's AlignedDataset cuts at half the width). */
function sideBySide(a: RawImage, b: RawImage): RawImage {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) throw new StudioError('BAD_INPUT', 'A paired item whose A and B images differ in size or channels.');
  const row = a.width * a.channels;
  const out = new Uint8Array(2 * row * a.height);
  for (let y = 0; y < a.height; y++) {
    out.set(a.data.subarray(y * row, (y + 1) * row), 2 * y * row);
    out.set(b.data.subarray(y * row, (y + 1) * row), 2 * y * row + row);
  }
  return { data: out, width: 2 * a.width, height: a.height, channels: a.channels };
}

/** A packed (idx) dataset in the reference's layout: images numbered per split. */
async function exportPacked(dir: string, m: DatasetManifest, layout: ReferenceCounterpart['dataset'], root: string): Promise<number> {
  let n = 0;
  for (const split of ['train', 'test'] as const) {
    const s = m.packed?.[split];
    if (!s) continue;
    const read = async (role: 'a' | 'b') => (s.images[role] ? readIdx(path.join(dir, s.images[role]!)) : null);
    const [a, b] = [await read('a'), await read('b')];
    const count = (arr: IdxArray | null) => arr?.dims[0] ?? 0;
    const name = (i: number) => `${String(i).padStart(5, '0')}.png`;
    if (layout === 'aligned') {
      if (!a || !b) continue;
      const d = path.join(root, split);
      await fsp.mkdir(d, { recursive: true });
      for (let i = 0; i < Math.min(count(a), count(b)); i++, n++) await writeRaw(sideBySide(idxImage(a, i), idxImage(b, i)), path.join(d, name(i)));
    } else {
      for (const [role, arr] of [['A', a], ['B', b]] as const) {
        if (!arr) continue;
        const d = path.join(root, `${split}${role}`);
        await fsp.mkdir(d, { recursive: true });
        for (let i = 0; i < count(arr); i++, n++) await writeRaw(idxImage(arr, i), path.join(d, name(i)));
      }
    }
  }
  return n;
}

/** The dataset in the reference's layout, from stored files or packed idx arrays. */
async function exportDataset(ws: Workspace, id: string, layout: ReferenceCounterpart['dataset'], root: string): Promise<{ images: number; note?: string }> {
  const dir = datasetDir(ws, id);
  const m = await readManifest(dir);
  if (m.storage === 'packed') return { images: await exportPacked(dir, m, layout, root) };
  if (!m.items) return { images: 0, note: `dataset ${id} lists no items` };
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

/** What an export needs, from a bundle or from a run's checkpoint. */
interface ExportSet {
  id: string;
  kind: ModelKind;
  ref: ReferenceCounterpart;
  /** Every network the reference loads; a missing discriminator is written fresh. */
  networks: Record<string, tf.LayersModel>;
  inChannels: number;
  outChannels: number;
  size: number;
  direction: string;
  dropout?: boolean;
  datasetId: string;
  dispose: () => void;
}

async function fromBundle(dir: string): Promise<ExportSet> {
  const b = await loadBundle(dir);
  const m = b.meta;
  const nets: Record<string, tf.LayersModel> = { ...b.networks };
  const own: tf.LayersModel[] = [];
  const dispose = () => {
    own.forEach((n) => n.dispose());
    disposeBundle(b);
  };
  let ref: ReferenceCounterpart;
  try {
    ref = referenceOf(m.model);
    if (!isReference(b)) {
      throw new StudioError('BAD_INPUT', `Bundle ${m.id} uses Atelier's own networks, which do not map weight for weight onto the reference's.`, {
        hint: 'Import reference checkpoints, or train with the reference variant (--option variant=reference), to export to PyTorch.',
      });
    }
    if (m.source?.mode === 'train' || m.preprocessing.inference.batchNorm === 'per-image-statistics') {
      throw new StudioError('BAD_INPUT', `Bundle ${m.id} was imported in train mode, which drops the batch-norm running statistics a checkpoint needs.`, { hint: 'Import the checkpoints again in eval mode (the default) to export them.' });
    }
    // Discriminators an import kept beside the bundle (reference/<D>).
    for (const { name: d } of ref.discriminators) {
      const saved = path.join(b.dir, 'reference', d);
      if (await exists(path.join(saved, 'model.json'))) {
        nets[d] = await loadModelFromDir(saved);
        own.push(nets[d]);
      }
    }
  } catch (e) {
    dispose();
    throw e;
  }
  return {
    id: m.id,
    kind: m.model,
    ref,
    networks: nets,
    inChannels: m.preprocessing.inChannels,
    outChannels: m.preprocessing.channels,
    size: m.preprocessing.size,
    direction: m.preprocessing.direction ?? 'AtoB',
    ...(typeof (m.config as { dropout?: unknown }).dropout === 'boolean' ? { dropout: (m.config as { dropout: boolean }).dropout } : {}),
    datasetId: m.training.datasetId || '',
    dispose,
  };
}

/** A run's checkpoint (newest, or `step`): every network it trains, the discriminators included. */
async function fromRun(runDir: string, step?: number): Promise<ExportSet> {
  const { model, run } = await modelFromCheckpoint(runDir, step);
  const o = run.options;
  let ref: ReferenceCounterpart;
  try {
    ref = referenceOf(run.model);
    if (o.variant !== 'reference') {
      throw new StudioError('BAD_INPUT', `Run ${run.runId} trains Atelier's own networks, which do not map weight for weight onto the reference's.`, {
        hint: 'Train with --option variant=reference, or continue imported checkpoints (atelier train --from-pytorch), to export to PyTorch.',
      });
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return {
    id: run.name,
    kind: run.model,
    ref,
    networks: { ...model.networks },
    inChannels: (o.inChannels as number | null) ?? (o.channels as number),
    outChannels: o.channels as number,
    size: o.size as number,
    direction: run.direction,
    ...(typeof o.dropout === 'boolean' ? { dropout: o.dropout } : {}),
    datasetId: run.datasetId,
    dispose: () => model.dispose(),
  };
}

export async function exportPytorch(ws: Workspace, o: PytorchExportOptions): Promise<PytorchExportResult> {
  if (!o.bundleDir === !o.runDir) throw new StudioError('BAD_INPUT', 'Export either a bundle or a run.');
  const set = o.runDir ? await fromRun(o.runDir, o.step) : await fromBundle(o.bundleDir!);
  try {
    const ref = set.ref;
    // The architecture as the reference names it, read back from the generator's own state dict.
    const firstG = set.networks[ref.generators[0]!]!;
    const det = detectReference({ format: 'zip', tensors: new Map(referenceStateDict(firstG).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: Float32Array.from(t.data) }])) }) as DetectedGenerator;
    const { netG, norm } = det;
    const ngf = det.ngf;
    const inc = set.inChannels;
    const outc = set.outChannels;
    const size = set.size;
    const name = safeId(o.name ?? set.id);
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
    for (const g of gens) await write(g, set.networks[g]!, false);
    // Discriminators by what each judges: A images (input channels), B images, or cat(A, B).
    const ds: [string, number][] = ref.discriminators.map((d) => [d.name, d.judges === 'A' ? inc : d.judges === 'B' ? outc : inc + outc]);
    let ndf = ngf;
    for (const [d, ch] of ds) {
      let net = set.networks[d];
      const fresh = !net;
      if (!net) {
        net = referenceDiscriminator({ norm, ndf, inChannels: ch, size: Math.max(size, 64), name: d });
        initReferenceWeights(net, o.seed ?? 0);
      }
      const first = net.layers.find((l) => l.name === 'model.0');
      if (first) ndf = (first.getConfig() as { filters: number }).filters;
      try {
        await write(d, net, fresh);
      } finally {
        if (fresh) net.dispose();
      }
    }
    // The dataset, when we know which one.
    const datasetId = o.dataset ?? set.datasetId;
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
      ...(ref.dataset === 'aligned' ? ['--direction', set.direction] : []),
      ...((det.dropout ?? set.dropout) === false ? ['--no_dropout'] : []),
      '--continue_train', '--epoch', 'latest',
    ].map((a) => (a.startsWith('"') ? a : shellQuote(a)));
    const oneGpu = `python train.py ${args.join(' ')}`;
    const multiGpu = `torchrun --nproc_per_node "$NGPUS" train.py ${args.join(' ')}`;
    const script = [
      '#!/usr/bin/env bash',
      `# Continue Atelier ${o.runDir ? 'run' : 'bundle'} "${set.id}" on the reference trainer (junyanz/pytorch-CycleGAN-and-pix2pix).`,
      '# Run it from a clone of that repository:   bash path/to/train.sh [NGPUS]',
      '#   NGPUS 1 (default): one GPU.  NGPUS > 1: torchrun DDP, one process per GPU.',
      `# Then bring the result back:  atelier import pytorch "$HERE/checkpoints/${name}/latest_net_${gens[0]}.pth"${gens.length > 1 ? ` "$HERE/checkpoints/${name}/latest_net_G_B.pth"` : ''}`,
      `#   or continue it in the studio:  atelier train --from-pytorch "$HERE/checkpoints/${name}" --data <dataset> --steps N`,
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
    return { dir: out, name, model: set.kind, checkpoints, dataset, ...(datasetNote ? { datasetNote } : {}), trainScript, commands: { oneGpu, multiGpu } };
  } finally {
    set.dispose();
  }
}
