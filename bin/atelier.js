#!/usr/bin/env node
// The `atelier` CLI runs the TypeScript sources through tsx, so it works from a fresh clone
// with no build step. The desktop app uses the electron-vite build instead.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main/cli/index.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
