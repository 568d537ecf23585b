/**
 * `atelier bench --quick` runs end to end and writes figures for every section. Timings are
 * printed, never asserted here (they go in the bench's own table); what is asserted is that the
 * bench works and its correctness figures (tensor drift, parity of kernels) hold.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');

describe('atelier bench --quick', () => {
  it('prints and writes figures for every section', async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-bench-'));
    const results = path.join(ROOT, 'bench', 'results.json');
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin', 'atelier.js'), 'bench', '--quick'], {
      cwd: ROOT,
      // The PyTorch peer is measured by the full bench only; quick mode in CI skips it.
      env: { ...process.env, ATELIER_PEER_PYTHON: path.join(copy, 'no-python') },
      maxBuffer: 32 << 20,
      timeout: 20 * 60_000,
    });
    expect(stdout).toContain('figures in');
    const out = JSON.parse(fs.readFileSync(results, 'utf8')) as { quick: boolean; figures: { section: string; name: string; value: number | null }[] };
    expect(out.quick).toBe(true);
    const sections = new Set(out.figures.map((f) => f.section));
    for (const s of ['pix2pix', 'cyclegan', 'models', 'memory', 'kernels', 'inference', 'resolution', 'analysis', 'eventloop']) expect(sections, s).toContain(s);
    expect(out.figures.filter((f) => f.name === 'error')).toEqual([]);
    for (const f of out.figures) if (f.section !== 'memory') expect(f.value === null || Number.isFinite(f.value), f.name).toBe(true);
    const drift = out.figures.find((f) => f.name.startsWith('tensor count drift'))!;
    expect(drift.value).toBe(0);
  }, 25 * 60_000);
});
