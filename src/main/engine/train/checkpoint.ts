/**
 * Checkpoints: <run>/checkpoints/step-N/
 *   state.json  {format, version, step, epoch, schedule, binBytes, sha256 (of state.bin),
 *                kind, extras (rng, optimizer meta, step),
 *                cursor (data), arrays: [{name, shape, dtype, offset, bytes}], createdAt}
 *   state.bin   every array back to back: network weights (net/<name>/<i>), optimizer state
 *               (opt/<name>/<i>: iterations, Adam m and v), image pools (extra/pool*)
 * Written to a dot-temp folder beside the target, each file fsynced, then renamed into place
 * (fsutil makeTempDirBeside/publishDir): a kill mid-write leaves the previous checkpoint intact
 * and a temp folder that sweepTemp removes. The last K are kept.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { makeTempDirBeside, publishDir, readdirOrEmpty, readJson, sweepTemp, writeFileSynced } from '../core/fsutil';
import type { ModelState, NamedArray } from '../models/base';

export interface CheckpointInfo {
  step: number;
  dir: string;
  createdAt: number;
  bytes: number;
}

export interface CheckpointData {
  step: number;
  epoch: number;
  /** LR schedule position (informative: the schedule is a function of step). */
  schedule?: { policy: string; lr: number; totalSteps: number };
  cursor: unknown;
  state: ModelState;
  createdAt: number;
}

interface ArrayEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  bytes: number;
}

export const checkpointsDir = (runDir: string) => path.join(runDir, 'checkpoints');

export async function writeCheckpoint(runDir: string, data: Omit<CheckpointData, 'createdAt'>, keep: number): Promise<CheckpointInfo> {
  const finalDir = path.join(checkpointsDir(runDir), `step-${data.step}`);
  const tmp = await makeTempDirBeside(finalDir);
  const entries: ArrayEntry[] = [];
  let offset = 0;
  for (const a of data.state.arrays) {
    const bytes = a.data.byteLength;
    entries.push({ name: a.name, shape: a.shape, dtype: a.dtype, offset, bytes });
    offset += bytes;
  }
  // Stream the arrays (no second copy of a multi-hundred-MB state), hashing as we go.
  const hash = crypto.createHash('sha256');
  const fh = await fsp.open(path.join(tmp, 'state.bin'), 'w');
  try {
    for (const a of data.state.arrays) {
      const bytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
      hash.update(bytes);
      for (let off = 0; off < bytes.byteLength; ) off += (await fh.write(bytes, off, bytes.byteLength - off)).bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  const binBytes = offset;
  const sha256 = hash.digest('hex');
  await testDelay(data.step);
  const createdAt = Date.now();
  const json = { format: 'atelier-checkpoint', version: 1, step: data.step, epoch: data.epoch, schedule: data.schedule, binBytes, sha256, cursor: data.cursor, extras: data.state.extras, arrays: entries, createdAt };
  await writeFileSynced(path.join(tmp, 'state.json'), JSON.stringify(json));
  await publishDir(tmp, finalDir);
  await pruneCheckpoints(runDir, keep);
  return { step: data.step, dir: finalDir, createdAt, bytes: offset };
}

/** Test hook: pause between the two files so a test can kill the process mid-checkpoint. */
async function testDelay(step: number): Promise<void> {
  const ms = Number(process.env.ATELIER_TEST_CHECKPOINT_DELAY_MS ?? 0);
  const from = Number(process.env.ATELIER_TEST_CHECKPOINT_DELAY_FROM ?? 0);
  if (ms > 0 && step >= from) {
    process.stdout.write(`CHECKPOINT-WRITING step-${step}\n`);
    await new Promise((r) => setTimeout(r, ms));
  }
}

/** Complete checkpoints (dot-temp folders and folders without state.json are ignored), oldest first. */
export async function listCheckpoints(runDir: string): Promise<CheckpointInfo[]> {
  const dir = checkpointsDir(runDir);
  const out: CheckpointInfo[] = [];
  for (const n of await readdirOrEmpty(dir)) {
    const m = /^step-(\d+)$/.exec(n);
    if (!m) continue;
    const d = path.join(dir, n);
    try {
      const st = await fsp.stat(path.join(d, 'state.json'));
      const bin = await fsp.stat(path.join(d, 'state.bin'));
      out.push({ step: Number(m[1]), dir: d, createdAt: st.mtimeMs, bytes: bin.size });
    } catch {
      // incomplete: not a checkpoint
    }
  }
  return out.sort((a, b) => a.step - b.step);
}

export async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  await sweepTemp(checkpointsDir(runDir)).catch(() => undefined);
  const all = await listCheckpoints(runDir);
  for (const c of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) await fsp.rm(c.dir, { recursive: true, force: true });
}

export async function readCheckpoint(dir: string): Promise<CheckpointData> {
  const json = await readJson<{
    step: number;
    epoch: number;
    cursor: unknown;
    extras: Record<string, unknown>;
    arrays: ArrayEntry[];
    createdAt: number;
    binBytes?: number;
    sha256?: string;
  }>(path.join(dir, 'state.json'));
  const bin = fs.readFileSync(path.join(dir, 'state.bin'));
  if ((json.binBytes !== undefined && bin.byteLength !== json.binBytes) || (json.sha256 && crypto.createHash('sha256').update(bin).digest('hex') !== json.sha256)) {
    throw new Error(`checkpoint ${dir} is damaged (state.bin does not match state.json)`);
  }
  const arrays: NamedArray[] = json.arrays.map((e) => {
    const copy = new Uint8Array(e.bytes);
    copy.set(bin.subarray(e.offset, e.offset + e.bytes));
    return { name: e.name, shape: e.shape, dtype: e.dtype, data: e.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer) };
  });
  return { step: json.step, epoch: json.epoch, cursor: json.cursor, createdAt: json.createdAt, state: { arrays, extras: json.extras } };
}
