/**
 * Shipping the colour photo demos (nature-colorize-pix2pix, green2autumn-cyclegan). Unlike the
 * Fashion-MNIST demos (demos.ts, trained in memory in one go), these train for hours on this
 * machine, so they are ordinary resumable runs (`atelier train ... --resume`); this module turns
 * a run's newest checkpoint into models/<name>: bundle, ONNX export with parity, evaluation on
 * the held-out photos (evaluateBundle, the numbers `atelier eval` prints), a strip of held-out
 * samples, and the card (README.md + card.json) with each source photo's licence.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { EvalResult } from '../../../shared/channels/eval';
import type { DatasetManifest } from '../../../shared/channels/dataset';
import { tf } from '../backend';
import { datasetDir, readManifest } from '../data/store';
import { loadDatasetMatrix } from '../analysis/dataset-source';
import { disposeSource, exportOnnx } from '../export/onnx-export';
import { loadBundleSource } from '../infer/registry';
import { disposeBundle, loadBundle, translate, writeBundle, type BundleMeta } from '../train/bundle';
import { readLog, readRunOptions, type RunOptionsFile } from '../train/run-files';
import { modelFromCheckpoint } from '../train/run-promote';
import type { BaseModel } from '../models/base';
import type { Workspace } from '../core/workspace';
import { barsTable, trainingTable, writeCard, type ModelCard } from './demos';
import { evaluateBundle, metricValue, toModelTensor } from './evaluate';

export const PHOTO_MODELS = {
  'nature-colorize-pix2pix': {
    dataset: 'demo-nature-colorize',
    key: { name: 'psnr', tolerance: 0.05 },
    summary: 'pix2pix (U-Net + PatchGAN): greyscale photo -> colour, trained on 128 px multi-scale crops of nature photos; evaluated on 2 whole held-out photos.',
  },
  'green2autumn-cyclegan': {
    dataset: 'demo-green2autumn',
    key: { name: 'transferRate.AtoB', tolerance: 0.02 },
    summary: 'CycleGAN (unpaired): green foliage <-> autumn (red, orange, yellow) colours, 128 px crops of nature photos picked by a hue statistic; evaluated on crops of 2 whole held-out photos.',
  },
} as const;
export type PhotoModelName = keyof typeof PHOTO_MODELS;

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 0.01 ? v.toFixed(4) : v.toExponential(3));

function metricsTable(r: EvalResult): string {
  return [
    `Evaluated on ${r.dataset.description} (seed ${r.seed}, ${r.durationSec.toFixed(0)} s):`,
    '',
    '| metric | value | |',
    '|---|---|---|',
    ...r.metrics.map((m) => `| ${m.label.replace(/\|/g, '\\|')} | ${fmt(m.value)} | ${m.better === 'higher' ? 'higher is better' : m.better === 'lower' ? 'lower is better' : 'reference'}${m.note ? `; ${m.note.replace(/\|/g, '\\|')}` : ''} |`),
    ...(r.notes.length ? ['', ...r.notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}

/** Training wall time from the log: the sum of step-to-step gaps, leaving out pauses (> 10 min) between stages. */
function wallTime(log: { t: number }[]): { sec: number; stages: number } {
  let sec = 0;
  let stages = log.length ? 1 : 0;
  for (let i = 1; i < log.length; i++) {
    const d = (log[i]!.t - log[i - 1]!.t) / 1000;
    if (d > 600 || d < 0) stages++;
    else sec += d;
  }
  return { sec, stages };
}

/** Held-out samples: rows input | output | original (cyclegan: A | A->B, B | B->A) for 6 test crops. */
async function sampleStrip(ws: Workspace, dir: string, dataset: string, file: string): Promise<void> {
  const b = await loadBundle(dir);
  try {
    const size = b.meta.preprocessing.size;
    const isCycle = b.meta.model === 'cyclegan';
    const a = await loadDatasetMatrix({ workspace: ws }, dataset, 6, { split: 'test', role: 'a', seed: 3 });
    const bm = await loadDatasetMatrix({ workspace: ws }, dataset, 6, { split: 'test', role: 'b', seed: 3 });
    const rows = tf.tidy(() => {
      const ax = toModelTensor(a.matrix.data, a.matrix.rows, a.image.width, a.image.height, a.image.channels, size, 3);
      const bx = toModelTensor(bm.matrix.data, bm.matrix.rows, bm.image.width, bm.image.height, bm.image.channels, size, 3);
      const inA = toModelTensor(a.matrix.data, a.matrix.rows, a.image.width, a.image.height, a.image.channels, size, b.meta.preprocessing.inChannels);
      const out = translate(b, inA, { direction: 'AtoB' });
      const grey3 = (x: tf.Tensor4D) => (x.shape[3] === 1 ? tf.tile(x, [1, 1, 1, 3]) : x);
      const list = isCycle ? [ax, out, bx, translate(b, bx, { direction: 'BtoA' })] : [grey3(inA), out, bx];
      return list.map((t) => tf.concat(tf.unstack(t).map((x) => x as tf.Tensor3D), 1));
    });
    const strip = tf.tidy(() => tf.cast(tf.clipByValue(tf.mul(tf.add(tf.concat(rows, 0), 1), 127.5), 0, 255), 'int32'));
    tf.dispose(rows);
    const [h, w] = strip.shape as [number, number, number];
    const px = Uint8Array.from(strip.dataSync());
    strip.dispose();
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel: 9 }).toFile(file);
  } finally {
    disposeBundle(b);
  }
}

