import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDirBeside, sweepTemp } from '../../../../src/main/engine/core/fsutil';

describe('sweepTemp with two engine hosts on one workspace', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-sweep-'));
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  afterAll(() => {
    sleeper.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('removes leftovers of dead writers and its own, keeps the in-flight writes of a live process', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const live = String(sleeper.pid);
    const mine = await makeTempDirBeside(path.join(dir, 'ours'));
    expect(path.basename(mine)).toMatch(new RegExp(`^\\.ours\\.tmp-p${process.pid}x`));
    const names = {
      liveDir: `.import.tmp-p${live}xAb12Cd`,
      deadDir: `.import2.tmp-p${dead}xAb12Cd`,
      oldDir: '.import3.tmp-Ab12Cd', // no pid: an older build's name, or a delete's trash
      liveFile: `.dataset.json.${live}.deadbeef.tmp`,
      deadFile: `.dataset.json.${dead}.deadbeef.tmp`,
      real: 'keep-me',
    };
    for (const [k, n] of Object.entries(names)) {
      if (k.endsWith('File')) fs.writeFileSync(path.join(dir, n), 'x');
      else fs.mkdirSync(path.join(dir, n));
    }
    const gone = await sweepTemp(dir);
    expect(gone.sort()).toEqual([names.deadDir, names.oldDir, names.deadFile, path.basename(mine)].sort());
    expect(fs.readdirSync(dir).sort()).toEqual([names.liveDir, names.liveFile, names.real].sort());
  });
});
