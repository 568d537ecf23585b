/**
 * `atelier bench [--quick] [--only a,b] [--sizes 64,128] [--profile]` (= `npm run bench`): prints a table of
 * figures, with the PyTorch peer and the ratio ours/peer where it is measured in the same run,
 * and writes bench/results.json. Medians of repeated runs after warm-up. Timings are reported,
 * never asserted (CI runs --quick to prove the bench works).
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseArgs } from './args';
import { appRoot } from '../engine/core/workspace';
import type { Figure } from '../engine/bench/figure';

type Section = (ctx: { quick: boolean; profile: boolean; sizes: number[] | null; add: (f: Figure) => void; log: (s: string) => void }) => Promise<void>;

const fmt = (v: number | null | undefined, unit = '') => (v == null || !Number.isFinite(v) ? '-' : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3)}${unit}`);

export async function runBenchCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['quick', 'profile', 'json']);
  const quick = !!args.flags.quick;
  const profile = !!args.flags.profile;
  const only = typeof args.flags.only === 'string' ? args.flags.only.split(',') : null;
  // the paper-width sections (pix2pix, cyclegan) run only these image sizes
  const sizes = typeof args.flags.sizes === 'string' ? args.flags.sizes.split(',').map(Number).filter((n) => n > 0) : null;
  const sections = (await import('../engine/bench/sections')).SECTIONS as Record<string, Section>;
  const figures: Figure[] = [];
  const t0 = Date.now();
  // Timings (ours and the peer's, whose OpenMP threads suffer most) mean little on a busy machine.
  const load0 = os.loadavg()[0]!;
  if (load0 > os.cpus().length * 0.5) {
    console.log(`WARNING: load average ${load0.toFixed(1)} on ${os.cpus().length} cpus: other work is running, timings and ratios will be noisy.`);
  }
  for (const [name, fn] of Object.entries(sections)) {
    if (only && !only.includes(name)) continue;
    console.log(`\n== ${name}`);
    const started = Date.now();
    try {
      await fn({
        quick,
        profile,
        sizes,
        log: (s) => console.log(`   ${s}`),
        add: (f) => {
          figures.push(f);
          const ratio = f.ratio != null ? `  x${f.ratio.toFixed(2)} vs peer ${fmt(f.peer, f.unit)}` : '';
          const target = f.target ? `  target ${f.target}${f.met == null ? '' : f.met ? ' (met)' : ' (MISSED)'}` : '';
          console.log(`   ${f.name.padEnd(46)} ${fmt(f.value, f.unit).padStart(10)}${ratio}${target}${f.note ? `  — ${f.note}` : ''}`);
        },
      });
    } catch (e) {
      console.log(`   section failed: ${(e as Error).message}`);
      figures.push({ section: name, name: 'error', value: null, unit: '', note: (e as Error).message });
    }
    console.log(`   (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  const out = {
    date: new Date().toISOString(),
    quick,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), loadAverageAtStart: load0, loadAverageAtEnd: os.loadavg()[0] },
    seconds: (Date.now() - t0) / 1000,
    figures,
  };
  const file = path.join(appRoot(), 'bench', 'results.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`\n${figures.length} figures in ${out.seconds.toFixed(0)} s; written to ${path.relative(process.cwd(), file)}`);
  return figures.some((f) => f.name === 'error') ? 1 : 0;
}
