// Choose a run's checkpoint on the validation split (never on test): bundle each chosen
// checkpoint, evaluate it with `atelier eval`'s code on the dataset's val split, print a table and
// the step that scores best (highest validation PSNR among those whose SSIM beats the grey input's
// and whose colourfulness is at least a third of the targets'; else the highest PSNR).
//
// Usage: npx tsx scripts/pick-checkpoint.ts --run <runs>/<run id> [--every N] [--steps 100,200]
//                                           [--test]   (also the test split, for the card's table only)
// Needs the demo datasets in the workspace ($ATELIER_WORKSPACE): `atelier dataset demo`.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { initBackend } from '../src/main/engine/backend';
import { defaultWorkspaceRoot, openWorkspace } from '../src/main/engine/core/workspace';
import { evaluateBundle, metricValue } from '../src/main/engine/eval/evaluate';
import { listCheckpoints } from '../src/main/engine/train/checkpoint';
import { promoteRun } from '../src/main/engine/train/run-promote';
import { readRunOptions } from '../src/main/engine/train/run-files';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const runDir = flag('run');
if (!runDir) {
  console.error('Usage: npx tsx scripts/pick-checkpoint.ts --run <run folder> [--every N] [--steps a,b,c] [--test]');
  process.exit(2);
}
await initBackend();
const ws = openWorkspace(defaultWorkspaceRoot());
const run = await readRunOptions(path.resolve(runDir));
const all = (await listCheckpoints(path.resolve(runDir))).map((c) => c.step);
const every = Number(flag('every') ?? 0);
const steps = flag('steps')
  ? flag('steps')!.split(',').map(Number)
  : all.filter((s, i) => !every || s % every === 0 || i === all.length - 1);
const withTest = process.argv.includes('--test');
type Row = { step: number; split: string; psnr: number; ssim: number; colourfulness: number; greySsim: number; lutPsnr: number; targetColourfulness: number };
const rows: Row[] = [];
for (const step of steps) {
  const { dir, bundleId } = await promoteRun(ws, run.runId, { step, bundleId: `${run.runId}-pick-${step}` });
  for (const split of withTest ? (['val', 'test'] as const) : (['val'] as const)) {
    const r = await evaluateBundle(ws, { model: dir, dataset: run.datasetId, split, seed: 0 });
    const row: Row = {
      step,
      split,
      psnr: metricValue(r, 'psnr'),
      ssim: metricValue(r, 'ssim'),
      colourfulness: metricValue(r, 'colourfulness'),
      greySsim: metricValue(r, 'baselineInput.ssim'),
      lutPsnr: metricValue(r, 'baselineLut.psnr'),
      targetColourfulness: metricValue(r, 'target.colourfulness'),
    };
    rows.push(row);
    console.error(`step ${step} ${split}: PSNR ${row.psnr.toFixed(2)} (table ${row.lutPsnr.toFixed(2)}), SSIM ${row.ssim.toFixed(3)} (grey ${row.greySsim.toFixed(3)}), colourfulness ${row.colourfulness.toFixed(1)} (targets ${row.targetColourfulness.toFixed(1)})`);
  }
  await fsp.rm(dir, { recursive: true, force: true });
  void bundleId;
}
const val = rows.filter((r) => r.split === 'val');
const ok = val.filter((r) => r.ssim > r.greySsim && r.colourfulness >= r.targetColourfulness / 3);
const best = (ok.length ? ok : val).reduce((a, b) => (b.psnr > a.psnr ? b : a));
console.log(JSON.stringify({ best: best.step, chosenOn: 'val', rows }, null, 2));
