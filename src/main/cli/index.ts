/**
 * `atelier <command>`: the engine from a terminal. Each command lives in its own module and is
 * loaded on demand, so `atelier doctor` does not pay for what `atelier train` needs.
 */
type Command = { summary: string; run: (argv: string[]) => Promise<number> };

const commands: Record<string, Command> = {
  doctor: { summary: 'doctor [--json]                      runtime report: backend, native modules, Electron binary', run: async (a) => (await import('./doctor')).runDoctorCli(a) },
  serve: { summary: 'serve [--port N] [--open] [--host H] [--allow DIR]...  the studio in a browser at 127.0.0.1 with a token; paths confined to the workspace and --allow folders', run: async (a) => (await import('./serve')).runServeCli(a) },
};

/** Other modules register their commands here (dataset, train, translate, analyze, bench, ...). */
export function registerCommand(name: string, cmd: Command): void {
  commands[name] = cmd;
}

function usage(): string {
  return ['Usage: atelier <command> [options]', '', ...Object.values(commands).map((c) => `  atelier ${c.summary}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  await import('./commands');
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  // Commands without their own usage text answer --help with their summary line.
  if ((rest.includes('--help') || rest.includes('-h')) && ['doctor', 'serve', 'bench'].includes(name)) {
    console.log(`Usage: atelier ${cmd.summary}`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const err = e as { code?: string; message?: string; hint?: string };
    console.error(`atelier ${name}: ${err.message ?? String(e)}${err.hint ? `\n  ${err.hint}` : ''}`);
    if (process.env.ATELIER_DEBUG) console.error(e);
    return 1;
  } finally {
    // A live Dawn (WebGPU) device keeps Node's event loop alive; the CLI exits by running dry.
    (await import('../engine/gpu/webgpu')).releaseGpu();
  }
}
