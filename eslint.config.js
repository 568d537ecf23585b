// Lint enforces the layer arrows of DESIGN.md §1 as an allowlist per layer (VS Code's
// code-layering rule): LAYERS below names, for each folder, what it may import; a wrong arrow
// fails lint with the allowed list in the message. The first matching layer wins.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import local from './eslint-local/code-layering.js';

const shared = 'src/shared/**';
const nativeOrMl = ['@tensorflow/*', 'onnxruntime-node', 'sharp', 'webgpu'];
const noElectron = { deny: ['electron'], why: 'The engine runs in plain Node (utility process, serve child, CLI, tests): never import electron.' };

const LAYERS = [
  { name: 'shared', files: 'src/shared/**', allow: [shared], packages: { allow: ['zod'] } },
  {
    name: 'renderer', files: 'src/renderer/**', allow: ['src/renderer/**', shared],
    // Sandboxed: no node, electron, engine or native module; talk to window.studio.
    packages: { allow: ['react', 'react-dom', 'zustand', 'uplot', '@radix-ui/*'] },
  },
  { name: 'preload', files: 'src/preload/**', allow: ['src/preload/**', shared], packages: { allow: ['electron'] } },
  // Process plumbing: the driver's side never loads tfjs (main and serve import it).
  {
    name: 'engine/client', files: 'src/main/engine/client/**',
    allow: ['src/main/engine/client/**', 'src/main/engine/host/**', 'src/main/engine/core/**', shared],
    packages: { deny: ['electron', ...nativeOrMl], why: 'The client runs inside Electron main and serve: no electron import (plain Node) and no tfjs or native modules.' },
  },
  {
    name: 'engine/host', files: 'src/main/engine/host/**',
    allow: ['src/main/engine/host/**', 'src/main/engine/handlers/**', 'src/main/engine/core/**', 'src/main/engine/backend', shared],
    packages: noElectron,
  },
  { name: 'engine/core', files: 'src/main/engine/core/**', allow: ['src/main/engine/core/**', 'src/main/engine/backend', shared], packages: noElectron },
  // The engine's domains (models, train, infer, ...) use each other and shared, never the CLI, main or serve.
  { name: 'engine', files: 'src/main/engine/**', allow: ['src/main/engine/**', shared], packages: noElectron },
  { name: 'cli', files: 'src/main/cli/**', allow: ['src/main/cli/**', 'src/main/serve/**', 'src/main/engine/**', shared], packages: noElectron },
  {
    name: 'serve', files: 'src/main/serve/**', allow: ['src/main/serve/**', 'src/main/security', 'src/main/engine/client/client', shared],
    packages: { deny: ['electron', ...nativeOrMl], why: 'serve drives the engine host through engine/client: no tfjs or native modules, no electron.' },
  },
  {
    name: 'main', files: 'src/main/*',
    allow: ['src/main/*', 'src/main/engine/client/client', 'src/main/engine/host/protocol', 'src/main/engine/core/fsutil', shared],
    packages: { deny: nativeOrMl, why: 'Electron main reaches the engine through its client (engine/client/client.ts), never tfjs or native modules.' },
  },
];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'release/**', 'node_modules/**', 'tests/e2e/artifacts/**', 'bench/**', 'models/**', 'resources/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}', 'tests/unit/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    plugins: { local },
    rules: { 'local/code-layering': ['error', LAYERS] },
  },
);
