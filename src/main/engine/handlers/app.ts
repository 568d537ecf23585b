import { StudioError } from '../../../shared/errors';
import { handlers } from '../host/context';
import { initBackend, tf } from '../backend';
import { appVersion, doctorReport } from '../core/doctor';
import { withMemoryCheck } from '../gpu/memory';

export const appHandlers = handlers({
  'app.version': () => ({ name: 'Atelier', version: appVersion() }),
  // The desktop app answers this in the main process; elsewhere there is no file manager to drive.
  'app.reveal': (req) => {
    throw new StudioError('UNAVAILABLE', `Revealing files works in the desktop app. The file is at: ${req.path}`);
  },
  // Only serve confines paths, and it answers this itself; the desktop app and the CLI do not.
  'app.access': () => ({ confined: false, roots: [] }),
  'app.stats': async (_req, ctx) => {
    await initBackend();
    const mem = process.memoryUsage();
    const t = tf.memory();
    return { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, tensors: t.numTensors, tensorBytes: t.numBytes, runningJobs: ctx.jobs.running().length, uptimeSec: process.uptime() };
  },
  'app.doctor': async (_req, ctx) => withMemoryCheck(await doctorReport({ workspace: ctx.workspace.root, mode: ctx.mode })),
});
