#!/usr/bin/env node
/**
 * `npm test`: every suite in one vitest run (unit, renderer, e2e in Chromium, Electron when a
 * binary exists), then one closing line that counts them all: `N passed, N failed, N skipped`.
 * Extra arguments go to vitest (e.g. `npm test -- --project unit`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, '.vitest-results.json');
fs.rmSync(out, { force: true });
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.CI ? '0' : process.env.FORCE_COLOR } });
child.on('exit', (code, signal) => {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  try {
    const r = JSON.parse(fs.readFileSync(out, 'utf8'));
    passed = r.numPassedTests;
    failed = r.numFailedTests;
    skipped = r.numPendingTests + (r.numTodoTests ?? 0);
    // A file that failed to load has no tests: count it as a failure, not as nothing.
    for (const f of r.testResults ?? []) if (f.status === 'failed' && (!f.assertionResults || f.assertionResults.length === 0)) failed++;
    // Every skip says why in its title (tests/unit/hygiene.test.ts checks the source; this checks
    // what actually skipped): a skip without a reason counts as a failure.
    // (Not under -t: a name filter skips every test it does not match.)
    const filtered = process.argv.slice(2).some((a) => a === '-t' || a.startsWith('--testNamePattern') || a.startsWith('-t='));
    const unexplained = filtered ? [] : (r.testResults ?? []).flatMap((f) => (f.assertionResults ?? []).filter((a) => (a.status === 'pending' || a.status === 'skipped' || a.status === 'todo') && !/skip/i.test(a.fullName ?? a.title ?? '')).map((a) => `${path.relative(root, f.name)}: ${a.fullName ?? a.title}`));
    if (unexplained.length) {
      console.log(`\nSkipped without a reason in the title (say "skipped: why"):\n  ${unexplained.join('\n  ')}`);
      failed += unexplained.length;
    }
  } catch {
    failed = Math.max(failed, 1);
  }
  const exit = signal ? 1 : code ?? 1;
  if (exit !== 0 && failed === 0) failed = 1;
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(exit !== 0 ? exit : failed ? 1 : 0);
});
