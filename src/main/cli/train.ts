/**
 * atelier train --model M --data D [--size S] [--steps N | --epochs N] [--out DIR]
 *                [--resume RUN [--steps NEW_TOTAL]] [--option k=v ...] [--batch N] [--sample-every N]
 *                [--checkpoint-every N] [--keep K] [--direction AtoB|BtoA] [--no-bundle] [--json]
 * Trains in this process with a one-line progress display (stderr) and prints a JSON summary
 * (stdout). Ctrl-C stops after the current step, writes a checkpoint, and prints how to resume.
 * `atelier train --model M --help` lists the model's options.
 */
import path from 'node:path';
import { parseArgs, intFlag } from './args';
import { StudioError } from '../../shared/errors';
import { defaultWorkspaceRoot, openWorkspace } from '../engine/core/workspace';
import { MODELS, modelKinds, modelEntry } from '../engine/models/registry';
import { parseOptionStrings } from '../engine/models/options';
import { readRunOptions, setRunTotalSteps } from '../engine/train/run-files';
import { createRun } from '../engine/train/run-create';
import { trainRun } from '../engine/train/run';
import { initBackend } from '../engine/backend';
import type { JobProgress } from '../../shared/events';

function usage(): string {
  return [
    'Usage: atelier train --model M --data D [--size S] [--steps N | --epochs N] [--out DIR]',
    '                     [--resume RUN] [--option k=v ...] [--batch N] [--sample-every N]',
    '                     [--checkpoint-every N] [--keep K] [--direction AtoB|BtoA] [--no-bundle] [--json]',
    '       atelier train --from-pytorch DIR|FILE.pth... --data D [--steps N] [--option k=v ...]',
    '         continue the reference trainer\'s checkpoints (checkpoints/<name>/latest_net_*.pth) here;',
    '         the architecture comes from the files, the optimizer state starts fresh',
    '',
    `Models: ${modelKinds().map((k) => `${k} (${MODELS[k]!.description})`).join('\n        ')}`,
    'Data:   a workspace dataset id, or synthetic:images|labelled|paired|unpaired',
    'Options of a model: atelier train --model M --help',
  ].join('\n');
}

function optionsHelp(kind: string): string {
  const e = modelEntry(kind);
  const rows = e.options.map((o) => `  ${o.key.padEnd(16)} ${String(o.default ?? 'auto').padEnd(10)} ${o.description}${o.choices ? ` [${o.choices.join('|')}]` : ''}`);
  return [`${e.title}: ${e.description}`, `Dataset: ${e.data}`, '', '  option           default    meaning', ...rows].join('\n');
}

