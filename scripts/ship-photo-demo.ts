// Ship a colour photo demo from a training run: bundle from the run's newest checkpoint, ONNX
// export with parity, evaluation on the held-out photos, samples and card (models/<name>).
//
// Usage: npx tsx scripts/ship-photo-demo.ts --model nature-colorize-pix2pix|green2autumn-cyclegan
//                                           --run <run folder> [--out models] [--notes card-notes.md]
//                                           [--from-bundle DIR]   (a bundle made from the run earlier, instead of its newest checkpoint)
//                                           [--step N]            (this checkpoint, chosen on validation by scripts/pick-checkpoint.ts)
// The run is an ordinary `atelier train` run on the demo dataset (see the card's Reproduce).
// Needs the demo datasets in the workspace ($ATELIER_WORKSPACE): `atelier dataset demo`.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { initBackend } from '../src/main/engine/backend';
import { PHOTO_MODELS, shipPhotoDemo, type PhotoModelName } from '../src/main/engine/eval/photo-demos';
import { readRunOptions } from '../src/main/engine/train/run-files';
import { resolveOptions } from '../src/main/engine/models/registry';
import { defaultWorkspaceRoot, openWorkspace } from '../src/main/engine/core/workspace';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const name = flag('model') as PhotoModelName | undefined;
const runDir = flag('run');
if (!name || !(name in PHOTO_MODELS) || !runDir) {
  console.error(`Usage: npx tsx scripts/ship-photo-demo.ts --model ${Object.keys(PHOTO_MODELS).join('|')} --run <run folder> [--out models] [--notes file]`);
  process.exit(2);
}
await initBackend();
const run = await readRunOptions(path.resolve(runDir));
const notesFile = flag('notes');
const notes = notesFile ? await fsp.readFile(notesFile, 'utf8') : undefined;
// Every option the run set away from the model's defaults (size and batch have their own flags; seed always).
const defaults = resolveOptions(run.model, {});
const opts = Object.entries(run.options)
  .filter(([k, v]) => v !== null && !['size', 'batchSize', 'channels'].includes(k) && (k === 'seed' || JSON.stringify(v) !== JSON.stringify(defaults[k])))
  .map(([k, v]) => `--option ${k}=${String(v)}`)
  .join(' ');
const step = flag('step') ? Number(flag('step')) : undefined;
const reproduce = [
  `atelier dataset demo            # cuts the demo datasets from the photo packages (apt install mate-backgrounds${name === 'nature-colorize-pix2pix' ? ' lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 plasma-workspace-wallpapers' : ''})`,
  `atelier train --model ${run.model} --data ${run.datasetId} --size ${String(run.options.size)} --batch ${String(run.options.batchSize)} --steps ${run.totalSteps} ${opts} --checkpoint-every ${run.checkpointEvery} --keep 100`,
  'atelier train --resume <run id> [--steps N]     # after a stop: continues exactly where it stopped',
  ...(step !== undefined ? [`npx tsx scripts/pick-checkpoint.ts --run <runs>/<run id>     # chooses the checkpoint on the validation photos (here: step ${step})`] : []),
  `npx tsx scripts/ship-photo-demo.ts --model ${name} --run <runs>/<run id>${step !== undefined ? ` --step ${step}` : ''}`,
];
const ws = openWorkspace(defaultWorkspaceRoot());
const card = await shipPhotoDemo(ws, name, path.resolve(runDir), { out: path.resolve(flag('out') ?? 'models'), reproduce, ...(notes ? { notes } : {}), ...(flag('from-bundle') ? { fromBundle: path.resolve(flag('from-bundle')!) } : {}), ...(step !== undefined ? { step } : {}), log: (m) => console.error(`[${name}] ${m}`) });
console.log(JSON.stringify({ keyMetric: card.keyMetric, bars: card.bars }, null, 2));
