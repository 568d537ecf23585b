/**
 * Continue the reference trainer's checkpoints in the studio: a set of .pth files
 *   latest_net_G.pth [+ latest_net_D.pth]                         -> a pix2pix run
 *   latest_net_G_A.pth + latest_net_G_B.pth [+ D_A, D_B]          -> a cyclegan run
 * becomes a training run on the reference variant whose step-0 checkpoint holds those weights,
 * so the ordinary resume path (trainRun) takes it from there, and the run's checkpoints export
 * back with `exportPytorch({ runDir })`, the trained discriminators included.
 * What does not come across, said in the run's origin note: the optimizer state (the
 * reference's latest_net_*.pth hold weights only, so Adam's moments start at zero, as the
 * reference's own --continue_train does), the epoch count (steps restart at 0, which restarts a
 * decaying LR schedule), and any discriminator not given (initialised as init_weights does).
 * Which networks a kind has and what each discriminator judges come from the registry's
 * reference counterpart (models/registry.ts); no kind is named here.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../../shared/errors';
import { writeJsonAtomic } from '../core/fsutil';
import type { Workspace } from '../core/workspace';
import { parseOptionStrings } from '../models/options';
import type { ModelKind } from '../models/base';
import { createModel, modelEntry, modelForReference } from '../models/registry';
import { writeCheckpoint } from '../train/checkpoint';
import { type RunOptionsFile, type RunOrigin } from '../train/run-files';
import { createRun } from '../train/run-create';
import { openBatchSource } from '../train/source';
import '../train/dataset-source';
import { readCheckpointSet, type Loaded } from './import';
import { loadReferenceWeights, type DetectedDiscriminator, type DetectedGenerator } from './weights';

export interface PytorchRunOptions {
  /** The reference's checkpoint files (see above). */
  files: string[];
  datasetId: string;
  steps?: number;
  name?: string;
  /** Training options (size, batchSize, lr, lrPolicy, ...); the architecture comes from the files and wins. */
  options?: Record<string, unknown>;
  /** The same as CLI "key=value" strings, parsed against the options of the model the files hold. */
  optionStrings?: string[];
  sampleEvery?: number;
  checkpointEvery?: number;
  runsDir?: string;
}

export interface PytorchRunResult {
  runId: string;
  runDir: string;
  model: ModelKind;
  run: RunOptionsFile;
  origin: RunOrigin;
}

/**
 * The files of a set: each argument a .pth file, or a folder (the reference's
 * checkpoints_dir/name) whose <epoch>_net_*.pth are taken, `latest` by default.
 */
export async function checkpointFiles(args: string[], epoch = 'latest'): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const st = await fsp.stat(a).catch(() => null);
    if (!st) throw new StudioError('NOT_FOUND', `No file or folder at ${a}.`);
    if (!st.isDirectory()) {
      out.push(a);
      continue;
    }
    const re = new RegExp(`^${epoch.replace(/[^A-Za-z0-9_]/g, '')}_net_(G|D|G_A|G_B|D_A|D_B)\\.pth$`);
    const found = (await fsp.readdir(a)).filter((n) => re.test(n)).sort();
    if (!found.length) throw new StudioError('NOT_FOUND', `No ${epoch}_net_*.pth in ${a}.`, { hint: 'Give the folder the reference trainer wrote (checkpoints/<name>), or the files.' });
    out.push(...found.map((n) => path.join(a, n)));
  }
  return out;
}

/**
 * The registry entry whose reference counterpart has these generators, and the reference-variant
 * options that rebuild exactly these networks (keys the model lacks are left out).
 */
function optionsFor(loaded: Loaded[]): { kind: ModelKind; options: Record<string, unknown>; networks: string[] } {
  const byName = new Map(loaded.map((l) => [l.name, l]));
  const gNames = loaded.filter((l) => l.detected.role === 'generator').map((l) => l.name);
  const entry = modelForReference(gNames);
  if (!entry?.reference) throw new StudioError('BAD_INPUT', `No model kind trains the generators ${gNames.join(' + ')}.`);
  const ref = entry.reference;
  const has = (key: string) => entry.options.some((s) => s.key === key);
  const gens = [...ref.generators];
  const g = byName.get(gens[0]!)!.detected as DetectedGenerator;
  for (const n of gens.slice(1)) {
    const o = byName.get(n)!.detected as DetectedGenerator;
    if (o.netG !== g.netG || o.norm !== g.norm || o.ngf !== g.ngf || o.dropout !== g.dropout) {
      throw new StudioError('BAD_INPUT', `${gens[0]} and ${n} differ (${g.netG}/${g.norm}/ngf ${g.ngf} vs ${o.netG}/${o.norm}/ngf ${o.ngf}); one run trains generators of one architecture.`);
    }
  }
  if (g.dropout && !has('dropout')) {
    throw new StudioError('BAD_INPUT', `These generators use dropout (trained without --no_dropout); Atelier trains ${entry.kind} without dropout, as the reference's ${ref.model} does by default.`, {
      hint: 'Import them as a bundle for inference (atelier import pytorch), or continue them on the reference trainer.',
    });
  }
  const ds = ref.discriminators.map((d) => ({ ...d, det: byName.get(d.name)?.detected as DetectedDiscriminator | undefined }));
  const given = ds.filter((d) => d.det);
  for (const d of given) {
    const det = d.det!;
    if (det.norm !== g.norm) throw new StudioError('BAD_INPUT', `${d.name} uses ${det.norm} norm and the generator ${g.norm}; the reference (and a run) uses one --norm for both.`);
    if (det.ndf !== given[0]!.det!.ndf || det.nLayers !== given[0]!.det!.nLayers) throw new StudioError('BAD_INPUT', 'The discriminators differ in width or depth; one run trains discriminators of one architecture.');
    const want = d.judges === 'A' ? g.inChannels : d.judges === 'B' ? g.outChannels : g.inChannels + g.outChannels;
    if (det.inChannels !== want) throw new StudioError('BAD_INPUT', `${d.name} takes ${det.inChannels} channels; with these generators ${entry.kind} feeds it ${want}.`);
  }
  if (!has('inChannels') && g.inChannels !== g.outChannels) throw new StudioError('BAD_INPUT', `${entry.kind} translates between images of one channel count; these generators take ${g.inChannels} and give ${g.outChannels}.`);
  const d0 = given[0]?.det;
  const options: Record<string, unknown> = {
    variant: 'reference',
    referenceNetG: g.netG,
    netG: g.netG.startsWith('unet') ? 'unet' : 'resnet',
    norm: g.norm,
    ngf: g.ngf,
    ndf: d0?.ndf ?? g.ngf,
    nLayersD: d0?.nLayers ?? 3,
    channels: g.outChannels,
    ...(has('inChannels') ? { inChannels: g.inChannels } : {}),
    // A U-Net's dropout leaves no key behind: the reference's default (on) unless the keys show otherwise.
    ...(has('dropout') ? { dropout: g.dropout ?? true } : {}),
  };
  return { kind: entry.kind, options, networks: [...gens, ...ref.discriminators.map((d) => d.name)] };
}

