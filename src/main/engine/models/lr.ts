/**
 * Learning-rate policies, a pure function of the step (so the schedule position in a checkpoint
 * is just the step):
 *   constant  lr
 *   linear    lr until decayStart * totalSteps, then linearly to 0 at totalSteps (pix2pix/CycleGAN:
 *             n_epochs constant + n_epochs_decay linear, decayStart 0.5)
 *   step      lr * gamma^floor(step / stepSize)
 *   cosine    0.5 * lr * (1 + cos(pi * step / totalSteps))
 */
export type LrPolicy = 'constant' | 'linear' | 'step' | 'cosine';
export const LR_POLICIES: readonly LrPolicy[] = ['constant', 'linear', 'step', 'cosine'];

export interface LrSchedule {
  lr: number;
  policy: LrPolicy;
  totalSteps: number;
  /** linear: fraction of totalSteps before the decay starts. */
  decayStart: number;
  /** step: steps between drops. */
  stepSize: number;
  /** step: factor per drop. */
  gamma: number;
}

export function lrAt(step: number, s: LrSchedule): number {
  const total = Math.max(1, s.totalSteps);
  switch (s.policy) {
    case 'constant':
      return s.lr;
    case 'linear': {
      const start = Math.floor(s.decayStart * total);
      if (step < start) return s.lr;
      const span = Math.max(1, total - start);
      return s.lr * Math.max(0, 1 - (step - start) / span);
    }
    case 'step':
      return s.lr * s.gamma ** Math.floor(step / Math.max(1, s.stepSize));
    case 'cosine':
      return 0.5 * s.lr * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
  }
}
