/**
 * The scale-out round trip, run for real on the CPU: reference checkpoints -> a studio run (one
 * step) -> `exportPytorch({ runDir })` -> the exported train.sh, run from a stand-in checkout of
 * the reference (fixtures/reference_train_standin.py as train.py: the reference's flags only, its
 * dataset layouts, torch.load(weights_only) + strict loading, DDP) both ways it offers:
 *   bash train.sh     -> python train.py ...                       (one process)
 *   bash train.sh 2   -> torchrun --nproc_per_node 2 train.py ...  (two processes, DDP on gloo)
 * then the checkpoints that run wrote continue in the studio again. The stand-in is not the
 * reference's trainer (which this machine does not have): it proves the script, the flags' names,
 * the layout and the files, not the reference's own DDP code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Workspace } from '../../../../src/main/engine/core/workspace';
import { encodeIdx } from '../../../../src/main/engine/data/idx';
import { checkpointFiles, runFromPytorch } from '../../../../src/main/engine/interop/continue';
import { exportPytorch } from '../../../../src/main/engine/interop/export';
import { readPthFile } from '../../../../src/main/engine/interop/pth';
import { trainRun } from '../../../../src/main/engine/train/run';
import { ddpAvailable, maxAbsDiff, NO_DDP, PEER_PYTHON, runReference, type RefSpec } from './torch';
import { useTempWorkspace } from './workspace';

let dir = '';
let ws: Workspace;
useTempWorkspace('atelier-ddp-', (d, w) => ((dir = d), (ws = w)));

/** A packed RGB dataset: roles a and b per split, random pixels. */
function packedDataset(id: string, kind: 'paired' | 'unpaired', counts: Record<'train' | 'test', number>, size: number): void {
  const d = path.join(ws.datasets, id);
  const packed: Record<string, { images: Record<string, string>; count: Record<string, number> }> = {};
  let seed = 1;
  for (const split of ['train', 'test'] as const) {
    fs.mkdirSync(path.join(d, split), { recursive: true });
    packed[split] = { images: {}, count: {} };
    for (const role of ['a', 'b'] as const) {
      const n = counts[split];
      const data = new Uint8Array(n * size * size * 3).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) & 0xff);
      const rel = `${split}/${role}-images-idx3-ubyte.gz`;
      fs.writeFileSync(path.join(d, rel), encodeIdx({ dims: [n, size, size, 3], data }));
      packed[split].images[role] = rel;
      packed[split].count[role] = n;
    }
  }
  const manifest = { schemaVersion: 1, id, name: id, kind, createdAt: new Date().toISOString(), source: { layout: 'idx', path: null }, image: { width: size, height: size, channels: 3 }, counts: { train: counts.train, test: counts.test, warnings: 0, skipped: 0 }, storage: 'packed', packed, fileHashes: {}, contentHash: '', options: { size, fit: 'fill', background: '#000', seed: 0, testFraction: 0.2 } };
  fs.writeFileSync(path.join(d, 'dataset.json'), JSON.stringify(manifest));
}

/** A checkout of "the reference" holding the stand-in as train.py, and `python` / `torchrun` on PATH running the peer Python. */
function standinCheckout(): { cwd: string; env: NodeJS.ProcessEnv } {
  const cwd = path.join(dir, 'reference-checkout');
  const bin = path.join(dir, 'bin');
  if (!fs.existsSync(cwd)) {
    fs.mkdirSync(cwd);
    fs.mkdirSync(bin);
    const fixtures = path.join(__dirname, 'fixtures');
    fs.copyFileSync(path.join(fixtures, 'reference_train_standin.py'), path.join(cwd, 'train.py'));
    fs.copyFileSync(path.join(fixtures, 'reference_nets.py'), path.join(cwd, 'reference_nets.py'));
    fs.writeFileSync(path.join(bin, 'python'), `#!/bin/sh\nexec "${PEER_PYTHON}" "$@"\n`, { mode: 0o755 });
    // torch's own launcher module, which the torchrun command runs. Debian's torch 1.13 on Python
    // 3.11 cannot parse the launcher's default --redirects/--tee "0" (Std.from_str finds no member
    // for 0 under 3.11's flag iteration and returns None); giving them as 1 (stdout) sidesteps it
    // and changes nothing else. train.sh's own arguments pass through untouched.
    // The rendezvous port comes from the test (a free one per run): torchrun's fixed default 29500
    // can still be held by the previous run's sockets, or by anything else on a shared CI machine,
    // and a worker that reaches a stranger's store waits instead of failing.
    fs.writeFileSync(path.join(bin, 'torchrun'), `#!/bin/sh\nexec "${PEER_PYTHON}" -m torch.distributed.run --redirects 1 --tee 1 --master_addr 127.0.0.1 --master_port "$STANDIN_MASTER_PORT" "$@"\n`, { mode: 0o755 });
  }
  return { cwd, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, OMP_NUM_THREADS: '1', CUDA_VISIBLE_DEVICES: '' } };
}

const HAS_TIMEOUT = spawnSync('timeout', ['--version']).status === 0;

