/**
 * Path confinement for `atelier serve`. A browser page holding the token is less trusted than the
 * desktop window (whose paths come from native dialogs and drops), so every path in a request
 * must lie inside a granted root: the workspace (read and write), the shipped models (read), and
 * each `--allow DIR` (read and write). Paths are resolved (relative to the server's working
 * directory, as the engine does), then symlinks are followed on the part that exists, so neither
 * `..` nor a link leads out. Which fields are paths comes from the contract (shared/paths.ts).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { channelDef, type ChannelName } from '../../shared/contract';
import type { ErrorData } from '../../shared/errors';
import { pathsInRequest, type PathField } from '../../shared/paths';

export type RootAccess = 'read' | 'readwrite';

export interface AccessRoot {
  dir: string;
  access: RootAccess;
  /** For people: "workspace", "shipped models", "granted". */
  label: string;
}

export interface PathPolicy {
  roots: AccessRoot[];
  /** Is this bare name a bundle id the engine will find (workspace bundles or shipped models)? */
  isModelId(id: string): Promise<boolean>;
  /** What relative paths are relative to (the engine's working directory). */
  cwd: string;
}

const MODEL_ID = /^[A-Za-z0-9_-]+$/;

/** The real path of `p`: symlinks resolved on its longest existing prefix, the rest appended. */
export async function realPathNearest(p: string): Promise<string> {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (let i = 0; i < 4096; i++) {
    try {
      const real = await fsp.realpath(cur);
      return rest.length ? path.join(real, ...rest.reverse()) : real;
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) break;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
  return path.resolve(p);
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

/** Roots as real paths (a granted folder that is a link counts where it points). Missing roots throw. */
export function resolveRoots(roots: AccessRoot[]): AccessRoot[] {
  return roots.map((r) => ({ ...r, dir: fs.realpathSync(path.resolve(r.dir)) }));
}

/** A policy over these roots, with bundle ids looked up in the given folders. */
export function pathPolicy(opts: { roots: AccessRoot[]; modelDirs: string[]; cwd?: string }): PathPolicy {
  return {
    roots: resolveRoots(opts.roots),
    cwd: opts.cwd ?? process.cwd(),
    async isModelId(id) {
      for (const d of opts.modelDirs) {
        try {
          if ((await fsp.stat(path.join(d, id))).isDirectory()) return true;
        } catch {
          // not in this folder
        }
      }
      return false;
    },
  };
}

/** The refusal for one field, or null when it is inside a root that allows its access. */
export async function checkPath(policy: PathPolicy, field: PathField): Promise<string | null> {
  // A bare id that names a bundle is resolved by the engine inside its own folders.
  if (field.model && MODEL_ID.test(field.value) && (await policy.isModelId(field.value))) return null;
  const real = await realPathNearest(path.resolve(policy.cwd, field.value));
  const root = policy.roots.find((r) => inside(r.dir, real) && (field.access === 'read' || r.access === 'readwrite'));
  if (root) return null;
  const readable = policy.roots.some((r) => inside(r.dir, real));
  return readable
    ? `${field.where} "${field.value}" is in a folder this studio may read but not write.`
    : `${field.where} "${field.value}" is outside the folders this studio may ${field.access === 'write' ? 'write' : 'read'}.`;
}

/** FORBIDDEN for the first path of the request outside the granted roots; null when all are inside. */
export async function checkRequestPaths(policy: PathPolicy, channel: ChannelName, payload: unknown): Promise<ErrorData | null> {
  for (const field of pathsInRequest(channelDef(channel).request, payload)) {
    const why = await checkPath(policy, field);
    if (why) {
      return {
        code: 'FORBIDDEN',
        message: `Refused ${channel}: ${why}`,
        hint: 'In the browser studio, paths must be inside the workspace or a folder granted at start (`atelier serve --allow <folder>`). Dropped files are uploaded into the workspace and always work.',
      };
    }
  }
  return null;
}
