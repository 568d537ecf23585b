/**
 * The trainer host's stats for app.stats: read now when it is idle (it answers at once); while it
 * trains, the last reading (refreshed in the background), so app.stats never waits for a training
 * step (a synchronous step blocks the trainer's message loop for seconds).
 */
import type { Envelope } from '../../../shared/errors';
import type { HostStats, TrainerHostStats } from '../../../shared/channels/app';
import type { Slot } from './slot';

export class TrainerStatsReader {
  private cache: { stats: Omit<TrainerHostStats, 'ageMs'>; at: number } | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly send: (slot: Slot, channel: string, payload: unknown) => Promise<Envelope<unknown>>) {}

  /** Drop the last reading (the trainer host stopped). */
  clear(): void {
    this.cache = null;
  }

  async read(t: Slot): Promise<TrainerHostStats | undefined> {
    const proc = t.proc;
    if (!proc || t.abortReady) return undefined; // not up (or still starting: do not wait for it)
    const refresh = () => {
      this.inFlight ??= this.send(t, 'app.stats', {})
        .then((res) => {
          if (res.ok && t.proc === proc) {
            this.cache = { stats: { ...(res.data as HostStats), pid: proc.pid ?? null }, at: Date.now() };
          }
        })
        .finally(() => {
          this.inFlight = null;
        });
      return this.inFlight;
    };
    if (!t.liveJobs.size) {
      await refresh();
      // A reading that was in flight may be older than this request: read again.
      if (!this.cache || this.cache.at < Date.now() - 50) await refresh();
    } else if (!this.cache) {
      await Promise.race([refresh(), new Promise((r) => setTimeout(r, 250))]);
    } else {
      void refresh();
    }
    const c = this.cache;
    return c ? { ...c.stats, ageMs: Date.now() - c.at } : undefined;
  }
}
