/**
 * A killed import leaves no dataset: the child runs `atelier dataset import` (tsx) and is
 * SIGKILLed while it writes images; the dataset list must not show it, and the next engine
 * start sweeps the half-built temp folder.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { writeLabeled } from '../../../fixtures/bad-images';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-kill-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('SIGKILL mid-import leaves nothing visible to dataset.list', async () => {
  const src = path.join(tmp, 'src');
  await writeLabeled(src, { classes: ['a', 'b'], perClass: 150, size: 64 });
  const wsRoot = path.join(tmp, 'ws');
  const datasets = path.join(wsRoot, 'datasets');
  const child = spawn(process.execPath, ['bin/atelier.js', 'dataset', 'import', src, '--kind', 'labeled', '--name', 'killed', '--size', '32', '--workspace', wsRoot], {
    cwd: path.resolve('.'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let tempSeen: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const done = [...out.matchAll(/progress importing (\d+)\/(\d+)/g)].map((m) => Number(m[1]));
    if (done.length && Math.max(...done) >= 5 && child.exitCode === null && !child.killed) {
      tempSeen = fs.readdirSync(datasets).filter((n) => n.startsWith('.killed.tmp-'));
      child.kill('SIGKILL');
    }
  });
  const end = await exited;
  expect(end.signal, `child ended on its own (code ${end.code}):\n${out}\n${err}`).toBe('SIGKILL');
  expect(out).not.toMatch(/imported \d+ items as/);
  // It was killed mid-way: its temp folder existed at that moment.
  expect(tempSeen).toHaveLength(1);
  expect(fs.existsSync(path.join(datasets, 'killed'))).toBe(false);

  const eng = new InProcessEngine({ workspaceRoot: wsRoot });
  try {
    const list = await eng.request('dataset.list', {});
    expect(list).toEqual({ ok: true, data: [] });
    const get = await eng.request('dataset.get', { id: 'killed' });
    expect(get.ok).toBe(false);
    // The engine start sweeps the leftover temp folder.
    for (let i = 0; i < 200 && fs.readdirSync(datasets).length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fs.readdirSync(datasets)).toEqual([]);
  } finally {
    await eng.close();
  }
});
