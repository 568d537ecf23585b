/**
 * When a job's end deserves a notice: a long job (queued work, training, folder translation)
 * that finished or failed while the user may be elsewhere. The desktop app shows it as a system
 * notification from the main process (the renderer keeps every permission denied); the page shows
 * it in the app and, while hidden, in its title.
 */
import type { EventMap, EventName } from './events';

/** A job shorter than this ends without a notice (the user is still looking at it). */
export const LONG_JOB_MS = 10_000;

export interface JobNotice {
  title: string;
  body: string;
  ok: boolean;
}

export function jobNotice<E extends EventName>(event: E, payload: EventMap[E]): JobNotice | null {
  if (event !== 'job.done' && event !== 'job.failed') return null;
  const p = payload as EventMap['job.done'] | EventMap['job.failed'];
  const j = p.job;
  const ran = (j.endedAt ?? Date.now()) - j.startedAt;
  if ('cancelled' in p && p.cancelled) return null;
  if (ran < LONG_JOB_MS && !j.queue) return null;
  const secs = Math.round(ran / 1000);
  const took = secs >= 90 ? `${Math.round(secs / 60)} min` : `${secs} s`;
  return event === 'job.done'
    ? { title: `Done: ${j.title}`, body: `Finished after ${took}.`, ok: true }
    : { title: `Failed: ${j.title}`, body: (p as EventMap['job.failed']).error.message.slice(0, 200), ok: false };
}
