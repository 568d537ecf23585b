/**
 * What the client does when a host dies: the error every pending request and live job of that
 * host fails with (ENGINE_CRASHED), and when the primary host is restarted. The primary comes back
 * after RESTART_DELAY_MS unless it crashed more than `maxPerMinute` times in the last minute (then
 * the app says so and stops trying); the trainer comes back with the next training request.
 */
import type { ErrorData } from '../../../shared/errors';
import type { HostRole } from './router';

export const RESTART_DELAY_MS = 250;

/** The error a dead host's requests and jobs fail with. */
export function crashError(role: HostRole, code: number | null, signal: string | null): ErrorData {
  const why = signal ? `signal ${signal}` : `exit code ${code}`;
  return role === 'primary'
    ? {
        code: 'ENGINE_CRASHED',
        message: `The engine stopped unexpectedly (${why}). It is being restarted.`,
        hint: 'Your saved datasets, runs and checkpoints are safe; resume a training run from its last checkpoint.',
      }
    : {
        code: 'ENGINE_CRASHED',
        message: `The training engine stopped unexpectedly (${why}). The rest of the app keeps running.`,
        hint: 'Your saved datasets, runs and checkpoints are safe; resume the run to continue from its last checkpoint.',
      };
}

/** Crashes of the last minute: restart until there were more than `maxPerMinute`. */
export class CrashWindow {
  private crashes: number[] = [];

  constructor(private readonly maxPerMinute = 5) {}

  /** Record a crash now; true when there were too many to restart again. */
  tooMany(now = Date.now()): boolean {
    this.crashes = this.crashes.filter((t) => now - t < 60_000);
    this.crashes.push(now);
    return this.crashes.length > this.maxPerMinute;
  }
}