function licenceSection(m: DatasetManifest): string[] {
  const src = m.sources ?? [];
  const packages = [...new Set(src.map((s) => s.package).filter((p): p is string => !!p))];
  const licences = [...new Set(src.map((s) => s.license))];
  return [
    '## Data and licences',
    `Built by \`atelier dataset demo\` (dataset \`${m.id}\`, ${m.source.demo}, seed ${m.options.seed}) from ${packages.length ? `the Debian package${packages.length > 1 ? 's' : ''} ${packages.map((p) => `\`${p}\``).join(', ')} (installed photos; \`apt install ${packages.join(' ')}\`); no photo is copied into this repository` : `the photos in ${m.source.path}`}.`,
    `Counts: train ${m.counts.train}, test ${m.counts.test}${m.counts.val !== undefined ? `, validation ${m.counts.val}` : ''}${m.counts.a !== undefined ? ` (domain A ${m.counts.a}, B ${m.counts.b} over both splits)` : ''}; whole photos are held out for the test split${m.counts.val !== undefined ? ' and for the validation split (checkpoints are chosen there, never on test)' : ''}, no crop of them is trained on.`,
    '',
    '| photo | package | size | split | crops | copyright | licence |',
    '|---|---|---|---|---|---|---|',
    ...src.map((s) => `| ${s.file} | ${s.package ?? '-'} | ${s.width}x${s.height} | ${s.split} | ${s.items} | ${s.copyright.replace(/\|/g, '\\|')} | ${s.license} |`),
    '',
    `The photos are ${licences.join(', ')} (per each package's \`/usr/share/doc/<package>/copyright\`; the plasma wallpapers' own metadata.json says LGPLv3 where the table notes it); the trained weights are derived from them, so treat this model as a derivative of these works when redistributing it (attribution for the CC-BY ones, share-alike for the -SA and GPL ones).`,
  ];
}

export interface ShipOptions {
  out: string;
  /** Hand-written card notes (why these widths, how the stages went). */
  notes?: string;
  /** Ship this bundle (made from the run earlier) instead of the run's newest checkpoint. */
  fromBundle?: string;
  /** Ship this checkpoint step instead of the newest (chosen on the validation split: scripts/pick-checkpoint.ts). */
  step?: number;
  /** Commands that reproduce the run, shown in the card. */
  reproduce: string[];
  log?: (m: string) => void;
}

/** models/<name> from the newest checkpoint of `runDir`: bundle, ONNX, evaluation, samples, card. */
export async function shipPhotoDemo(ws: Workspace, name: PhotoModelName, runDir: string, opts: ShipOptions): Promise<ModelCard> {
  const spec = PHOTO_MODELS[name];
  const log = opts.log ?? (() => undefined);
  let dir: string;
  let run: RunOptionsFile;
  let step: number;
  let model: BaseModel | null = null;
  if (opts.fromBundle) {
    // A bundle made earlier from this run (its checkpoint since rotated away): ship it as it is.
    const meta = JSON.parse(await fsp.readFile(path.join(opts.fromBundle, 'bundle.json'), 'utf8')) as BundleMeta;
    run = await readRunOptions(runDir);
    step = meta.training.steps;
    dir = path.join(opts.out, name);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.cp(opts.fromBundle, dir, { recursive: true });
    for (const f of await fsp.readdir(dir)) if (f.endsWith('.onnx') || f === 'card.json' || f === 'README.md' || f === 'samples.png' || (f.endsWith('.json') && f !== 'bundle.json')) await fsp.rm(path.join(dir, f));
  } else {
    ({ model, run, step } = await modelFromCheckpoint(runDir, opts.step));
    dir = '';
  }
  const entries = await readLog(runDir, step);
  const tail = entries.slice(-Math.max(1, Math.ceil(entries.length / 10)));
  const meanLosses: Record<string, number> = {};
  for (const e of tail) for (const [k, v] of Object.entries(e.losses)) meanLosses[k] = (meanLosses[k] ?? 0) + v / tail.length;
  const wt = wallTime(entries);
  const batchSize = run.options.batchSize as number;
  if (model) try {
    ({ dir } = await writeBundle(opts.out, name, model, {
      name,
      direction: run.direction,
      training: {
        runId: run.runId,
        datasetId: run.datasetId,
        steps: step,
        epochs: (step * batchSize) / Math.max(1, run.itemsPerEpoch),
        durationSec: wt.sec,
        stepsPerSec: wt.sec ? step / wt.sec : 0,
        backend: tf.getBackend(),
        finalLosses: entries[entries.length - 1]?.losses ?? {},
        meanLosses,
        ...{ plannedSteps: run.totalSteps, stages: wt.stages, batchSize, seed: run.options.seed, data: { dataset: run.datasetId } },
      },
    }));
  } finally {
    model.dispose();
  }
  log(`bundle ${dir} from step ${step}`);
  const onnx: { file: string; maxAbsDiff: number; pass: boolean }[] = [];
  for (const direction of run.model === 'cyclegan' ? (['AtoB', 'BtoA'] as const) : (['AtoB'] as const)) {
    const src = await loadBundleSource(dir, { direction });
    try {
      const file = path.join(dir, `${name}${direction === 'BtoA' ? '.BtoA' : ''}.onnx`);
      const r = await exportOnnx(src, file);
      onnx.push({ file: path.basename(file), maxAbsDiff: r.parity.maxAbsDiff, pass: r.pass });
      log(r.message);
    } finally {
      disposeSource(src);
    }
  }
  log(`evaluating on ${spec.dataset} (test: held-out photos)`);
  const r = await evaluateBundle(ws, { model: dir, dataset: spec.dataset, split: 'test', seed: 0 });
  await sampleStrip(ws, dir, spec.dataset, path.join(dir, 'samples.png'));
  const v = (k: string) => metricValue(r, k);
  const m = await readManifest(datasetDir(ws, spec.dataset));
  // The colouriser is also judged on its validation photos (other packages than the test photos):
  // a gain that holds on one pair of photos only is not a clear gain.
  let rv: EvalResult | null = null;
  if (run.model === 'pix2pix' && m.counts.val) {
    log(`evaluating on ${spec.dataset} (val: the validation photos)`);
    rv = await evaluateBundle(ws, { model: dir, dataset: spec.dataset, split: 'val', seed: 0 });
  }
  const bars: ModelCard['bars'] = [];
  if (run.model === 'pix2pix') {
    bars.push({ name: 'PSNR above the grey input', measured: v('psnr'), op: '>=', target: v('baselineInput.psnr') + 1, pass: v('psnr') >= v('baselineInput.psnr') + 1 });
    bars.push({ name: 'SSIM above the grey input', measured: v('ssim'), op: '>=', target: v('baselineInput.ssim'), pass: v('ssim') > v('baselineInput.ssim') });
    // "Beat the baseline clearly": the per-crop SSIM gain's 95% interval must clear 0, so a mean
    // lifted by a few crops does not pass.
    bars.push({ name: 'SSIM gain over the grey input clear (95% interval above 0)', measured: v('gainOverInput.ssim.lo'), op: '>=', target: 0, pass: v('gainOverInput.ssim.lo') > 0 });
    bars.push({ name: 'PSNR gain over the grey input clear (95% interval above 0)', measured: v('gainOverInput.psnr.lo'), op: '>=', target: 0, pass: v('gainOverInput.psnr.lo') > 0 });
    if (rv) {
      for (const k of ['psnr', 'ssim']) {
        const lo = metricValue(rv, `gainOverInput.${k}.lo`);
        bars.push({ name: `validation photos: ${k.toUpperCase()} gain over the grey input clear (95% interval above 0)`, measured: lo, op: '>=', target: 0, pass: lo > 0 });
      }
    }
    bars.push({ name: 'L1 below the grey input', measured: v('l1'), op: '<=', target: v('baselineInput.l1'), pass: v('l1') < v('baselineInput.l1') });
    bars.push({ name: 'colourfulness at least a third of the targets\'', measured: v('colourfulness'), op: '>=', target: v('target.colourfulness') / 3, pass: v('colourfulness') >= v('target.colourfulness') / 3 });
    bars.push({ name: 'PSNR above the per-pixel grey-level colour table (independent check)', measured: v('psnr'), op: '>=', target: v('baselineLut.psnr'), pass: v('psnr') >= v('baselineLut.psnr') });
  } else {
    for (const d of ['AtoB', 'BtoA']) bars.push({ name: `colour-domain transfer rate ${d} above no translation + 0.5`, measured: v(`transferRate.${d}`), op: '>=', target: v(`baselineIdentity.transferRate.${d}`) + 0.5, pass: v(`transferRate.${d}`) >= v(`baselineIdentity.transferRate.${d}`) + 0.5 });
    // The cycle must undo the change: its L1 well under the L1 the translation itself makes.
    for (const [d, t] of [['A', 'AtoB'], ['B', 'BtoA']] as const) bars.push({ name: `cycle L1 ${d} below half the change L1 ${t}`, measured: v(`cycleL1.${d}`), op: '<=', target: v(`changeL1.${t}`) / 2, pass: v(`cycleL1.${d}`) <= v(`changeL1.${t}`) / 2 });
  }
  const card: ModelCard = {
    format: 'atelier-model-card',
    version: 1,
    name,
    kind: run.model,
    summary: spec.summary,
    data: { dataset: spec.dataset, train: `${m.counts.train} crops (${m.image.width} px) of ${(m.sources ?? []).filter((s) => s.split === 'train').length} photos`, test: `${m.counts.test} crops of the held-out ${(m.sources ?? []).filter((s) => s.split === 'test').map((s) => s.file).join(', ')}`, licences: [...new Set((m.sources ?? []).map((s) => s.license))].join(', ') + ' (per photo below)' },
    options: run.options,
    steps: step,
    batchSize,
    wallTimeSec: wt.sec,
    backend: tf.getBackend(),
    machine: { cpus: os.cpus().length, loadAvg1: os.loadavg()[0]! },
    seed: Number(run.options.seed ?? 0),
    metrics: {
      [spec.dataset]: { ...Object.fromEntries(r.metrics.map((x) => [x.key, x.value])), details: r.details },
      ...(rv ? { [`${spec.dataset}:val`]: { ...Object.fromEntries(rv.metrics.map((x) => [x.key, x.value])), details: rv.details } } : {}),
    },
    keyMetric: { name: spec.key.name, value: v(spec.key.name), dataset: spec.dataset, split: 'test', tolerance: spec.key.tolerance },
    bars,
    onnx,
    createdAt: new Date().toISOString(),
  };
  const md = [
    `# ${name}`,
    '',
    spec.summary,
    '',
    '![held-out samples](samples.png)',
    '',
    run.model === 'pix2pix'
      ? '`samples.png`: held-out crops (never trained on); rows: grey input, this model, the original colour photo.'
      : '`samples.png`: held-out crops (never trained on); rows: green A, A->B, autumn B, B->A.',
    '',
    '## Training',
    trainingTable(card),
    '',
    `Trained as a resumable run (\`atelier train\`, checkpoints every ${run.checkpointEvery} steps) in ${wt.stages} stage${wt.stages === 1 ? '' : 's'}${step < run.totalSteps ? `; **this is step ${step} of the ${run.totalSteps} planned**${opts.fromBundle ? ' (a bundle made from that checkpoint while the run went on; see Notes)' : opts.step !== undefined ? ' (the checkpoint chosen on the validation photos, `scripts/pick-checkpoint.ts`)' : ' (stopped when the time budget ran out)'}` : ''}. Wall time counts training steps only, on a 2-core machine shared with other jobs, so it says little about speed (see \`npm run bench\`).`,
    '',
    `Final losses (mean of the last 10% of logged steps): ${Object.entries(meanLosses).map(([k, x]) => `${k} ${x.toFixed(3)}`).join(', ')}.`,
    '',
    '## Bars',
    barsTable(card),
    '',
    bars.every((b) => b.pass) ? 'All bars met.' : '**Not every bar is met** (see above): these are the honest numbers of this run.',
    '',
    ...(opts.notes ? ['## Notes', opts.notes.trim(), ''] : []),
    '## Metrics (held-out photos)',
    'Pixel metrics on the [0, 1] scale (PSNR in dB, SSIM as scikit-image); colourfulness is Hasler & Süsstrunk (2003) on the 0..255 scale (0 grey, ~33 moderately, ~59 quite colourful).',
    '',
    metricsTable(r),
    '',
    ...(rv ? ['## Metrics (validation photos)', 'The same metrics on the validation split (whole photos of other packages than the test photos; held out like them).', '', metricsTable(rv), ''] : []),
    ...licenceSection(m),
    '',
    '## Files',
    `- bundle.json + networks/ (tfjs layers): \`atelier eval --model models/${name} --data ${spec.dataset}\` re-measures it (after \`atelier dataset demo\`)`,
    ...onnx.map((o) => `- ${o.file}: ONNX opset 17, parity with tfjs max |diff| ${o.maxAbsDiff.toExponential(2)} (${o.pass ? 'pass' : 'FAIL'}, limit 1e-4)`),
    '- samples.png: the held-out samples above',
    '',
    'Reproduce:',
    '',
    '```sh',
    ...opts.reproduce,
    '```',
    '',
  ].join('\n');
  await writeCard(dir, card, md);
  log(`card written: ${spec.key.name} = ${v(spec.key.name)}; bars ${bars.map((b) => `${b.name}: ${b.pass ? 'pass' : 'MISS'}`).join('; ')}`);
  return card;
}
