/**
 * `atelier translate --model B IN OUT [--scale native|model|N] [--tile N] [--overlap N]`: one image
 * (OUT = file, with IN's width and height) or a folder (OUT = folder; `--suffix S` with OUT = IN
 * saves next to the originals).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, intFlag } from './args';
import { parseEp, setWantedEp, type EpReport } from '../engine/export/providers';
import { initBackend } from '../engine/backend';
import { writeFileAtomic } from '../engine/core/fsutil';
import { getModel, evictModels } from '../engine/infer/registry';
import { translateFolder, translateImage, type TranslateOptions } from '../engine/infer/ops';
import { parseScale } from '../engine/infer/resolution';
import { stampTranslate } from '../engine/infer/provenance';
import { openWorkspace } from '../engine/core/workspace';
import { NO_GALLERY, recordCliOutputs } from './gallery';
import type { Runtime } from '../engine/infer/model';

const USAGE = `Usage: atelier translate --model <bundle|folder|file.onnx> [options] <input image|folder> <output file|folder>
  --scale native|model|N   run at the image's own size (default), the model's training size, or long side N
  --tile N --overlap N     tile side and overlap in pixels (default: tiles only above the memory budget)
  --memory MB              activation memory budget for one pass (default: a quarter of free memory, 256..512)
  --ep cpu|auto|webgpu|dml|coreml  onnxruntime execution provider (default cpu; a GPU one is kept
                           only if it matches cpu within 1e-3 on the model's test input)
  --runtime onnx|tfjs      (default onnx)    --direction AtoB|BtoA (cyclegan)
  --fit fill|cover|contain with --scale model: how the image meets the square
  --suffix S               folder: append S to each name (needed to save into the input folder)
  --no-gallery             do not list the outputs in the workspace's Gallery (listed by default; the files stay here)
  --json                   machine-readable result`;

/** ", ep webgpu (|Δ| 2e-7 vs cpu)" when a provider other than cpu was asked for. */
export function epNote(r: EpReport | null): string {
  if (!r || r.requested === 'cpu') return '';
  return `, ep ${r.used}${r.maxAbsDiff !== undefined ? ` (|Δ| ${r.maxAbsDiff.toExponential(1)} vs cpu${r.used === 'cpu' ? `, over ${r.tolerance}: ${r.requested} refused` : ''})` : ` (${r.requested} could not start)`}`;
}

export async function runTranslateCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'model-size', 'help', NO_GALLERY]);
  const model = args.flags.model;
  const [input, output] = args._;
  if (args.flags.help || typeof model !== 'string' || !input || !output) {
    console.error(USAGE);
    return args.flags.help ? 0 : 2;
  }
  const runtime = (args.flags.runtime === 'tfjs' ? 'tfjs' : 'onnx') as Runtime;
  if (typeof args.flags.ep === 'string') setWantedEp(parseEp(args.flags.ep));
  const fit = (['fill', 'cover', 'contain'].includes(String(args.flags.fit)) ? args.flags.fit : 'fill') as 'fill' | 'cover' | 'contain';
  let opts: TranslateOptions;
  try {
    // --model-size is the old spelling of --scale model.
    const scaleFlag = args.flags['model-size'] ? 'model' : args.flags.scale;
    const tile = intFlag(args, 'tile');
    const overlap = intFlag(args, 'overlap');
    const memory = intFlag(args, 'memory');
    opts = {
      fit,
      ...(scaleFlag !== undefined ? { scale: parseScale(scaleFlag) } : {}),
      ...(tile !== undefined ? { tile } : {}),
      ...(overlap !== undefined ? { overlap } : {}),
      ...(memory !== undefined ? { memoryBudget: memory * 1024 * 1024 } : {}),
    };
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  await initBackend();
  const direction = args.flags.direction === 'BtoA' ? 'BtoA' : 'AtoB';
  const ws = openWorkspace();
  const m = await getModel(ws, model, runtime, direction);
  const stampExtra = { ref: model, direction, fit: opts.fit ?? 'fill', keepSize: true } as const;
  const quiet = !!args.flags.json;
  const say = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  try {
    const st = await fs.stat(path.resolve(input));
    if (st.isDirectory()) {
      const suffix = typeof args.flags.suffix === 'string' ? args.flags.suffix : undefined;
      const res = await translateFolder(m, path.resolve(input), path.resolve(output), {
        ...opts,
        ...(suffix ? { suffix } : {}),
        stamp: stampExtra,
        onProgress: (done, total, file) => {
          if (!quiet) process.stderr.write(`\r${done}/${total} ${file}`.padEnd(60));
        },
      });
      if (!quiet) process.stderr.write('\n');
      await recordCliOutputs(ws, args, res.written, say);
      if (quiet) console.log(JSON.stringify(res));
      else {
        console.log(`Translated ${res.written.length} of ${res.total} images into ${res.outDir} (${m.runtime}).`);
        for (const f of res.failed) console.log(`  failed: ${f.file}: ${f.error}`);
      }
      return res.failed.length ? 1 : 0;
    }
    const r = await translateImage(m, path.resolve(input), {
      ...opts,
      onTile: (done, total) => {
        if (!quiet && total > 1) process.stderr.write(`\rtile ${done}/${total}`.padEnd(30) + (done === total ? '\n' : ''));
      },
    });
    const out = path.resolve(output);
    await writeFileAtomic(out, await stampTranslate(m, path.resolve(input), r, stampExtra));
    await recordCliOutputs(ws, args, [out], say);
    if (r.warning) say(`Warning: ${r.warning}`);
    for (const n of r.notes) say(`Note: ${n}`);
    const { png: _png, ...facts } = r;
    if (quiet) console.log(JSON.stringify({ file: out, ...facts, runtime: m.runtime, ...(m.epReport ? { ep: m.epReport } : {}) }));
    else {
      const how = r.tiles > 1 ? `, ${r.tiles} tiles of ${r.tileSize}px overlapping ${r.overlap}px` : '';
      const at = r.workWidth !== r.width || r.workHeight !== r.height ? ` (ran at ${r.workWidth}x${r.workHeight})` : '';
      console.log(`Wrote ${out} (${r.width}x${r.height}${at}${how}, ${r.ms.toFixed(0)} ms, ${m.runtime}${epNote(m.epReport)}).`);
    }
    return 0;
  } finally {
    await evictModels();
  }
}
