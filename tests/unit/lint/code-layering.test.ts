import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The layer allowlist of eslint.config.js, run on snippets placed (virtually) in each layer:
// a wrong arrow fails with the layer's allowed list in the message, a right one passes.
const root = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: root });

async function layeringErrors(file: string, code: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return res!.messages.filter((m) => m.ruleId === 'local/code-layering').map((m) => m.message);
}

describe('code-layering lint rule', () => {
  it('the engine may not import the CLI, and the message names what it may import', async () => {
    const errs = await layeringErrors('src/main/engine/infer/x.ts', "import type { Figure } from '../../cli/bench';\nexport type F = Figure;\n");
    expect(errs).toEqual(["Layer 'engine' may not import 'src/main/cli/bench'. It may import: src/main/engine/**, src/shared/**."]);
  });

  it('the engine may import its own domains and the contract, never electron', async () => {
    expect(await layeringErrors('src/main/engine/infer/x.ts', "import { tf } from '../backend';\nimport type { Envelope } from '../../../shared/errors';\nexport const a: [unknown, Envelope | null] = [tf, null];\n")).toEqual([]);
    expect((await layeringErrors('src/main/engine/infer/x.ts', "import { app } from 'electron';\nexport const a = app;\n"))[0]).toMatch(/may not import package 'electron'/);
  });

  it('main reaches the engine only through the client, not the in-process host', async () => {
    const errs = await layeringErrors('src/main/x.ts', "import { InProcessEngine } from './engine/client/inprocess';\nexport const a = InProcessEngine;\n");
    expect(errs[0]).toMatch(/^Layer 'main' may not import 'src\/main\/engine\/client\/inprocess'\. It may import: .*src\/main\/engine\/client\/client/);
  });

  it('the renderer imports the contract and UI packages only', async () => {
    expect(await layeringErrors('src/renderer/src/x.ts', "import { CHANNEL_NAMES } from '../../shared/contract';\nexport const a = CHANNEL_NAMES;\n")).toEqual([]);
    const errs = await layeringErrors('src/renderer/src/x.ts', "import fs from 'node:fs';\nexport const a = fs;\n");
    expect(errs[0]).toMatch(/may not import package 'node:fs'\. It may import the packages: react/);
  });

  it('the contract imports zod only', async () => {
    const errs = await layeringErrors('src/shared/x.ts', "import { tf } from '../main/engine/backend';\nexport const a = tf;\n");
    expect(errs).toEqual(["Layer 'shared' may not import 'src/main/engine/backend'. It may import: src/shared/**."]);
  });
});
