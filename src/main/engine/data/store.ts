/** Datasets on disk: `<workspace>/datasets/<id>/dataset.json` + stored files. */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DatasetManifest, DatasetSummary } from '../../../shared/channels/dataset';
import { StudioError } from '../../../shared/errors';
import type { Workspace } from '../core/workspace';
import { exists, readdirOrEmpty } from '../core/fsutil';

export const MANIFEST = 'dataset.json';
export const SCHEMA_VERSION = 1 as const;

export const sha256 = (data: Uint8Array | string) => crypto.createHash('sha256').update(data).digest('hex');

/** Hash over the stored files' hashes, in path order: the same data gives the same hash. */
export function contentHashOf(fileHashes: Record<string, string>): string {
  const keys = Object.keys(fileHashes).sort();
  return sha256(keys.map((k) => `${k}\t${fileHashes[k]}\n`).join(''));
}

export function datasetDir(ws: Workspace, id: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new StudioError('BAD_INPUT', `"${id}" is not a dataset id.`);
  return path.join(ws.datasets, id);
}

export async function readManifest(dir: string): Promise<DatasetManifest> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, MANIFEST), 'utf8');
  } catch {
    throw new StudioError('NOT_FOUND', `No dataset at ${dir}.`, { hint: 'Refresh the dataset list; it may have been deleted.' });
  }
  let m: DatasetManifest;
  try {
    m = JSON.parse(text) as DatasetManifest;
  } catch (e) {
    throw new StudioError('BAD_INPUT', `${path.join(dir, MANIFEST)} is not valid JSON: ${(e as Error).message}.`, { hint: 'Delete and re-import the dataset.' });
  }
  if (m.schemaVersion !== SCHEMA_VERSION) {
    throw new StudioError('BAD_INPUT', `Dataset ${m.id ?? dir} has schema version ${m.schemaVersion}; this app reads version ${SCHEMA_VERSION}.`, {
      hint: 'Re-import the dataset with this version of Atelier.',
    });
  }
  return m;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else if (e.isFile()) total += (await fsp.stat(p)).size;
  }
  return total;
}

export async function summaryOf(dir: string, m?: DatasetManifest): Promise<DatasetSummary> {
  const man = m ?? (await readManifest(dir));
  const { items: _i, packed: _p, fileHashes: _f, ...rest } = man;
  return { ...rest, bytes: await dirBytes(dir) };
}

/** Published datasets only: dot-temp folders of imports in progress (or killed) are invisible. */
export async function listDatasets(ws: Workspace): Promise<DatasetSummary[]> {
  const out: DatasetSummary[] = [];
  for (const n of await readdirOrEmpty(ws.datasets)) {
    if (n.startsWith('.')) continue;
    const dir = path.join(ws.datasets, n);
    try {
      out.push(await summaryOf(dir));
    } catch {
      // Not a dataset (or an unreadable one): skip it in the list.
    }
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? -1 : 1));
}

export async function deleteDataset(ws: Workspace, id: string): Promise<boolean> {
  const dir = datasetDir(ws, id);
  if (!(await exists(path.join(dir, MANIFEST)))) throw new StudioError('NOT_FOUND', `No dataset "${id}".`, { hint: 'Refresh the dataset list.' });
  // Rename first so a half-deleted folder is never listed, then remove.
  const trash = path.join(ws.datasets, `.${id}.tmp-del${Date.now().toString(36)}`);
  await fsp.rename(dir, trash);
  await fsp.rm(trash, { recursive: true, force: true });
  return true;
}
