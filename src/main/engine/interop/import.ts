/**
 * Import the reference implementation's checkpoints as an Atelier bundle:
 *   latest_net_G.pth                      -> a pix2pix bundle (G)
 *   latest_net_G_A.pth + latest_net_G_B.pth -> one two-direction cyclegan bundle (G_A: A->B, G_B: B->A)
 *   *_net_D*.pth (optional)               -> kept beside, as reference/<D|D_A|D_B>, for the way back
 * Every file is read by the safe reader and loaded strictly BEFORE anything is written, so a
 * refused file leaves no trace. The bundle is then exported to ONNX with its parity figure (tfjs
 * vs onnxruntime), and its card names each source file's SHA-256.
 * Mode 'eval' (default): batch norm with the running statistics, no dropout (the reference's
 * test.py --eval). Mode 'train': what test.py does without --eval at its batch size 1, batch
 * norm with each image's own statistics and dropout active.
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { PytorchImportResult } from '../../../shared/channels/interop';
import { StudioError } from '../../../shared/errors';
import type { tf } from '../backend';
import { exists } from '../core/fsutil';
import { safeId, type Workspace } from '../core/workspace';
import { disposeSource, exportOnnx, type ExportResult, type ExportSource } from '../export/onnx-export';
import { modelForReference } from '../models/registry';
import { saveModelToDir } from '../networks/io';
import { writeBundle, type BundleSource } from '../train/bundle';
import { readPthFile, type StateDict } from './pth';
import { REFERENCE_VARIANT, referenceDiscriminator, referenceGenerator, type RefGenerator, type RefNorm } from './reference-networks';
import { describeDetected, detectReference, loadReferenceWeights, type Detected, type DetectedGenerator } from './weights';

export interface PytorchImportOptions {
  files: string[];
  netG?: 'auto' | RefGenerator;
  norm?: 'auto' | RefNorm;
  ngf?: number;
  name?: string;
  /** Size the bundle is built at; default 256 (the reference's crop), 128 for unet_128. */
  size?: number;
  mode?: 'eval' | 'train';
  /** U-Net dropout (not visible in a state dict); default on, as the reference's pix2pix. Only matters in train mode. */
  dropout?: boolean;
  onStep?: (step: number, total: number, message: string) => void;
}

export type { PytorchImportResult };

/** The reference's file names: <epoch>_net_<G|G_A|G_B|D|D_A|D_B>.pth. */
export function networkNameOf(file: string): string | null {
  const m = /(?:^|_)net_(G_A|G_B|D_A|D_B|G|D)\.(?:pth|pt)$/i.exec(path.basename(file));
  return m ? m[1]!.toUpperCase() : null;
}

export interface Loaded {
  name: string;
  file: string;
  sha256: string;
  bytes: number;
  sd: StateDict;
  detected: Detected;
}

/**
 * Read a set of reference checkpoints with the safe reader, detect each network and name it
 * (G / D, or G_A / G_B / D_A / D_B); throws on anything that is not a coherent set.
 */
export async function readCheckpointSet(files: string[]): Promise<Loaded[]> {
  if (!files.length) throw new StudioError('BAD_INPUT', 'No .pth file given.');
  const raw: Omit<Loaded, 'name'>[] = [];
  for (const file of files) {
    const bytes = await fsp.readFile(file).catch(() => {
      throw new StudioError('NOT_FOUND', `No file at ${file}.`);
    });
    let sd: StateDict;
    try {
      sd = await readPthFile(file);
    } catch (e) {
      // Several files may come at once: say which one was refused (the refusal's kind stays).
      if (e instanceof Error) e.message = `${path.basename(file)}: ${e.message}`;
      throw e;
    }
    raw.push({ file, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, sd, detected: detectReference(sd) });
  }
  return assignNames(raw);
}

async function uniqueBundleId(ws: Workspace, base: string): Promise<string> {
  const id = safeId(base);
  if (!(await exists(path.join(ws.bundles, id)))) return id;
  for (let i = 2; ; i++) if (!(await exists(path.join(ws.bundles, `${id}-${i}`)))) return `${id}-${i}`;
}