/** Create the run, load the files into its networks and write them as its step-0 checkpoint. */
export async function runFromPytorch(ws: Workspace, o: PytorchRunOptions): Promise<PytorchRunResult> {
  // Everything is read and checked before the run folder exists.
  const loaded = await readCheckpointSet(o.files);
  const { kind, options: arch, networks } = optionsFor(loaded);
  const given = { ...(o.optionStrings?.length ? parseOptionStrings(modelEntry(kind).options, o.optionStrings) : {}), ...(o.options ?? {}) };
  // The U-Nets need a size that their depth divides (the reference trains them at their crop).
  if (given.size === undefined && arch.referenceNetG === 'unet_256') given.size = 256;
  if (given.size === undefined && arch.referenceNetG === 'unet_128') given.size = 128;
  const options = { ...given, ...arch };
  const fresh = networks.filter((n) => !loaded.some((l) => l.name === n));
  const note =
    `started from PyTorch checkpoints ${loaded.map((l) => path.basename(l.file)).join(', ')}: weights loaded; ` +
    `optimizer state fresh (the .pth files hold weights only), step count from 0` +
    (fresh.length ? `; ${fresh.join(', ')} initialised anew (no file given)` : '');
  const origin: RunOrigin = {
    format: 'pytorch',
    files: loaded.map((l) => ({ network: l.name, file: path.basename(l.file), sha256: l.sha256 })),
    freshNetworks: fresh,
    note,
  };
  // Checks the dataset against the kind and builds the model once (bad sizes fail here).
  const { runId, runDir, run } = await createRun(ws, {
    model: kind,
    datasetId: o.datasetId,
    options,
    ...(o.steps ? { steps: o.steps } : {}),
    ...(o.name ? { name: o.name } : {}),
    ...(o.sampleEvery ? { sampleEvery: o.sampleEvery } : {}),
    ...(o.checkpointEvery ? { checkpointEvery: o.checkpointEvery } : {}),
    ...(o.runsDir ? { runsDir: o.runsDir } : {}),
  });
  const model = createModel(kind, run.options);
  let ok = false;
  try {
    for (const l of loaded) {
      try {
        loadReferenceWeights(model.networks[l.name]!, l.sd);
      } catch (e) {
        if (e instanceof StudioError) throw new StudioError(e.code, `${path.basename(l.file)}: ${e.message}`, { hint: e.hint });
        throw e;
      }
    }
    // The data cursor a fresh run starts from, so that resume finds a complete checkpoint.
    const src = await openBatchSource({
      workspace: ws,
      datasetId: run.datasetId,
      size: run.options.size as number,
      channels: run.options.channels as number,
      ...(typeof run.options.inChannels === 'number' ? { inChannels: run.options.inChannels } : {}),
      batchSize: run.options.batchSize as number,
      seed: run.options.seed as number,
      needs: modelEntry(kind).data,
      direction: run.direction,
    });
    const cursor = src.state();
    src.close?.();
    model.totalSteps = run.totalSteps;
    await writeCheckpoint(
      runDir,
      { step: 0, epoch: 0, schedule: { policy: run.options.lrPolicy as string, lr: model.learningRate(), totalSteps: run.totalSteps }, cursor, state: await model.getState() },
      run.keepCheckpoints,
    );
    ok = true;
  } finally {
    model.dispose();
    // A set that does not load leaves no half-made run behind.
    if (!ok) await fsp.rm(runDir, { recursive: true, force: true });
  }
  const withOrigin: RunOptionsFile = { ...run, origin };
  await writeJsonAtomic(path.join(runDir, 'options.json'), withOrigin);
  return { runId, runDir, model: kind, run: withOrigin, origin };
}
