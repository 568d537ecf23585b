import { defineConfig } from 'vitest/config';

// Three projects, one run: engine/shared/main unit tests in Node, renderer components in jsdom,
// and the browser end-to-end suite (Chromium via playwright-core against `atelier serve`).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
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
        esbuild: { jsx: 'automatic' },
        test: {
          name: 'renderer',
          environment: 'jsdom',
          include: ['tests/unit/renderer/**/*.test.{ts,tsx}'],
        },
      },
      {
        test: {
          name: 'e2e',
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
