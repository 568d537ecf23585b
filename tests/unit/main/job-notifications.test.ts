/** The desktop app's notification when a long job ends: shown only while the window is not in front; a click reveals it. */
import { describe, expect, it } from 'vitest';
import { jobNotifier, type NotifyDeps } from '../../../src/main/job-notifications';
import type { JobInfo } from '../../../src/shared/channels/job';

function deps(focused: boolean) {
  const shown: { title: string; body: string; silent: boolean }[] = [];
  const clicks: (() => void)[] = [];
  let revealed = 0;
  const d: NotifyDeps = {
    supported: () => true,
    focused: () => focused,
    create: (o) => ({ on: (_e, cb) => void clicks.push(cb), show: () => void shown.push(o) }),
    reveal: () => void revealed++,
  };
  return { d, shown, clicks, revealed: () => revealed };
}

const job = (over: Partial<JobInfo>): JobInfo => ({ id: 'j', kind: 'infer.translateFolder', title: 'Translate edges with E2F', state: 'done', startedAt: 0, endedAt: 2000, step: 2, total: 2, queue: 'work', ...over });

describe('desktop notifications of job ends', () => {
  it('a queued job that ends while the window is in the background: a notification; its click brings the window back', () => {
    const { d, shown, clicks, revealed } = deps(false);
    const notify = jobNotifier(d);
    notify('job.done', { jobId: 'j', job: job({}), result: null });
    expect(shown).toEqual([{ title: 'Done: Translate edges with E2F', body: 'Finished after 2 s.', silent: true }]);
    clicks[0]!();
    expect(revealed()).toBe(1);
    notify('job.failed', { jobId: 'k', job: job({ id: 'k', state: 'failed', title: 'Train pix2pix' }), error: { code: 'INTERNAL', message: 'out of memory' }, cancelled: false });
    expect(shown[1]).toEqual({ title: 'Failed: Train pix2pix', body: 'out of memory', silent: false });
  });

  it('nothing while the window is in front, for a cancel, for a short job outside the queue, or for other events', () => {
    const front = deps(true);
    jobNotifier(front.d)('job.done', { jobId: 'j', job: job({}), result: null });
    expect(front.shown).toEqual([]);
    const back = deps(false);
    const notify = jobNotifier(back.d);
    notify('job.failed', { jobId: 'j', job: job({ state: 'cancelled' }), error: { code: 'CANCELLED', message: 'x' }, cancelled: true });
    const { queue: _q, ...short } = job({ kind: 'analysis.pca' });
    notify('job.done', { jobId: 'j', job: short, result: null });
    notify('job.progress', { jobId: 'j', step: 1, total: 2 });
    expect(back.shown).toEqual([]);
  });
});
