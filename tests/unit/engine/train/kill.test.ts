import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../../../src/main/engine/core/workspace';
import { readLog } from '../../../../src/main/engine/train/run-files';
import { createRun } from '../../../../src/main/engine/train/run-create';
import { modelFromCheckpoint } from '../../../../src/main/engine/train/run-promote';
import { trainRun } from '../../../../src/main/engine/train/run';
import { listCheckpoints } from '../../../../src/main/engine/train/checkpoint';
import { useTestBackend } from '../layers/test-backend';

let ws: Workspace;
let root: string;
beforeAll(async () => {
  await useTestBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-kill-'));
  ws = openWorkspace(root);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

it('SIGKILL while a checkpoint is being written leaves the previous checkpoint loadable; training resumes from it', async () => {
  const r = await createRun(ws, { model: 'pix2pix', datasetId: 'synthetic:paired', options: { size: 16, ngf: 4, ndf: 4 }, steps: 3, checkpointEvery: 1, sampleEvery: 100, keepCheckpoints: 5 });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'train-child.ts'), root, r.runDir], {
    env: { ...process.env, ATELIER_TEST_CHECKPOINT_DELAY_MS: '60000', ATELIER_TEST_CHECKPOINT_DELAY_FROM: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child never reached checkpoint 2: ${out} ${err}`)), 90_000);
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('CHECKPOINT-WRITING step-2')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`child exited early: ${out} ${err}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const names = fs.readdirSync(path.join(r.runDir, 'checkpoints'));
  const partial = names.filter((n) => n.startsWith('.step-2.tmp-'));
  expect(partial.length).toBe(1);
  expect(fs.existsSync(path.join(r.runDir, 'checkpoints', partial[0]!, 'state.bin'))).toBe(true);
  expect(fs.existsSync(path.join(r.runDir, 'checkpoints', partial[0]!, 'state.json'))).toBe(false);
  expect((await listCheckpoints(r.runDir)).map((c) => c.step)).toEqual([1]);

  const { model, step } = await modelFromCheckpoint(r.runDir);
  expect(step).toBe(1);
  expect(model.step).toBe(1);
  model.dispose();

  const s = await trainRun(ws, r.runDir);
  expect(s.resumedFrom).toBe(1);
  expect(s.state).toBe('done');
  expect((await readLog(r.runDir)).map((e) => e.step)).toEqual([1, 2, 3]);
  expect(fs.readdirSync(path.join(r.runDir, 'checkpoints')).filter((n) => n.startsWith('.'))).toEqual([]);
});
