/**
 * `atelier inspect FILE.png [--json]`: the provenance chunk of a PNG Atelier wrote. The file is
 * untrusted: png-provenance reads it with limits and the shared schema; a damaged or forged chunk
 * is a one-line error (exit 1), a PNG without one says so (exit 3). Messages name the file as
 * given, nothing else on disk.
 */
import path from 'node:path';
import { parseArgs } from './args';
import { readProvenanceFile } from '../engine/infer/png-provenance';
import type { Provenance } from '../../shared/provenance';

const USAGE = 'Usage: atelier inspect FILE.png [--json]';

function human(p: Provenance): string[] {
  const m = p.model;
  const lines = [
    `${p.op} by Atelier ${p.app.version} at ${p.createdAt}`,
    `model     ${m.id} (${m.kind}, "${m.name}")${m.step !== undefined ? ` step ${m.step}` : ''}`,
    m.weightsSha256 ? `weights   sha256 ${m.weightsSha256}` : `weights   in training${p.run ? ` (run ${p.run.id})` : ''}, not hashed`,
    `runtime   ${m.runtime} (${m.backend})${m.direction ? `, ${m.direction}` : ''}`,
    `size      ${p.width}x${p.height}`,
  ];
  if (p.input) lines.push(`input     ${p.input.name} (${p.input.width}x${p.input.height}, sha256 ${p.input.sha256})`);
  if (p.scale !== undefined) lines.push(`scale     ${p.scale}${p.tiles && p.tiles > 1 ? `, ${p.tiles} tiles of ${p.tileSize}px overlapping ${p.overlap}px` : ''}`);
  if (p.seed !== undefined) lines.push(`seed      ${p.seed}`);
  if (p.label !== undefined) lines.push(`class     ${p.label}${p.className ? ` (${p.className})` : ''}`);
  if (p.fit) lines.push(`fit       ${p.fit}${p.keepSize === false ? ' (training size kept)' : ''}`);
  if (p.latent) lines.push(`latent    ${p.latent.length} values`);
  const sl = p.sliders;
  if (sl?.pca) lines.push(`pca       ${sl.pca.amounts.map((a, i) => `PC${i + 1} ${a >= 0 ? '+' : ''}${a}σ`).filter((_, i) => sl.pca!.amounts[i] !== 0).join(', ')} (${sl.pca.count} directions, ${sl.pca.space}, ${sl.pca.samples} samples, seed ${sl.pca.seed})`);
  if (sl?.dims) lines.push(`dims      ${sl.dims.length} set`);
  if (sl?.blend) lines.push(`blend     class ${sl.blend.a} -> ${sl.blend.b} at ${sl.blend.t}`);
  if (sl?.labelWeights) lines.push(`classes   weights ${sl.labelWeights.join(', ')}`);
  const ip = p.interpolation;
  if (ip) {
    const pt = (x: typeof ip.from) => ('seed' in x ? `seed ${x.seed}` : 'z' in x ? `a ${x.z.length}-value vector` : `image sha256 ${x.imageSha256.slice(0, 12)}…`);
    lines.push(`path      ${ip.mode} ${pt(ip.from)} -> ${pt(ip.to)}, ${ip.steps} frames${ip.frame !== undefined ? `, frame ${ip.frame}` : ' (strip)'}`);
  }
  return lines;
}

export async function runInspectCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'help']);
  const [file] = args._;
  if (args.flags.help || !file || args._.length > 1) {
    console.error(USAGE);
    return args.flags.help ? 0 : 2;
  }
  let prov: Provenance | null;
  try {
    prov = await readProvenanceFile(path.resolve(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // File-system errors carry the absolute path; say it with the name the user typed.
    if (code === 'ENOENT') console.error(`atelier inspect: ${file}: no such file.`);
    else if (code === 'EISDIR') console.error(`atelier inspect: ${file} is a folder.`);
    else console.error(`atelier inspect: ${file}: ${(e as Error).message}`);
    return 1;
  }
  if (!prov) {
    if (args.flags.json) console.log(JSON.stringify({ file, provenance: null }));
    else console.log(`${file}: no Atelier provenance.`);
    return 3;
  }
  if (args.flags.json) console.log(JSON.stringify({ file, provenance: prov }));
  else console.log([`${file}:`, ...human(prov).map((l) => `  ${l}`)].join('\n'));
  return 0;
}