/** A TCP port nobody listens on now: the OS picks it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function runTrainSh(script: string, args: string[], steps: number): Promise<{ world_size: number; backend: string | null; steps: number; dataset: number; ranks_agree: boolean; model: string }> {
  const { cwd, env } = standinCheckout();
  const port = await freePort();
  try {
    // Under coreutils' timeout where there is one (it signals its whole process group): a hung
    // rank (python under torchrun under bash) is killed with the script instead of outliving the
    // test, as it did when only bash got the signal.
    const [cmd, argv] = HAS_TIMEOUT ? ['timeout', ['-k', '5', '230', 'bash', script, ...args]] : ['bash', [script, ...args]];
    execFileSync(cmd, argv, { cwd, env: { ...env, STANDIN_STEPS: String(steps), STANDIN_MASTER_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  } catch (e) {
    // What the trainer printed says why (a timeout alone says nothing).
    const err = e as { message: string; stdout?: Buffer; stderr?: Buffer };
    const tail = (b?: Buffer): string => (b ? b.toString('utf8').slice(-3000) : '');
    throw new Error(`train.sh ${args.join(' ')} failed: ${err.message}\n--- stdout\n${tail(err.stdout)}\n--- stderr\n${tail(err.stderr)}`);
  }
  const report = path.join(path.dirname(script), 'checkpoints');
  const name = fs.readdirSync(report)[0]!;
  return JSON.parse(fs.readFileSync(path.join(report, name, 'standin-report.json'), 'utf8'));
}

async function maxChange(a: string, b: string): Promise<number> {
  const x = await readPthFile(a);
  const y = await readPthFile(b);
  let m = 0;
  for (const [k, t] of x.tensors) if (!k.endsWith('num_batches_tracked')) m = Math.max(m, maxAbsDiff(y.tensors.get(k)!.data, t.data));
  return m;
}

describe.skipIf(!ddpAvailable)(`scale out and back: train.sh on one process and on torchrun DDP (gloo, 2 processes)${NO_DDP}`, () => {
  const cases: { kind: string; dataset: 'paired' | 'unpaired'; specs: RefSpec[]; model: string }[] = [
    {
      kind: 'pix2pix',
      dataset: 'paired',
      model: 'pix2pix',
      // Batch norm: DDP broadcasts rank 0's running statistics; dropout on (the reference's pix2pix default).
      specs: [
        { name: 'latest_net_G', net: 'resnet_6blocks', norm: 'batch', ngf: 2, size: 32, inc: 3, outc: 3, seed: 91, dropout: true },
        { name: 'latest_net_D', net: 'basic', norm: 'batch', ngf: 2, size: 32, inc: 6, outc: 1, seed: 92 },
      ],
    },
    {
      kind: 'cyclegan',
      dataset: 'unpaired',
      model: 'cycle_gan',
      specs: [
        { name: 'latest_net_G_A', net: 'resnet_6blocks', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 3, seed: 93 },
        { name: 'latest_net_G_B', net: 'resnet_6blocks', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 3, seed: 94 },
        { name: 'latest_net_D_A', net: 'basic', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 1, seed: 95 },
        { name: 'latest_net_D_B', net: 'basic', norm: 'instance', ngf: 2, size: 32, inc: 3, outc: 1, seed: 96 },
      ],
    },
  ];
  for (const c of cases) {
    it(`${c.kind}: studio run -> train.sh (python, then torchrun x2) -> studio run again`, async () => {
      const src = path.join(dir, `${c.kind}-src`);
      fs.mkdirSync(src);
      runReference('make', src, c.specs);
      const datasetId = `${c.kind}-data`;
      packedDataset(datasetId, c.dataset, { train: 4, test: 1 }, 32);
      // In: one studio step on the files, then out to the reference's layout with train.sh.
      const r = await runFromPytorch(ws, { files: await checkpointFiles([src]), datasetId, steps: 1, sampleEvery: 100 });
      expect((await trainRun(ws, r.runDir)).step).toBe(1);
      const out = path.join(dir, `${c.kind}-cluster`);
      const res = await exportPytorch(ws, { runDir: r.runDir, out, name: c.kind });
      expect(res.dataset).toMatchObject({ id: datasetId });
      expect(res.commands.multiGpu).toMatch(new RegExp(`^torchrun --nproc_per_node "\\$NGPUS" train\\.py .*--model ${c.model} .*--continue_train --epoch latest$`));
      const ck = path.join(out, 'checkpoints', c.kind);
      const exported = path.join(dir, `${c.kind}-exported`);
      fs.cpSync(ck, exported, { recursive: true });

      // One process: python train.py ... (the one-GPU line).
      expect(await runTrainSh(res.trainScript, [], 1)).toEqual({ world_size: 1, backend: null, steps: 1, dataset: 4, ranks_agree: true, model: c.model });
      // Two processes under torchrun: DDP on gloo, a DistributedSampler, replicas equal at the end.
      expect(await runTrainSh(res.trainScript, ['2'], 2)).toEqual({ world_size: 2, backend: 'gloo', steps: 2, dataset: 4, ranks_agree: true, model: c.model });
      const gen = c.specs[0]!.name;
      expect(await maxChange(path.join(exported, `${gen}.pth`), path.join(ck, `${gen}.pth`))).toBeGreaterThan(0);

      // Back in the studio: the checkpoints the cluster wrote continue as a run.
      const back = await runFromPytorch(ws, { files: await checkpointFiles([ck]), datasetId, steps: 1, sampleEvery: 100 });
      expect(back.origin.freshNetworks).toEqual([]);
      const sum = await trainRun(ws, back.runDir);
      expect(sum).toMatchObject({ resumedFrom: 0, step: 1, state: 'done' });
      expect(Object.values(sum.finalLosses).every(Number.isFinite)).toBe(true);
    }, 600_000);
  }
});
