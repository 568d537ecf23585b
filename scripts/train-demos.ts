// Train the shipped demo models into models/ (reproducible from --seed), export each to ONNX
// (parity < 1e-4), evaluate it with the project's eval code and write its model card
// (models/<name>/README.md + card.json).
//
// Usage: npx tsx scripts/train-demos.ts [--only classifier,cgan,autoencoder,pix2pix,cyclegan]
//                                       [--seed 0] [--out models] [--steps-scale 1] [--limit N (smoke)]
//                                       [--phase all|train|card] [--max-minutes M]
//                                       [--checkpoints DIR] [--checkpoint-minutes M]  (full checkpoints; --set '{"resume":true}' continues from the newest)
//                                       [--set '{"ngf":32}'] [--steps N]   (experiments: option overrides, step count)  (card: evaluate existing bundles only)
// Needs the full Fashion-MNIST (Debian dataset-fashion-mnist, or ATELIER_FASHION_MNIST_DIR).
// Stages run in the order given; the classifier must exist before the others (they are
// measured with it). Each stage is a separate step so they can run as separate processes.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../src/main/engine/backend';
import { runStage, STAGES, type StageName } from '../src/main/engine/eval/demos';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const only = (flag('only') ?? STAGES.join(',')).split(',').filter(Boolean) as StageName[];
for (const s of only) if (!STAGES.includes(s)) throw new Error(`unknown stage ${s}; stages: ${STAGES.join(', ')}`);
const seed = Number(flag('seed') ?? 0);
const out = path.resolve(flag('out') ?? 'models');
const stepsScale = Number(flag('steps-scale') ?? 1);
const limit = flag('limit') ? Number(flag('limit')) : undefined;
const maxMinutes = flag('max-minutes') ? Number(flag('max-minutes')) : undefined;
const overrides = flag('set') ? (JSON.parse(flag('set')!) as Record<string, unknown>) : undefined;
const steps = flag('steps') ? Number(flag('steps')) : undefined;
const checkpoints = flag('checkpoints') ? path.resolve(flag('checkpoints')!) : undefined;
const checkpointMinutes = flag('checkpoint-minutes') ? Number(flag('checkpoint-minutes')) : undefined;
const phase = (flag('phase') ?? 'all') as 'train' | 'card' | 'all';
const info = await initBackend();
console.error(`backend ${info.backend} (${tf.getBackend()}), ${os.cpus().length} cpus, load ${os.loadavg()[0]!.toFixed(1)}`);
await fsp.mkdir(out, { recursive: true });
for (const s of only) {
  const t0 = Date.now();
  console.error(`== ${s}`);
  const r = await runStage(s, { out, seed, stepsScale, ...(limit ? { limit } : {}), ...(maxMinutes ? { maxMinutes } : {}), ...(overrides ? { overrides } : {}), ...(steps ? { steps } : {}), ...(checkpoints ? { checkpoints } : {}), ...(checkpointMinutes ? { checkpointMinutes } : {}), phase, log: (m) => console.error(`[${s}] ${m}`) });
  console.error(`== ${s} done in ${((Date.now() - t0) / 60000).toFixed(1)} min: ${JSON.stringify('keyMetric' in r ? r.keyMetric : r)}`);
}
