import { defineConfig } from 'vitest/config';

// Three projects, one run: engine/shared/main unit tests in Node, renderer components in jsdom,
// and the browser end-to-end suite (Chromium via playwright-core against `atelier serve`).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          environment: 'node',
          include: ['tests/unit/**/*.test.ts'],
          exclude: ['tests/unit/renderer/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The engine is CPU-bound (wasm); two cores, so two workers at most.
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'renderer',
          sequence: { groupOrder: 1 },
          environment: 'jsdom',
          include: ['tests/unit/renderer/**/*.test.{ts,tsx}'],
        },
      },
      {
        test: {
          name: 'e2e',
          // After the unit suites: the browser tests want the machine to themselves.
          sequence: { groupOrder: 2 },
          environment: 'node',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          globalSetup: ['tests/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
