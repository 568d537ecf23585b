import path from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs, intFlag } from './args';
import { EngineClient, childProcessSpawner } from '../engine/client/client';
import { appRoot, defaultWorkspaceRoot, openWorkspace } from '../engine/core/workspace';
import fs from 'node:fs';
import { startServer } from '../serve/server';
import { pathPolicy, type AccessRoot } from '../serve/paths';

export async function runServeCli(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['open', 'json']);
  if (args.flags.token !== undefined) {
    // Every local process can read another's arguments (ps, /proc/*/cmdline): never a secret there.
    console.error('--token is not accepted: process arguments are visible to every local user. Set ATELIER_SERVE_TOKEN in the environment instead.');
    return 2;
  }
  const token = process.env.ATELIER_SERVE_TOKEN || undefined;
  const host = typeof args.flags.host === 'string' ? args.flags.host : '127.0.0.1';
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    console.warn(`WARNING: serving on ${host}: anyone who can reach this address and has the token can use the studio. Browse to exactly ${host}: requests naming any other host are refused (421).`);
  }
  // The browser may name paths only inside these (docs/SECURITY.md, "Paths").
  const granted: AccessRoot[] = [];
  for (const dir of args.multi.allow ?? []) {
    const abs = path.resolve(dir);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
      console.error(`--allow ${dir}: no such folder.`);
      return 2;
    }
    granted.push({ dir: abs, access: 'readwrite', label: 'granted' });
  }
  const root = typeof args.flags.workspace === 'string' ? path.resolve(args.flags.workspace) : defaultWorkspaceRoot();
  const ws = openWorkspace(root);
  const roots: AccessRoot[] = [{ dir: ws.root, access: 'readwrite', label: 'workspace' }, ...(fs.existsSync(ws.shippedModels) ? [{ dir: ws.shippedModels, access: 'read' as const, label: 'shipped models' }] : []), ...granted];
  const env: NodeJS.ProcessEnv = { ...process.env, ATELIER_WORKSPACE: ws.root };
  delete env.ATELIER_SERVE_TOKEN; // the engine never needs it
  const engine = new EngineClient(childProcessSpawner(env));
  await engine.start();
  const handle = await startServer({
    engine,
    rendererDir: typeof args.flags.renderer === 'string' ? args.flags.renderer : path.join(appRoot(), 'out', 'renderer'),
    uploadDir: ws.tmp,
    host,
    port: intFlag(args, 'port', 0),
    ...(token ? { token } : {}),
    paths: pathPolicy({ roots, modelDirs: [ws.bundles, ws.shippedModels] }),
  });
  if (args.flags.json) console.log(JSON.stringify({ url: handle.url, port: handle.port, token: handle.token, workspace: ws.root }));
  else {
    const grants = granted.length ? granted.map((g) => `\n  ${g.dir}`).join('') : ' none (add folders with --allow DIR)';
    console.log(`Atelier is serving the studio at:\n\n  ${handle.url}\n\nWorkspace: ${ws.root}\nFolders the page may also use:${grants}\nPress Ctrl+C to stop.`);
  }
  if (args.flags.open) {
    const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start' : 'xdg-open';
    // A one-time code, not the token: the opener's arguments are visible to every local process.
    spawn(opener, [handle.openUrl()], { detached: true, stdio: 'ignore', shell: process.platform === 'win32' }).on('error', () => console.warn('Could not open a browser; open the address above.')).unref();
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
