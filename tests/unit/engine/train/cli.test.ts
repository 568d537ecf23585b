import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-train-cli-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const bin = path.resolve(__dirname, '../../../../bin/atelier.js');

function atelier(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, ATELIER_WORKSPACE: root, ATELIER_BACKEND: process.env.ATELIER_TEST_BACKEND ?? 'wasm' },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

it('atelier train prints a JSON summary; --resume continues the run; bad options are named', () => {
  const r = atelier(['train', '--model', 'autoencoder', '--data', 'synthetic:images', '--size', '16', '--steps', '3', '--option', 'latent=4', '--option', 'ngf=4', '--checkpoint-every', '2']);
  expect(r.status, r.stderr).toBe(0);
  const s = JSON.parse(r.stdout);
  expect(s.state).toBe('done');
  expect(s.step).toBe(3);
  expect(Object.keys(s.finalLosses)).toEqual(['recon']);
  expect(fs.existsSync(path.join(root, 'bundles', s.bundleId, 'bundle.json'))).toBe(true);
  expect(r.stderr).toContain('step 3/3');
  const again = atelier(['train', '--resume', s.runId, '--json']);
  expect(again.status, again.stderr).toBe(0);
  expect(JSON.parse(again.stdout).resumedFrom).toBe(3);
  const more = atelier(['train', '--resume', s.runId, '--steps', '5', '--json']);
  expect(more.status, more.stderr).toBe(0);
  expect(JSON.parse(more.stdout)).toMatchObject({ resumedFrom: 3, step: 5, totalSteps: 5 });
  const bad = atelier(['train', '--model', 'pix2pix', '--data', 'synthetic:paired', '--option', 'lambdaL2=3']);
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toContain('Unknown option "lambdaL2"');
  const help = atelier(['train', '--model', 'cyclegan', '--help']);
  expect(help.stdout).toContain('lambdaIdentity');
});
