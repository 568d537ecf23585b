/** "Promote": make a model bundle from one checkpoint of a run (run.promote), shared by the Scoreboard and the Timeline. */
import { useState } from 'react';
import { call } from '../../studio';
import { notify, reportError } from '../../store/ui';

/** `promoting` is the step being made into a bundle, or null; one promotion at a time per view. */
export function usePromote(runId: string, onPromoted?: () => void): { promoting: number | null; promote(step: number): Promise<void> } {
  const [promoting, setPromoting] = useState<number | null>(null);
  const promote = async (step: number) => {
    setPromoting(step);
    try {
      const r = await call('run.promote', { runId, step });
      notify('Model bundle made', `${r.bundleId} (step ${step}) — find it on the Models, Translate and Latent pages.`, 'success');
      onPromoted?.();
    } catch (e) {
      reportError(`Make a bundle from step ${step}`, e);
    } finally {
      setPromoting(null);
    }
  };
  return { promoting, promote };
}
