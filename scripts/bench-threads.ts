/**
 * 1 vs 2 wasm threads: pix2pix-shaped convolutions and the pix2pix training step (ngf/ndf 64,
 * 3-layer PatchGAN, batch 1), each thread count in its own process, alternating for `--rounds`
 * rounds so both see the same machine load. Prints medians and the load average.
 *
 *   npx tsx scripts/bench-threads.ts [--sizes 64,128] [--rounds 3] [--steps 3] [--conv-reps 10] [--no-convs] [--no-train]
 *
 * Wall time on a shared machine is noisy: read cpu/wall (about 2 when both threads are busy) and
 * the main thread's CPU time per call (the critical path; ~ wall time on an idle machine).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureThreadsHere, type CpuFigure, type ThreadsHereResult } from '../src/main/engine/threads/bench';

const argv = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const sizes = arg('sizes', '64,128').split(',').map(Number);
const rounds = Number(arg('rounds', '3'));
const steps = Number(arg('steps', '3'));
const convReps = Number(arg('conv-reps', '10'));
const convs = !argv.includes('--no-convs');
const train = !argv.includes('--no-train');

if (argv.includes('--child')) {
  const r = await measureThreadsHere({ sizes, convReps, steps, warmup: 1, convs, train });
  console.log('RESULT ' + JSON.stringify(r));
} else {
  const self = fileURLToPath(import.meta.url);
  const runChild = (threads: number) =>
    new Promise<ThreadsHereResult>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', self, '--child', ...argv], {
        env: { ...process.env, ATELIER_BACKEND: 'wasm', ATELIER_WASM_THREADS: String(threads), VITEST: '' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('error', reject);
      p.on('exit', (code) => {
        const line = out.split('\n').find((l) => l.startsWith('RESULT '));
        if (code !== 0 || !line) return reject(new Error(`child (${threads} threads) exited ${code}: ${out.slice(-500)}`));
        resolve(JSON.parse(line.slice(7)) as ThreadsHereResult);
      });
    });

  const results: Record<number, ThreadsHereResult[]> = { 1: [], 2: [] };
  const loads: number[][] = [os.loadavg()];
  console.log(`cpus ${os.cpus().length}, load average at start ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 ? [2, 1] : [1, 2]) {
      const res = await runChild(t);
      results[t]!.push(res);
      loads.push(os.loadavg());
      console.log(`round ${r + 1} threads=${res.threads} (${res.reason}) load ${res.loadavg.map((v) => v.toFixed(2)).join(' ')} drift ${res.tensorDrift}`);
    }
  }
  const med = (xs: (number | null)[]) => {
    const s = xs.filter((v): v is number => v != null).sort((a, b) => a - b);
    if (!s.length) return null;
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const f = (v: number | null, d = 0) => (v == null ? '-' : v.toFixed(d));
  const names = results[1]![0]!.figures.map((x) => x.name);
  const pick = (t: number, name: string, k: keyof CpuFigure) => med(results[t]!.map((r) => r.figures.find((x) => x.name === name)?.[k] as number | null));
  console.log(
    '\n' +
      'figure'.padEnd(32) +
      ' | 1 thread: wall  cpu  main | 2 threads: wall  cpu/wall  main  other | wall 1/2  main 1/2',
  );
  for (const n of names) {
    const w1 = pick(1, n, 'wallMs');
    const w2 = pick(2, n, 'wallMs');
    const m1 = pick(1, n, 'mainCpuMs');
    const m2 = pick(2, n, 'mainCpuMs');
    console.log(
      `${n.padEnd(32)} | ${f(w1).padStart(14)} ${f(pick(1, n, 'cpuMs')).padStart(5)} ${f(m1).padStart(5)} | ${f(w2).padStart(15)} ${f(pick(2, n, 'cpuPerWall'), 2).padStart(9)} ${f(m2).padStart(5)} ${f(pick(2, n, 'otherCpuMs')).padStart(6)} | ${w1 && w2 ? (w1 / w2).toFixed(2) : '-'}`.padEnd(0) +
        `x  ${m1 && m2 ? (m1 / m2).toFixed(2) : '-'}x`,
    );
  }
  console.log(`(ms per call, medians over ${rounds} rounds; 1-thread cpu/wall medians: ${names.map((n) => f(pick(1, n, 'cpuPerWall'), 2)).join(' ')})`);
  console.log(`load averages seen: ${loads.map((l) => l[0]!.toFixed(1)).join(' ')}`);
}
