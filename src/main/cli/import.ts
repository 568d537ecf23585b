/**
 * `atelier import pytorch FILE.pth... [--netG auto|resnet_9blocks|resnet_6blocks|unet_256|unet_128]
 *  [--norm auto|instance|batch] [--ngf N] [--name NAME] [--size S] [--mode eval|train] [--json]`:
 * the reference implementation's checkpoints -> a bundle with its ONNX export and parity figure.
 */
import { parseArgs, intFlag } from './args';
import { initBackend } from '../engine/backend';
import { openWorkspace } from '../engine/core/workspace';
import { importPytorch } from '../engine/interop/import';
import type { RefGenerator, RefNorm } from '../engine/interop/reference-networks';

const USAGE = `Usage: atelier import pytorch <file.pth>... [--netG auto|resnet_9blocks|resnet_6blocks|unet_256|unet_128]
         [--norm auto|instance|batch] [--ngf N] [--name NAME] [--size S] [--mode eval|train] [--json]
  Files as the reference names them: latest_net_G.pth (pix2pix), or latest_net_G_A.pth and
  latest_net_G_B.pth (CycleGAN, one two-direction bundle); *_net_D*.pth may come along.
  Nothing in a file is ever run: only plain state dicts are read, anything else is refused.
  --mode train: the reference's test.py without --eval (per-image batch statistics, dropout on).`;

const NETS = ['auto', 'resnet_9blocks', 'resnet_6blocks', 'unet_256', 'unet_128'];

export async function runImportCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['json', 'help']);
  const [what, ...files] = args._;
  if (args.flags.help || what !== 'pytorch' || !files.length) {
    console.error(USAGE);
    return args.flags.help ? 0 : 2;
  }
  const netG = typeof args.flags.netG === 'string' ? args.flags.netG : 'auto';
  const norm = typeof args.flags.norm === 'string' ? args.flags.norm : 'auto';
  const mode = typeof args.flags.mode === 'string' ? args.flags.mode : 'eval';
  if (!NETS.includes(netG)) throw new Error(`--netG must be one of ${NETS.join(', ')}`);
  if (!['auto', 'instance', 'batch'].includes(norm)) throw new Error('--norm must be auto, instance or batch');
  if (mode !== 'eval' && mode !== 'train') throw new Error('--mode must be eval or train');
  await initBackend();
  const res = await importPytorch(openWorkspace(), {
    files,
    netG: netG as RefGenerator | 'auto',
    norm: norm as RefNorm | 'auto',
    ngf: intFlag(args, 'ngf'),
    size: intFlag(args, 'size'),
    name: typeof args.flags.name === 'string' ? args.flags.name : undefined,
    mode,
    onStep: (_s, _t, msg) => {
      if (!args.flags.json) process.stderr.write(`  ${msg}\n`);
    },
  });
  if (args.flags.json) console.log(JSON.stringify(res));
  else {
    console.log(`Imported ${res.kind} bundle "${res.id}" (${res.mode} mode) at ${res.dir}`);
    for (const n of res.networks) console.log(`  ${n.name.padEnd(4)} ${n.detected}  sha256 ${n.sha256.slice(0, 16)}…  (${n.format})`);
    for (const o of res.onnx) console.log(`  onnx ${o.direction}  max |diff| ${o.maxAbsDiff.toExponential(2)} ${o.pass ? 'PASS' : 'FAIL'}  ${o.file}`);
  }
  return res.pass ? 0 : 1;
}