function fmtSec(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

function progressLine(p: Omit<JobProgress, 'jobId'>): string {
  const losses = p.losses ? Object.entries(p.losses).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(' ') : p.message ?? '';
  const rate = p.stepsPerSec ? `${p.stepsPerSec >= 1 ? p.stepsPerSec.toFixed(2) + ' it/s' : (1 / p.stepsPerSec).toFixed(2) + ' s/it'}` : '';
  return `step ${p.step}/${p.total} ep ${p.epoch ?? 0} | ${losses} | ${rate} ETA ${fmtSec(p.etaSec ?? NaN)}`;
}

export async function runTrainCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'no-bundle', 'help']);
  const model = typeof args.flags.model === 'string' ? args.flags.model : undefined;
  if (args.flags.help) {
    console.log(model ? optionsHelp(model) : usage());
    return 0;
  }
  const ws = openWorkspace(defaultWorkspaceRoot());
  const out = typeof args.flags.out === 'string' ? path.resolve(args.flags.out) : ws.runs;
  let runDir: string;
  if (typeof args.flags.resume === 'string') {
    const r = args.flags.resume;
    runDir = r.includes(path.sep) || r.startsWith('.') ? path.resolve(r) : path.join(out, r);
    await readRunOptions(runDir);
    const steps = intFlag(args, 'steps');
    if (steps) await setRunTotalSteps(runDir, steps); // continue to a new total
  } else if (args.multi['from-pytorch']?.length) {
    if (typeof args.flags.data !== 'string') {
      console.error(usage());
      return 2;
    }
    // The backend first: a new run is checked against the GPU before its folder is made (run-create.ts).
    await initBackend();
    const { checkpointFiles, runFromPytorch } = await import('../engine/interop/continue');
    const files = await checkpointFiles(args.multi['from-pytorch']);
    const given: Record<string, unknown> = {};
    const size = intFlag(args, 'size');
    if (size !== undefined) given.size = size;
    const batch = intFlag(args, 'batch');
    if (batch !== undefined) given.batchSize = batch;
    const steps = intFlag(args, 'steps');
    const created = await runFromPytorch(ws, {
      files,
      datasetId: args.flags.data,
      options: given,
      // Parsed once the files say which model they are.
      optionStrings: args.multi.option ?? [],
      ...(steps ? { steps } : {}),
      ...(typeof args.flags.name === 'string' ? { name: args.flags.name } : {}),
      ...(intFlag(args, 'sample-every') ? { sampleEvery: intFlag(args, 'sample-every')! } : {}),
      ...(intFlag(args, 'checkpoint-every') ? { checkpointEvery: intFlag(args, 'checkpoint-every')! } : {}),
      runsDir: out,
    });
    runDir = created.runDir;
    if (!args.flags.json) console.error(`run ${created.runId} (${created.model}) -> ${runDir}\n  ${created.origin.note}`);
  } else {
    if (!model || typeof args.flags.data !== 'string') {
      console.error(usage());
      return 2;
    }
    const entry = modelEntry(model);
    const options = parseOptionStrings(entry.options, args.multi.option ?? []);
    await initBackend(); // as above: the GPU check before the run folder
    const size = intFlag(args, 'size');
    if (size !== undefined) options.size = size;
    const batch = intFlag(args, 'batch');
    if (batch !== undefined) options.batchSize = batch;
    const steps = intFlag(args, 'steps');
    const epochs = intFlag(args, 'epochs');
    if (steps && epochs) throw new StudioError('BAD_INPUT', 'Give --steps or --epochs, not both.');
    const direction = args.flags.direction === 'BtoA' ? 'BtoA' : 'AtoB';
    const created = await createRun(ws, {
      model,
      datasetId: args.flags.data,
      options,
      ...(steps ? { steps } : {}),
      ...(epochs ? { epochs } : {}),
      ...(intFlag(args, 'sample-every') ? { sampleEvery: intFlag(args, 'sample-every')! } : {}),
      ...(intFlag(args, 'checkpoint-every') ? { checkpointEvery: intFlag(args, 'checkpoint-every')! } : {}),
      ...(intFlag(args, 'keep') ? { keepCheckpoints: intFlag(args, 'keep')! } : {}),
      bundle: !args.flags['no-bundle'],
      direction,
      runsDir: out,
    });
    runDir = created.runDir;
    if (!args.flags.json) console.error(`run ${created.runId} -> ${runDir}`);
  }

  let stop = false;
  const onSig = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write('\nstopping after this step (Ctrl-C again to quit at once)...\n');
  };
  process.on('SIGINT', onSig);
  const tty = process.stderr.isTTY && !args.flags.json;
  let lastPrint = 0;
  try {
    const summary = await trainRun(ws, runDir, {
      checkpoint: async () => {
        await new Promise((r) => setImmediate(r));
        if (stop) throw new StudioError('CANCELLED', 'Training stopped (Ctrl-C).');
      },
      progress: (p) => {
        if (args.flags.json) return;
        const line = progressLine(p);
        if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 120) - 1)}`);
        else if (Date.now() - lastPrint > 5000 || p.step === p.total) {
          lastPrint = Date.now();
          process.stderr.write(line + '\n');
        }
      },
    });
    if (tty) process.stderr.write('\n');
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  } catch (e) {
    if (tty) process.stderr.write('\n');
    if (e instanceof StudioError && e.code === 'CANCELLED') {
      console.error(`stopped; resume with: atelier train --resume ${path.basename(runDir)}${out !== ws.runs ? ` --out ${out}` : ''}`);
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSig);
  }
}
