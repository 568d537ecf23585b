/**
 * Crash safety of a training run: the engine host that trains (the client's trainer host) is
 * SIGKILLed at random moments of a run 20 times. Each time the UI side sees the job fail with
 * ENGINE_CRASHED, the primary host keeps running, every checkpoint on disk still reads, no temp
 * leftovers are listed, and the run resumes (in a fresh trainer host) from its last checkpoint
 * (and keeps going past it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineClient, childProcessSpawner } from '../../../src/main/engine/client/client';
import { listCheckpoints, readCheckpoint } from '../../../src/main/engine/train/checkpoint';
import type { Envelope } from '../../../src/shared/errors';
import { waitFor } from '../../fixtures/wait';

const KILLS = Number(process.env.ATELIER_CRASH_KILLS ?? 20);

function rng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

describe('training survives SIGKILL of the engine host', () => {
  let ws: string;
  let client: EngineClient;
  const events: { event: string; payload: Record<string, unknown> }[] = [];
  beforeAll(async () => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-crash-'));
    client = new EngineClient(childProcessSpawner({ ...process.env, ATELIER_WORKSPACE: ws, ATELIER_ENGINE_FROM_SOURCE: '1' }), { maxCrashesPerMinute: 1000 });
    client.onEvent((event, payload) => events.push({ event, payload: payload as Record<string, unknown> }));
  });
  afterAll(async () => {
    await client.close();
  });

  const ok = <T>(e: Envelope<T>): T => {
    if (!e.ok) throw new Error(`${e.error.code}: ${e.error.message}`);
    return e.data;
  };
  const jobEnd = (jobId: string) => waitFor(() => events.find((e) => (e.event === 'job.done' || e.event === 'job.failed') && e.payload.jobId === jobId));

  it(`resumes from the last good checkpoint after ${KILLS} random kills`, async () => {
    const demo = ok(await client.request('dataset.demo', {})) as { jobId: string };
    const end = await jobEnd(demo.jobId);
    expect(end.event).toBe('job.done');
    const datasets = ok(await client.request('dataset.list', {})) as { id: string; kind: string }[];
    const paired = datasets.find((d) => d.kind === 'paired')!;
    expect(paired).toBeTruthy();

    const start = ok(
      await client.request('train.start', {
        model: 'pix2pix',
        datasetId: paired.id,
        steps: 100_000,
        checkpointEvery: 3,
        keepCheckpoints: 2,
        sampleEvery: 1000,
        options: { ngf: 4, ndf: 4, batchSize: 1, seed: 5 },
      }),
    ) as { jobId: string; runId: string };
    const runDir = path.join(ws, 'runs', start.runId);
    let jobId = start.jobId;
    const primaryPid = client.pid!;
    const r = rng(42);
    let lastCheckpointStep = -1;

    for (let k = 0; k < KILLS; k++) {
      // Let the job make progress (past at least one checkpoint), then kill at a random moment.
      // Odd rounds kill early (while the run loads or resumes); even rounds once it has passed
      // another checkpoint, at a random moment of the following steps (often mid-checkpoint).
      const target = k % 2 ? 0 : Math.max(lastCheckpointStep, 0) + 3;
      await waitFor(() => events.some((e) => e.event === 'job.progress' && e.payload.jobId === jobId && (e.payload.step as number) >= target));
      await new Promise((res) => setTimeout(res, 20 + Math.floor(r() * 800)));
      const pid = client.trainerPid!;
      expect(pid).not.toBe(primaryPid);
      process.kill(pid, 'SIGKILL');
      const failed = await jobEnd(jobId);
      expect(failed.event).toBe('job.failed');
      expect((failed.payload.error as { code: string }).code).toBe('ENGINE_CRASHED');
      await waitFor(() => client.trainerPid !== pid);
      // The primary host was not touched and still answers.
      expect(client.pid).toBe(primaryPid);
      ok(await client.request('app.version', {}));

      // Every checkpoint that is listed reads back whole; no temp folder is listed as one.
      const cps = await listCheckpoints(runDir);
      for (const cp of cps) {
        const data = await readCheckpoint(cp.dir);
        expect(data.step).toBe(cp.step);
      }
      const newest = cps.at(-1)?.step ?? -1;
      expect(newest).toBeGreaterThanOrEqual(lastCheckpointStep);
      lastCheckpointStep = newest;

      const resumed = ok(await client.request('train.resume', { runId: start.runId })) as { jobId: string };
      jobId = resumed.jobId;
      if (newest >= 0) {
        // It continues from the newest checkpoint: its first report is at that step, not 0,
        // and it then moves past it.
        const mine = () => events.filter((e) => e.event === 'job.progress' && e.payload.jobId === jobId && typeof e.payload.step === 'number');
        const first = await waitFor(() => mine()[0]);
        expect(first.payload.step as number).toBeGreaterThanOrEqual(newest);
        await waitFor(() => mine().some((e) => (e.payload.step as number) > newest));
      }
    }
    expect(lastCheckpointStep).toBeGreaterThan(0);
    expect(client.trainerStarts).toBe(KILLS + 1);
    expect(client.starts).toBe(1);
    ok(await client.request('job.cancel', { jobId }));
    await jobEnd(jobId);
  }, 900_000);
});
