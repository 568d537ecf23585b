/**
 * One tiled translation in a fresh process, for the peak-RSS figure of `atelier bench`
 * (section resolution): loads an exported ONNX translator as the CLI does (no tfjs), translates
 * --image at its own size in tiles, writes --out, prints JSON with the process's peak RSS.
 *
 *   node --import tsx scripts/bench-tiled-rss.ts --onnx F.onnx --image IN.png --out OUT.png [--tile 512] [--overlap 64] [--memory MB]
 */
import fs from 'node:fs';
import { parseArgs, intFlag } from '../src/main/cli/args';
import { InferenceModel } from '../src/main/engine/infer/model';
import { translateImage } from '../src/main/engine/infer/ops';

const args = parseArgs(process.argv.slice(2));
const onnx = String(args.flags.onnx);
const image = String(args.flags.image);
const out = String(args.flags.out);
const tile = intFlag(args, 'tile');
const overlap = intFlag(args, 'overlap');
const memory = intFlag(args, 'memory');
const m = await InferenceModel.fromOnnxFile(onnx);
await m.warm();
const baseline = process.memoryUsage().rss;
const t0 = performance.now();
const r = await translateImage(m, image, {
  ...(tile !== undefined ? { tile } : {}),
  ...(overlap !== undefined ? { overlap } : {}),
  ...(memory !== undefined ? { memoryBudget: memory * 1024 * 1024 } : {}),
});
const ms = performance.now() - t0;
fs.writeFileSync(out, r.png);
await m.dispose();
const mib = (b: number) => Math.round(b / (1024 * 1024));
console.log(JSON.stringify({ maxRssMiB: mib(process.resourceUsage().maxRSS * 1024), baselineRssMiB: mib(baseline), ms, tiles: r.tiles, tileSize: r.tileSize, width: r.width, height: r.height }));
