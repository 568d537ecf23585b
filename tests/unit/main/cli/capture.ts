/** What a CLI command printed, captured for the CLI tests: console.log lines, and console.error plus raw stderr writes. */
import { vi } from 'vitest';

export interface Captured {
  out: string[];
  err: string[];
}

/** Spies on the console and stderr until `vi.restoreAllMocks()` (the tests' afterEach). */
export function captureConsole(): Captured {
  const c: Captured = { out: [], err: [] };
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void c.out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void c.err.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (c.err.push(String(s)), true));
  return c;
}
