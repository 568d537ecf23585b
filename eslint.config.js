// Lint enforces the layer arrows of DESIGN.md (as VS Code's code-layering rule does):
// renderer -> shared only; engine never imports electron; shared imports zod only;
// the Electron main and serve talk to the engine through its client API, never tfjs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'http', 'net', 'url', 'worker_threads', 'zlib'];

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
    files: ['src/renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', ...nodeBuiltins], message: 'The renderer runs sandboxed: talk to window.studio (src/renderer/src/studio.ts).' },
        { group: ['**/main/**', '@tensorflow/*', 'onnxruntime-node', 'sharp'], message: 'The renderer never imports the engine or native modules.' },
      ] }],
    },
  },
  {
    files: ['src/main/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['electron'], message: 'The engine runs in plain Node (utility process, CLI, tests): never import electron.' }] }],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', 'react', 'react-dom', '@tensorflow/*', 'sharp', 'onnxruntime-node', 'ws', ...nodeBuiltins], message: 'src/shared is the contract: zod only.' },
        { group: ['**/main/**', '**/renderer/**', '**/preload/**'], message: 'src/shared imports nothing from the app.' },
      ] }],
    },
  },
  {
    files: ['src/main/*.ts', 'src/main/serve/**/*.ts', 'src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['@tensorflow/*', 'onnxruntime-node', 'sharp'], message: 'Main, serve and preload reach the engine through its client (engine/client.ts).' },
        { group: ['**/engine/host', '**/engine/handlers/**', '**/engine/inprocess', '**/engine/backend'], message: 'Main and serve drive the engine host through engine/client.ts.' },
      ] }],
    },
  },
);
