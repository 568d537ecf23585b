/**
 * atelier eval --model BUNDLE --data DATASET [--split test|train|val] [--limit N] [--samples N]
 *              [--seed S] [--classifier DIR] [--json]
 * Prints the metrics that fit the model kind (evaluateBundle, engine/eval/evaluate.ts) on the
 * dataset's split. Exit 0 on success, 1 when the evaluation fails, 2 on usage errors.
 */
import { parseArgs, intFlag } from './args';
import { evalRequestSchema } from '../../shared/channels/eval';
import { evaluateBundle } from '../engine/eval/evaluate';
import { openWorkspace } from '../engine/core/workspace';

const USAGE = [
  'Usage: atelier eval --model BUNDLE --data DATASET [--split test|train|val] [--limit N] [--samples N] [--seed S] [--classifier DIR] [--json]',
  '  BUNDLE   a bundle id (workspace or shipped models/), or a bundle folder',
  '  DATASET  a workspace dataset id (atelier dataset list; demo sets: atelier dataset demo)',
  'Metrics by kind: cgan conditional accuracy + FD-FashionCNN (vs shuffled-label baseline); pix2pix L1/SSIM vs',
  'input and mean-image baselines; cyclegan transfer rate both ways + cycle/identity L1; autoencoder MSE vs PCA.',
  'FD-FashionCNN is a Fréchet distance in the fashion-classifier\'s features, not FID. Pixel metrics on [0, 1].',
].join('\n');

export async function runEvalCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'help']);
  if (args.flags.help) {
    console.log(USAGE);
    return 0;
  }
  const parsed = evalRequestSchema.safeParse({
    model: args.flags.model,
    dataset: args.flags.data,
    ...(typeof args.flags.split === 'string' ? { split: args.flags.split } : {}),
    ...(intFlag(args, 'limit') !== undefined ? { limit: intFlag(args, 'limit') } : {}),
    ...(intFlag(args, 'samples') !== undefined ? { samples: intFlag(args, 'samples') } : {}),
    ...(intFlag(args, 'seed') !== undefined ? { seed: intFlag(args, 'seed') } : {}),
    ...(typeof args.flags.classifier === 'string' ? { classifier: args.flags.classifier } : {}),
  });
  if (!parsed.success) {
    console.error(parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('\n'));
    console.error(USAGE);
    return 2;
  }
  const req = parsed.data;
  const ws = openWorkspace();
  const json = !!args.flags.json;
  const r = await evaluateBundle(ws, req, {
    progress: (f, m) => {
      if (!json && process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${Math.round(f * 100)}% ${m}`);
    },
  });
  if (!json && process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  if (json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  console.log(`${r.model.id} (${r.model.kind}, ${r.model.imageSize} px) on ${r.dataset.description}`);
  const w = Math.max(...r.metrics.map((m) => m.label.length));
  for (const m of r.metrics) {
    const v = Math.abs(m.value) >= 100 ? m.value.toFixed(1) : m.value.toFixed(4);
    console.log(`  ${m.label.padEnd(w)}  ${v.padStart(9)}  ${m.better === 'none' ? '(reference)' : `(${m.better} is better)`}`);
  }
  for (const n of r.notes) console.log(`  note: ${n}`);
  console.log(`  ${r.durationSec.toFixed(1)} s, seed ${r.seed}`);
  return 0;
}
