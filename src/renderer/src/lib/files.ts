/**
 * Dropped files and folders: walk DataTransfer items with webkitGetAsEntry so a dropped folder
 * keeps its structure (relative paths like "trainA/001.png"), then hand both lists to
 * `studio().pathsForFiles(files, relPaths)`.
 */
export interface DroppedFiles {
  files: File[];
  relPaths: string[];
  /** Names of the top-level folders that were dropped (empty when only files). */
  folders: string[];
}

interface FsEntry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
}
interface FsFileEntry extends FsEntry {
  file(ok: (f: File) => void, err?: (e: unknown) => void): void;
}
interface FsDirEntry extends FsEntry {
  createReader(): { readEntries(ok: (entries: FsEntry[]) => void, err?: (e: unknown) => void): void };
}

const SKIP = /^(\.|__MACOSX$|Thumbs\.db$|desktop\.ini$)/i;

function fileOf(entry: FsFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function readAll(dir: FsDirEntry): Promise<FsEntry[]> {
  const reader = dir.createReader();
  const out: FsEntry[] = [];
  // readEntries answers in batches (100 in Chromium) until it returns an empty list.
  for (;;) {
    const batch = await new Promise<FsEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) return out;
    out.push(...batch);
  }
}

async function walk(entry: FsEntry, prefix: string, into: DroppedFiles): Promise<void> {
  if (SKIP.test(entry.name)) return;
  const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    into.files.push(await fileOf(entry as FsFileEntry));
    into.relPaths.push(rel);
  } else if (entry.isDirectory) {
    const children = await readAll(entry as FsDirEntry);
    children.sort((a, b) => a.name.localeCompare(b.name));
    for (const c of children) await walk(c, rel, into);
  }
}

/** Files (with relative paths) from a drop event's DataTransfer. */
export async function filesFromDataTransfer(dt: DataTransfer): Promise<DroppedFiles> {
  const out: DroppedFiles = { files: [], relPaths: [], folders: [] };
  const items = dt.items ? Array.from(dt.items).filter((i) => i.kind === 'file') : [];
  const entries = items
    .map((i) => (typeof i.webkitGetAsEntry === 'function' ? (i.webkitGetAsEntry() as FsEntry | null) : null))
    .filter((e): e is FsEntry => !!e);
  if (entries.length && entries.length === items.length) {
    for (const e of entries) {
      if (e.isDirectory) out.folders.push(e.name);
      await walk(e, '', out);
    }
    return out;
  }
  return filesFromList(dt.files);
}

/** Files from an <input type=file> (webkitRelativePath keeps folder structure when present). */
export function filesFromList(list: FileList | File[] | null | undefined): DroppedFiles {
  const out: DroppedFiles = { files: [], relPaths: [], folders: [] };
  const folders = new Set<string>();
  for (const f of Array.from(list ?? [])) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    if (rel.split('/').some((p) => SKIP.test(p))) continue;
    out.files.push(f);
    out.relPaths.push(rel);
    if (rel.includes('/')) folders.add(rel.split('/')[0]!);
  }
  out.folders = [...folders];
  return out;
}

/** The common folder a set of uploaded/real paths live in (for a dropped folder). */
export function commonRoot(paths: string[], relPaths: string[]): string | null {
  if (!paths.length) return null;
  // path = <root>/<relPath>; strip the relPath's depth from the first path.
  const p = paths[0]!.replace(/\\/g, '/');
  const depth = relPaths[0]!.split('/').length;
  const parts = p.split('/');
  return parts.slice(0, parts.length - depth).join('/') || '/';
}

export const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?|avif)$/i;
