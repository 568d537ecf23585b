/**
 * The workspace: everything the user makes lives here.
 *   datasets/<id>/   imported datasets (dataset.json + normalised images)
 *   runs/<id>/       training runs (options.json, log.jsonl, samples/, checkpoints/)
 *   bundles/<id>/    model bundles the user trained or promoted
 *   tmp/             uploads from the browser transport, scratch space
 * Shipped, read-only: `models/` (demo bundles) and `resources/` (demo data subset) of the app.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepTemp } from './fsutil';

export interface Workspace {
  root: string;
  datasets: string;
  runs: string;
  bundles: string;
  tmp: string;
  /** Shipped demo model bundles (read-only). */
  shippedModels: string;
  /** Shipped resources (demo dataset subset, icons). */
  resources: string;
}

/** The app's own folder (where models/ and resources/ are): repo root in dev, app path when packaged. */
export function appRoot(): string {
  if (process.env.ATELIER_APP_ROOT) return process.env.ATELIER_APP_ROOT;
  // This file is src/main/engine/core/workspace.ts in dev or out/main/<bundle>.js when built:
  // walk up until a folder holds package.json.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export function defaultWorkspaceRoot(): string {
  return process.env.ATELIER_WORKSPACE || path.join(os.homedir(), '.atelier', 'workspace');
}

export function openWorkspace(root = defaultWorkspaceRoot()): Workspace {
  const app = appRoot();
  const ws: Workspace = {
    root,
    datasets: path.join(root, 'datasets'),
    runs: path.join(root, 'runs'),
    bundles: path.join(root, 'bundles'),
    tmp: path.join(root, 'tmp'),
    shippedModels: process.env.ATELIER_MODELS_DIR || path.join(app, 'models'),
    resources: process.env.ATELIER_RESOURCES_DIR || path.join(app, 'resources'),
  };
  for (const d of [ws.root, ws.datasets, ws.runs, ws.bundles, ws.tmp]) fs.mkdirSync(d, { recursive: true });
  return ws;
}

/** On engine start: remove leftovers of writes that a kill interrupted. */
export async function sweepWorkspace(ws: Workspace): Promise<void> {
  await Promise.all([sweepTemp(ws.datasets), sweepTemp(ws.runs), sweepTemp(ws.bundles)]);
}

/** Safe id for folder names: letters, digits, dash, underscore. */
export function safeId(name: string): string {
  const s = name.normalize('NFKD').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  return s || 'item';
}

/** Resolve `child` inside `parent`, refusing anything that escapes it (.., absolute, symlinks out). */
export function insideDir(parent: string, child: string): string | null {
  const resolved = path.resolve(parent, child);
  const rel = path.relative(parent, resolved);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  try {
    const real = fs.realpathSync(resolved);
    const realParent = fs.realpathSync(parent);
    const rel2 = path.relative(realParent, real);
    if (rel2.startsWith('..') || path.isAbsolute(rel2)) return null;
  } catch {
    // Does not exist yet: the lexical check is what we have.
  }
  return resolved;
}
