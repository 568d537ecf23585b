/**
 * Atomic writes: what the user saved stays good even if the process is killed mid-write.
 * Write to a temp sibling, fsync it, rename over the target, fsync the directory.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';

function tmpSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
}

async function fsyncDir(dir: string): Promise<void> {
  // Directory fsync makes the rename durable; not supported on Windows, where rename is enough.
  if (process.platform === 'win32') return;
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write a file and fsync it (not atomic: for files inside a temp folder that is published whole). */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tmpSibling(target);
  await writeFileSynced(tmp, data);
  try {
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(target));
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tmpSibling(target);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
}

/**
 * Publish a whole folder atomically: build it at `<parent>/.<name>.tmp-*`, then call this to
 * rename it into place. A killed build leaves only a dot-temp folder, which `sweepTemp` removes.
 */
export async function publishDir(tmpDir: string, finalDir: string): Promise<void> {
  await fsp.rm(finalDir, { recursive: true, force: true });
  await fsp.rename(tmpDir, finalDir);
  await fsyncDir(path.dirname(finalDir));
}

export async function makeTempDirBeside(finalDir: string): Promise<string> {
  await fsp.mkdir(path.dirname(finalDir), { recursive: true });
  // The writer's pid in the name: a sweep by another engine host (the app runs a primary and a
  // training host on one workspace) leaves a live writer's folder alone.
  return fsp.mkdtemp(path.join(path.dirname(finalDir), `.${path.basename(finalDir)}.tmp-p${process.pid}x`));
}

/** Pid of the process writing a temp entry (named by makeTempDirBeside / tmpSibling), if any. */
function writerPid(name: string): number | null {
  const m = /\.tmp-p(\d+)x[A-Za-z0-9]+$/.exec(name) ?? /\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
  return m ? Number(m[1]) : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove dot-temp leftovers of killed writes in a folder (not recursive). Entries of another
 * process that is still running are in-flight writes, not leftovers: they stay.
 */
export async function sweepTemp(dir: string): Promise<string[]> {
  const names = await readdirOrEmpty(dir);
  const gone: string[] = [];
  for (const n of names) {
    if (n.startsWith('.') && (/\.tmp-[A-Za-z0-9]+$/.test(n) || n.endsWith('.tmp'))) {
      const pid = writerPid(n);
      if (pid != null && pid !== process.pid && alive(pid)) continue;
      await fsp.rm(path.join(dir, n), { recursive: true, force: true });
      gone.push(n);
    }
  }
  return gone;
}

/** Entry names of a folder; none when it is missing or unreadable. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}
