/** `atelier translate --model B <in> <out>`: one image (out = file) or a folder (out = folder). */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from './args';
import { initBackend } from '../engine/backend';
import { writeFileAtomic } from '../engine/core/fsutil';
import { getModel, evictModels } from '../engine/infer/registry';
import { translateFolder, translateImage } from '../engine/infer/ops';
import { openWorkspace } from '../engine/core/workspace';
import type { Runtime } from '../engine/infer/model';

const USAGE = 'Usage: atelier translate --model <bundle|folder|file.onnx> [--runtime onnx|tfjs] [--model-size] [--fit fill|cover|contain] [--direction AtoB|BtoA] [--json] <input image|folder> <output file|folder>';

export async function runTranslateCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'model-size', 'help']);
  const model = args.flags.model;
  const [input, output] = args._;
  if (args.flags.help || typeof model !== 'string' || !input || !output) {
    console.error(USAGE);
    return args.flags.help ? 0 : 2;
  }
  const runtime = (args.flags.runtime === 'tfjs' ? 'tfjs' : 'onnx') as Runtime;
  const fit = (['fill', 'cover', 'contain'].includes(String(args.flags.fit)) ? args.flags.fit : 'fill') as 'fill' | 'cover' | 'contain';
  const keepSize = !args.flags['model-size'];
  await initBackend();
  const m = await getModel(openWorkspace(), model, runtime, args.flags.direction === 'BtoA' ? 'BtoA' : 'AtoB');
  try {
    const st = await fs.stat(path.resolve(input));
    if (st.isDirectory()) {
      const res = await translateFolder(m, path.resolve(input), path.resolve(output), {
        keepSize,
        fit,
        onProgress: (done, total, file) => {
          if (!args.flags.json) process.stderr.write(`\r${done}/${total} ${file}`.padEnd(60));
        },
      });
      if (!args.flags.json) process.stderr.write('\n');
      if (args.flags.json) console.log(JSON.stringify(res));
      else {
        console.log(`Translated ${res.written.length} of ${res.total} images into ${res.outDir} (${m.runtime}).`);
        for (const f of res.failed) console.log(`  failed: ${f.file}: ${f.error}`);
      }
      return res.failed.length ? 1 : 0;
    }
    const r = await translateImage(m, path.resolve(input), { keepSize, fit });
    const out = path.resolve(output);
    await writeFileAtomic(out, r.png);
    if (args.flags.json) console.log(JSON.stringify({ file: out, width: r.width, height: r.height, ms: r.ms, runtime: m.runtime }));
    else console.log(`Wrote ${out} (${r.width}x${r.height}, ${r.ms.toFixed(0)} ms, ${m.runtime}).`);
    return 0;
  } finally {
    await evictModels();
  }
}
