/**
 * `atelier latent interpolate --model B --from S1 --to S2 --steps N --mode slerp|lerp [--label L] --out DIR`
 * `atelier latent directions --model B [--count K] [--samples N] [--space features|output] [--json]`
 * (autoencoders: --from-image A --to-image B instead of seeds)
 */
import path from 'node:path';
import { intFlag, parseArgs } from './args';
import { initBackend } from '../engine/backend';
import { writeFileAtomic } from '../engine/core/fsutil';
import { evictModels, getModel } from '../engine/infer/registry';
import { interpolateLatent, latentDirections } from '../engine/infer/ops';
import { openWorkspace } from '../engine/core/workspace';

const USAGE = [
  'Usage: atelier latent interpolate --model B (--from S1 --to S2 | --from-image A --to-image B) [--steps N] [--mode slerp|lerp] [--label L] --out DIR',
  '       atelier latent directions --model B [--count K] [--samples N] [--seed S] [--space features|output] [--json]',
].join('\n');

export async function runLatentCli(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, ['json', 'help']);
  const model = args.flags.model;
  if (!sub || sub === 'help' || args.flags.help || typeof model !== 'string') {
    console.error(USAGE);
    return sub === 'help' || args.flags.help ? 0 : 2;
  }
  await initBackend();
  const m = await getModel(openWorkspace(), model, 'onnx');
  try {
    if (sub === 'interpolate') {
      const out = args.flags.out;
      if (typeof out !== 'string') throw new Error('--out DIR is required');
      const mode = args.flags.mode === 'lerp' ? 'lerp' : 'slerp';
      const steps = intFlag(args, 'steps', 8)!;
      const label = intFlag(args, 'label');
      const fromImage = typeof args.flags['from-image'] === 'string' ? path.resolve(args.flags['from-image']) : undefined;
      const toImage = typeof args.flags['to-image'] === 'string' ? path.resolve(args.flags['to-image']) : undefined;
      const res = await interpolateLatent(m, {
        ...(fromImage || toImage ? { fromImage, toImage } : { from: { seed: intFlag(args, 'from', 0)! }, to: { seed: intFlag(args, 'to', 1)! } }),
        steps,
        mode,
        ...(label !== undefined ? { label } : {}),
      });
      const files: string[] = [];
      for (let i = 0; i < res.frames.length; i++) {
        const f = path.resolve(out, `frame-${String(i).padStart(3, '0')}.png`);
        await writeFileAtomic(f, res.frames[i]!.png);
        files.push(f);
      }
      if (args.flags.json) console.log(JSON.stringify({ files, z: res.z }));
      else console.log(`Wrote ${files.length} frames (${mode}) to ${path.resolve(out)}.`);
      return 0;
    }
    if (sub === 'directions') {
      const res = await latentDirections(m, {
        count: intFlag(args, 'count', 8)!,
        samples: intFlag(args, 'samples', 256)!,
        seed: intFlag(args, 'seed', 0)!,
        space: args.flags.space === 'output' ? 'output' : 'features',
      });
      if (args.flags.json) console.log(JSON.stringify(res));
      else {
        console.log(`${res.directions.length} directions from ${res.samples} samples (PCA on ${res.space}${res.layer ? ` at ${res.layer}` : ''}):`);
        res.explainedVarianceRatio.forEach((r, i) => console.log(`  #${i}  explained ${(r * 100).toFixed(1)}%  sigma ${res.sigma[i]!.toFixed(3)}`));
      }
      return 0;
    }
    console.error(`Unknown latent command "${sub}".\n${USAGE}`);
    return 2;
  } finally {
    await evictModels();
  }
}
