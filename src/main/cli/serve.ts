import path from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs, intFlag } from './args';
import { EngineClient, childProcessSpawner } from '../engine/client/client';
import { appRoot, defaultWorkspaceRoot, openWorkspace } from '../engine/core/workspace';
import { startServer } from '../serve/server';

export async function runServeCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['open', 'json']);
  const host = typeof args.flags.host === 'string' ? args.flags.host : '127.0.0.1';
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    console.warn(`WARNING: serving on ${host}: anyone who can reach this address and has the token can use the studio.`);
  }
  const root = typeof args.flags.workspace === 'string' ? path.resolve(args.flags.workspace) : defaultWorkspaceRoot();
  const ws = openWorkspace(root);
  const env = { ...process.env, ATELIER_WORKSPACE: ws.root };
  const engine = new EngineClient(childProcessSpawner(env));
  await engine.start();
  const handle = await startServer({
    engine,
    rendererDir: typeof args.flags.renderer === 'string' ? args.flags.renderer : path.join(appRoot(), 'out', 'renderer'),
    uploadDir: ws.tmp,
    host,
    port: intFlag(args, 'port', 0),
    ...(typeof args.flags.token === 'string' ? { token: args.flags.token } : {}),
  });
  if (args.flags.json) console.log(JSON.stringify({ url: handle.url, port: handle.port, token: handle.token, workspace: ws.root }));
  else {
    console.log(`Atelier is serving the studio at:\n\n  ${handle.url}\n\nWorkspace: ${ws.root}\nPress Ctrl+C to stop.`);
  }
  if (args.flags.open) {
    const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start' : 'xdg-open';
    spawn(opener, [handle.url], { detached: true, stdio: 'ignore', shell: process.platform === 'win32' }).on('error', () => console.warn('Could not open a browser; open the address above.')).unref();
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await handle.close();
  await engine.close();
  return 0;
}
