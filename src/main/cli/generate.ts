/** `atelier generate --model B [--label L] [--seed S] [--count N] --out DIR`. */
import path from 'node:path';
import { intFlag, parseArgs } from './args';
import { parseEp, setWantedEp } from '../engine/export/providers';
import { epNote } from './translate';
import { initBackend } from '../engine/backend';
import { writeFileAtomic } from '../engine/core/fsutil';
import { evictModels, getModel } from '../engine/infer/registry';
import { generateImages } from '../engine/infer/ops';
import { openWorkspace } from '../engine/core/workspace';
import { NO_GALLERY, recordCliOutputs } from './gallery';
import { stampGenerate } from '../engine/infer/provenance';

const USAGE = 'Usage: atelier generate --model <bundle|folder|file.onnx> [--label L|name] [--seed S] [--count N] [--runtime onnx|tfjs] [--ep cpu|auto|webgpu|dml|coreml] [--no-gallery] --out DIR';

export async function runGenerateCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'help', NO_GALLERY]);
  const model = args.flags.model;
  const out = args.flags.out;
  if (args.flags.help || typeof model !== 'string' || typeof out !== 'string') {
    console.error(USAGE);
    return args.flags.help ? 0 : 2;
  }
  const seed = intFlag(args, 'seed', 0)!;
  const count = intFlag(args, 'count', 1)!;
  if (typeof args.flags.ep === 'string') setWantedEp(parseEp(args.flags.ep));
  await initBackend();
  const ws = openWorkspace();
  const m = await getModel(ws, model, args.flags.runtime === 'tfjs' ? 'tfjs' : 'onnx');
  try {
    let label: number | undefined;
    const l = args.flags.label;
    if (typeof l === 'string') {
      const byName = m.info.classNames?.indexOf(l) ?? -1;
      label = byName >= 0 && !/^\d+$/.test(l) ? byName : Number(l);
      if (!Number.isInteger(label)) throw new Error(`--label needs a class number or name${m.info.classNames ? ` (${m.info.classNames.join(', ')})` : ''}, got "${l}"`);
    }
    const imgs = await generateImages(m, { seed, count, ...(label !== undefined ? { label } : {}) });
    const files: string[] = [];
    for (const im of imgs) {
      const f = path.resolve(out, `${label !== undefined ? `class${label}-` : ''}seed${im.seed}.png`);
      await writeFileAtomic(f, await stampGenerate(m, im, label, model));
      files.push(f);
    }
    await recordCliOutputs(ws, args, files, (line) => void (!args.flags.json && process.stderr.write(`${line}\n`)));
    if (args.flags.json) console.log(JSON.stringify({ files, ...(m.epReport ? { ep: m.epReport } : {}) }));
    else console.log(`Wrote ${files.length} image(s) to ${path.resolve(out)} (${m.runtime}${epNote(m.epReport)}).`);
    return 0;
  } finally {
    await evictModels();
  }
}
