/**
 * Jobs as the UI sees them, fed by job.* events (and job.list once at start). Pages start a job
 * through a channel that answers {jobId}, then `waitForJob(jobId)` for its result; the bottom
 * strip shows every job that is running.
 */
import { create } from 'zustand';
import type { JobInfo } from '../../../shared/channels/job';
import type { EventMap } from '../../../shared/events';
import { StudioError } from '../../../shared/errors';
import { jobNotice, type JobNotice } from '../../../shared/notices';
import { notify } from './ui';

/** A job as the contract describes it, plus the live figures of its latest progress event. */
export interface JobView extends JobInfo {
  etaSec?: number;
  stepsPerSec?: number;
  epoch?: number;
  result?: unknown;
  losses?: Record<string, number>;
  metrics?: Record<string, number>;
}

export interface LossHistory {
  steps: number[];
  series: Record<string, number[]>;
}

export interface SampleView {
  step: number;
  png: Uint8Array;
  width: number;
  height: number;
  caption?: string;
}

interface JobsState {
  jobs: Record<string, JobView>;
  losses: Record<string, LossHistory>;
  samples: Record<string, SampleView>;
  fromInfo(info: JobInfo): void;
  progress(p: EventMap['job.progress']): void;
  sample(s: EventMap['job.sample']): void;
  done(p: EventMap['job.done']): void;
  failed(p: EventMap['job.failed']): void;
  forget(id: string): void;
}

const MAX_POINTS = 50_000;

function merge(prev: JobView | undefined, info: JobInfo): JobView {
  return { ...(prev ?? {}), ...info } as JobView;
}

export const useJobs = create<JobsState>((set) => ({
  jobs: {},
  losses: {},
  samples: {},
  fromInfo: (info) => set((s) => ({ jobs: { ...s.jobs, [info.id]: merge(s.jobs[info.id], info) } })),
  progress: (p) =>
    set((s) => {
      const prev = s.jobs[p.jobId];
      const base: JobView = prev ?? { id: p.jobId, kind: 'job', title: 'Job', state: 'running', startedAt: Date.now(), step: 0, total: 0 };
      let state = base.state;
      if (p.message === 'paused') state = 'paused';
      else if (p.message === 'resumed') state = 'running';
      const next: JobView = {
        ...base,
        state,
        step: p.step,
        total: p.total,
        ...(p.message !== undefined ? { message: p.message } : {}),
        ...(p.etaSec !== undefined ? { etaSec: p.etaSec } : {}),
        ...(p.stepsPerSec !== undefined ? { stepsPerSec: p.stepsPerSec } : {}),
        ...(p.epoch !== undefined ? { epoch: p.epoch } : {}),
        ...(p.losses ? { losses: p.losses } : {}),
        ...(p.metrics ? { metrics: p.metrics } : {}),
      };
      let losses = s.losses;
      if (p.losses && Object.keys(p.losses).length) {
        const h = s.losses[p.jobId] ?? { steps: [], series: {} };
        // Append in place would not re-render; copy the arrays only when needed (cheap enough at UI rates).
        const steps = h.steps.length >= MAX_POINTS ? h.steps.slice(-MAX_POINTS / 2) : h.steps.slice();
        const cut = h.steps.length - steps.length;
        const series: Record<string, number[]> = {};
        const names = new Set([...Object.keys(h.series), ...Object.keys(p.losses)]);
        for (const n of names) {
          const arr = (h.series[n] ?? new Array<number>(h.steps.length).fill(NaN)).slice(cut);
          arr.push(p.losses[n] ?? NaN);
          series[n] = arr;
        }
        steps.push(p.step);
        losses = { ...s.losses, [p.jobId]: { steps, series } };
      }
      return { jobs: { ...s.jobs, [p.jobId]: next }, losses };
    }),
  sample: (smp) =>
    set((s) => ({
      samples: {
        ...s.samples,
        [smp.jobId]: { step: smp.step, png: smp.png, width: smp.width, height: smp.height, ...(smp.caption ? { caption: smp.caption } : {}) },
      },
    })),
  done: (p) => set((s) => ({ jobs: { ...s.jobs, [p.jobId]: { ...merge(s.jobs[p.jobId], p.job), result: p.result } } })),
  failed: (p) =>
    set((s) => ({
      jobs: { ...s.jobs, [p.jobId]: { ...merge(s.jobs[p.jobId], p.job), state: p.cancelled ? 'cancelled' : 'failed', error: p.error } },
    })),
  forget: (id) =>
    set((s) => {
      const jobs = { ...s.jobs };
      delete jobs[id];
      return { jobs };
    }),
}));

export const isActive = (j: JobView) => j.state === 'running' || j.state === 'paused' || j.state === 'queued';

type Waiter = { resolve: (r: unknown) => void; reject: (e: unknown) => void };
const waiters = new Map<string, Waiter[]>();

function settle(id: string) {
  const j = useJobs.getState().jobs[id];
  if (!j || isActive(j)) return;
  const ws = waiters.get(id);
  if (!ws) return;
  waiters.delete(id);
  for (const w of ws) {
    if (j.state === 'done') w.resolve(j.result);
    else {
      const e = j.error ?? { code: j.state === 'cancelled' ? 'CANCELLED' : 'INTERNAL', message: `${j.title} ${j.state}.` };
      w.reject(new StudioError(e.code, e.message, { hint: e.hint, details: e.details }));
    }
  }
}

/** Resolves with the job's result on job.done; rejects with a StudioError on job.failed/cancel. */
export function waitForJob<T = unknown>(jobId: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const list = waiters.get(jobId) ?? [];
    list.push({ resolve: resolve as (r: unknown) => void, reject });
    waiters.set(jobId, list);
    settle(jobId);
  });
}

let unseen = 0;
const baseTitle = typeof document !== 'undefined' ? document.title : '';

/**
 * A long job ended: a notice in the app, and while the page is hidden a count in its title (the
 * browser's badge) until it is seen again; in a browser where notifications were granted, also a
 * desktop notification (the desktop app's comes from its main process).
 */
function announce(n: JobNotice | null): void {
  if (!n || typeof document === 'undefined') return;
  notify(n.title, n.body, n.ok ? 'success' : 'info');
  if (document.visibilityState === 'hidden') {
    unseen++;
    document.title = `(${unseen}) ${baseTitle}`;
    const seen = () => {
      if (document.visibilityState !== 'visible') return;
      unseen = 0;
      document.title = baseTitle;
      document.removeEventListener('visibilitychange', seen);
    };
    document.addEventListener('visibilitychange', seen);
    if (typeof Notification !== 'undefined' && Notification.permission === 'granted') new Notification(n.title, { body: n.body });
  }
}

/** Subscribe the store to the engine's job events. Returns the unsubscribe. */
export function connectJobEvents(on: <E extends keyof EventMap>(e: E, cb: (p: EventMap[E]) => void) => () => void): () => void {
  const st = () => useJobs.getState();
  const offs = [
    on('job.started', (info) => st().fromInfo(info)),
    on('job.updated', (info) => st().fromInfo(info)),
    on('job.progress', (p) => st().progress(p)),
    on('job.sample', (s) => st().sample(s)),
    on('job.done', (p) => {
      st().done(p);
      settle(p.jobId);
      announce(jobNotice('job.done', p));
    }),
    on('job.failed', (p) => {
      st().failed(p);
      settle(p.jobId);
      announce(jobNotice('job.failed', p));
    }),
  ];
  return () => offs.forEach((off) => off());
}
