/**
 * `atelier export --model B --onnx FILE [--dropout identity|keep] [--json]`: prints the parity figure.
 * `atelier export --model B --pytorch DIR [--data D] [--name N] [--json]`: the reference's checkpoints,
 * dataset layout and train.sh (one GPU, or torchrun on N) for a reference-variant bundle.
 * `atelier export --run R [--step N] --pytorch DIR`: the same from a reference-variant run's checkpoint,
 * trained discriminators included (a run continued from the reference's .pth goes back to it).
 */
import path from 'node:path';
import { intFlag, parseArgs } from './args';
import { initBackend } from '../engine/backend';
import { disposeSource, exportOnnx } from '../engine/export/onnx-export';
import { loadBundleSource, resolveModelRef } from '../engine/infer/registry';
import { defaultExportFile } from '../engine/handlers/export';
import { openWorkspace } from '../engine/core/workspace';

const USAGE = 'Usage: atelier export --model <bundle|folder> [--onnx FILE] [--dropout identity|keep] [--direction AtoB|BtoA] [--json]\n       atelier export --model <bundle|folder> --pytorch DIR [--data DATASET] [--name NAME] [--json]\n       atelier export --run RUN [--step N] --pytorch DIR [--data DATASET] [--name NAME] [--json]   (every network of a reference-variant run, discriminators included)';

async function resolveBundleDir(ws: ReturnType<typeof openWorkspace>, model: string): Promise<string> {
  const r = await resolveModelRef(ws, model);
  if (!r.dir) throw new Error(`"${model}" is an ONNX file already; export needs a bundle with tfjs networks`);
  return r.dir;
}

export async function runExportCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'help']);
  const model = args.flags.model;
  const run = args.flags.run;
  if (args.flags.help || (typeof model !== 'string' && !(typeof run === 'string' && typeof args.flags.pytorch === 'string'))) {
    console.error(USAGE);
    return args.flags.help ? 0 : 2;
  }
  await initBackend();
  const ws = openWorkspace();
  if (typeof args.flags.pytorch === 'string') {
    const { exportPytorch } = await import('../engine/interop/export');
    const { runDirOf } = await import('../engine/train/run-files');
    const source =
      typeof run === 'string'
        ? { runDir: run.includes(path.sep) || run.startsWith('.') ? path.resolve(run) : runDirOf(ws, run), ...(intFlag(args, 'step') !== undefined ? { step: intFlag(args, 'step')! } : {}) }
        : { bundleDir: (await resolveBundleDir(ws, model as string)) };
    const res = await exportPytorch(ws, {
      ...source,
      out: args.flags.pytorch,
      ...(typeof args.flags.data === 'string' ? { dataset: args.flags.data } : {}),
      ...(typeof args.flags.name === 'string' ? { name: args.flags.name } : {}),
    });
    if (args.flags.json) console.log(JSON.stringify(res));
    else {
      console.log(`Wrote the reference's ${res.model} checkpoints for "${res.name}" under ${res.dir}`);
      for (const c of res.checkpoints) console.log(`  ${c.network.padEnd(4)} ${c.file}${c.fresh ? `  (freshly initialised: the ${typeof run === 'string' ? 'run' : 'bundle'} had none)` : ''}`);
      console.log(res.dataset ? `  dataset   ${res.dataset.images} images in ${res.dataset.dir}` : `  dataset   none (${res.datasetNote})`);
      console.log(`  train.sh  ${res.trainScript}   (bash train.sh [NGPUS], from a clone of the reference)`);
    }
    return 0;
  }
  const r = await resolveModelRef(ws, model as string);
  if (!r.dir) throw new Error(`"${model}" is an ONNX file already; export needs a bundle with tfjs networks`);
  const direction = args.flags.direction === 'BtoA' ? 'BtoA' : 'AtoB';
  const file = path.resolve(typeof args.flags.onnx === 'string' ? args.flags.onnx : defaultExportFile(ws, r, direction));
  const src = await loadBundleSource(r.dir, { direction });
  if (args.flags.dropout === 'keep' || args.flags.dropout === 'identity') src.dropout = args.flags.dropout;
  try {
    const res = await exportOnnx(src, file, {
      onStep: (_s, _t, msg) => {
        if (!args.flags.json) process.stderr.write(`  ${msg}\n`);
      },
    });
    if (args.flags.json) console.log(JSON.stringify(res));
    else {
      console.log(res.message);
      console.log(`  files     ${res.files.join(', ')}  (+ ${path.basename(res.sidecar)})`);
      console.log(`  inputs    ${res.inputs.map((i) => `${i.name} ${i.dtype} [${i.shape.join(', ')}]`).join('; ')}`);
      console.log(`  outputs   ${res.outputs.map((i) => `${i.name} ${i.dtype} [${i.shape.join(', ')}]`).join('; ')}`);
      console.log(`  parity    max |diff| ${res.parity.maxAbsDiff.toExponential(2)} (limit ${res.parity.threshold}) ${res.pass ? 'PASS' : 'FAIL'}${res.parity.note ? ` — ${res.parity.note}` : ''}`);
    }
    return res.pass ? 0 : 1;
  } finally {
    disposeSource(src);
  }
}