/** Name the files: by the reference's names, else by what each holds (one generator -> G). */
function assignNames(loaded: Omit<Loaded, 'name'>[]): Loaded[] {
  const out = loaded.map((l) => ({ ...l, name: networkNameOf(l.file) ?? '' }));
  const gens = out.filter((l) => !l.name && l.detected.role === 'generator');
  const ds = out.filter((l) => !l.name && l.detected.role === 'discriminator');
  if (gens.length === 1 && !out.some((l) => l.name.startsWith('G'))) gens[0]!.name = 'G';
  if (ds.length === 1 && !out.some((l) => l.name.startsWith('D'))) ds[0]!.name = 'D';
  const unnamed = out.filter((l) => !l.name);
  if (unnamed.length) {
    throw new StudioError('BAD_INPUT', `Cannot tell which network ${unnamed.map((l) => path.basename(l.file)).join(', ')} ${unnamed.length > 1 ? 'are' : 'is'}.`, {
      hint: 'Name the files as the reference does: latest_net_G.pth (pix2pix) or latest_net_G_A.pth + latest_net_G_B.pth (CycleGAN), with *_net_D*.pth beside.',
    });
  }
  const names = out.map((l) => l.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new StudioError('BAD_INPUT', `Two files hold ${dup}.`);
  for (const l of out) {
    if (l.name.startsWith('G') && l.detected.role !== 'generator') throw new StudioError('BAD_INPUT', `${path.basename(l.file)} is named a generator but holds ${describeDetected(l.detected)}.`);
    if (l.name.startsWith('D') && l.detected.role !== 'discriminator') throw new StudioError('BAD_INPUT', `${path.basename(l.file)} is named a discriminator but holds ${describeDetected(l.detected)}.`);
  }
  const has = (n: string) => names.includes(n);
  if (has('G') && (has('G_A') || has('G_B'))) throw new StudioError('BAD_INPUT', 'Give either a pix2pix generator (net_G) or a CycleGAN pair (net_G_A + net_G_B), not both.');
  if (has('G_A') !== has('G_B')) throw new StudioError('BAD_INPUT', `A CycleGAN import needs both generators; ${has('G_A') ? 'net_G_B' : 'net_G_A'} is missing.`);
  if (!has('G') && !has('G_A')) throw new StudioError('BAD_INPUT', 'No generator among the files (a bundle needs net_G, or net_G_A + net_G_B).');
  return out;
}

function cardText(r: { id: string; kind: string; mode: string; size: number }, loaded: Loaded[], gen: DetectedGenerator, onnx: PytorchImportResult['onnx']): string {
  const lines = [
    `# ${r.id}`,
    '',
    `Imported from PyTorch checkpoints of the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix) as a ${r.kind} bundle, network variant \`${REFERENCE_VARIANT}\`.`,
    '',
    '| network | file | SHA-256 | format | architecture |',
    '|---|---|---|---|---|',
    ...loaded.map((l) => `| ${l.name} | ${path.basename(l.file)} | \`${l.sha256}\` | ${l.sd.format} | ${describeDetected(l.detected)} |`),
    '',
    `- Generator: ${describeDetected(gen)}; built at ${r.size}x${r.size} (the ONNX export takes any size the network's strides allow).`,
    r.mode === 'eval'
      ? '- Inference: eval mode (batch norm with its running statistics, dropout off), as the reference\'s `test.py --eval`.'
      : "- Inference: the reference's train-mode test behaviour (`test.py` without `--eval`, batch size 1): batch norm with each image's own statistics, dropout active.",
    '- Input and output: RGB in [-1, 1].',
    ...onnx.map((o) => `- ONNX ${o.direction}: \`${path.basename(o.file)}\`, parity with tfjs max |diff| ${o.maxAbsDiff.toExponential(2)} (${o.pass ? 'pass' : 'FAIL'}, limit 1e-4).`),
    '',
    'Back to PyTorch: `atelier export --model ' + r.id + ' --pytorch DIR` writes the reference\'s file names, the dataset layout and a train.sh for one or several GPUs.',
    '',
  ];
  return lines.join('\n');
}

export async function importPytorch(ws: Workspace, o: PytorchImportOptions): Promise<PytorchImportResult> {
  if (!o.files.length) throw new StudioError('BAD_INPUT', 'No .pth file given.');
  const mode = o.mode ?? 'eval';
  const step = o.onStep ?? (() => {});
  const total = 4;
  step(0, total, 'reading checkpoints');
  // 1. Read and check everything; nothing is written before all files pass.
  const loaded = await readCheckpointSet(o.files);
  // The registry entry whose reference counterpart has these generators (G; or G_A + G_B).
  const entry = modelForReference(loaded.filter((l) => l.detected.role === 'generator').map((l) => l.name));
  if (!entry) throw new StudioError('BAD_INPUT', `No model kind matches the generators ${loaded.filter((l) => l.detected.role === 'generator').map((l) => l.name).join(' + ')}.`);
  const kind = entry.kind;
  const gNames = [...entry.reference!.generators];
  const built: Record<string, tf.LayersModel> = {};
  const disposeAll = () => Object.values(built).forEach((m) => m.dispose());
  let gen: DetectedGenerator | null = null;
  let size = 0;
  try {
    for (const l of loaded) {
      const d = l.detected;
      if (d.role === 'generator') {
        const netG = o.netG && o.netG !== 'auto' ? o.netG : d.netG;
        const norm = o.norm && o.norm !== 'auto' ? o.norm : d.norm;
        const ngf = o.ngf ?? d.ngf;
        size = o.size ?? (netG === 'unet_128' ? 128 : 256);
        const dropout = d.dropout ?? o.dropout ?? true;
        gen = { ...d, netG, norm, ngf, dropout };
        built[l.name] = referenceGenerator({ netG, norm, ngf, inChannels: d.inChannels, outChannels: d.outChannels, size, dropout, perImageBatchNorm: mode === 'train' && norm === 'batch', name: l.name });
      } else {
        built[l.name] = referenceDiscriminator({ norm: d.norm, ndf: d.ndf, inChannels: d.inChannels, nLayers: d.nLayers, size: o.size ?? 256, name: l.name });
      }
      try {
        loadReferenceWeights(built[l.name]!, l.sd);
      } catch (e) {
        if (e instanceof StudioError) throw new StudioError(e.code, `${path.basename(l.file)}: ${e.message}`, { hint: e.hint });
        throw e;
      }
    }
  } catch (e) {
    disposeAll();
    throw e;
  }
  const g = gen!;
  const ga = loaded.find((l) => l.name === gNames[0])!.detected as DetectedGenerator;
  const id = await uniqueBundleId(ws, o.name ?? path.basename(path.dirname(path.resolve(o.files[0]!))) ?? 'pytorch-import');
  const source: BundleSource = {
    format: 'pytorch',
    variant: REFERENCE_VARIANT,
    files: loaded.map((l) => ({ network: l.name, file: path.basename(l.file), sha256: l.sha256, bytes: l.bytes, format: l.sd.format })),
    architecture: { netG: g.netG, norm: g.norm, ngf: g.ngf, dropout: g.dropout, ...(loaded.some((l) => l.detected.role === 'discriminator') ? { netD: 'basic' } : {}) },
    mode,
  };
  // 2. The bundle (generators), then the discriminators beside it.
  step(1, total, 'writing the bundle');
  const options = { size, channels: ga.outChannels, inChannels: ga.inChannels, ngf: g.ngf, norm: g.norm, netG: g.netG, variant: REFERENCE_VARIANT, dropout: g.dropout, seed: 0 };
  let dir: string;
  try {
    const gens = Object.fromEntries(gNames.map((n) => [n, built[n]!]));
    ({ dir } = await writeBundle(ws.bundles, id, { kind, networks: gens, inferenceNetworks: gNames, inferenceNetwork: (n: string) => gens[n]!, options } as unknown as Parameters<typeof writeBundle>[2], {
      name: o.name ?? id,
      direction: 'AtoB',
      source,
      ...(mode === 'train' ? { inference: { dropout: 'keep', ...(g.norm === 'batch' ? { batchNorm: 'per-image-statistics' as const } : {}) } } : {}),
      training: { runId: '', datasetId: '', steps: 0, epochs: 0, durationSec: 0, stepsPerSec: 0, backend: 'pytorch (imported)', finalLosses: {}, meanLosses: {} },
    }));
    for (const l of loaded.filter((x) => x.detected.role === 'discriminator')) await saveModelToDir(built[l.name]!, path.join(dir, 'reference', l.name));
  } finally {
    for (const [n, m] of Object.entries(built)) if (!gNames.includes(n)) m.dispose();
  }
  // 3. ONNX with parity, one file per direction.
  const onnx: PytorchImportResult['onnx'] = [];
  try {
    for (const [i, n] of gNames.entries()) {
      const direction = i === 0 ? 'AtoB' : 'BtoA';
      step(2 + i, total, `exporting ${direction} to ONNX`);
      const d = loaded.find((l) => l.name === n)!.detected as DetectedGenerator;
      const src: ExportSource = {
        kind,
        name: direction === 'AtoB' ? id : `${id} (BtoA)`,
        generator: built[n]!,
        imageSize: size,
        channels: d.outChannels,
        ...(d.inChannels !== d.outChannels ? { inChannels: d.inChannels } : {}),
        dropout: mode === 'train' ? 'keep' : 'identity',
        training: { source: 'pytorch', files: source.files },
      };
      const file = path.join(dir, `${id}${direction === 'BtoA' ? '.BtoA' : ''}.onnx`);
      const res: ExportResult = await exportOnnx(src, file, { parityBatch: 1 });
      onnx.push({ direction, file, maxAbsDiff: res.parity.maxAbsDiff, pass: res.pass });
    }
  } finally {
    for (const n of gNames) disposeSource({ kind, name: n, imageSize: size, channels: 3, generator: built[n] });
  }
  step(total, total, 'done');
  await fsp.writeFile(path.join(dir, 'README.md'), cardText({ id, kind, mode, size }, loaded, g, onnx));
  return {
    id,
    dir,
    kind,
    mode,
    networks: loaded.map((l) => ({ name: l.name, file: l.file, sha256: l.sha256, format: l.sd.format, detected: describeDetected(l.detected) })),
    onnx,
    pass: onnx.every((x) => x.pass),
  };
}
