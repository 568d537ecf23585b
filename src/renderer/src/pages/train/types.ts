/**
 * What the Train page reads from train.options and run.list, normalised so the page does not
 * depend on the exact envelope (array or {models}/{runs}).
 */
import type { OptionSpecView } from './OptionsForm';

export interface ModelView {
  kind: string;
  title: string;
  description: string;
  data: 'images' | 'labelled' | 'paired' | 'unpaired';
  options: OptionSpecView[];
}

export interface RunView {
  runId: string;
  name: string;
  model: string;
  datasetId: string;
  createdAt?: string;
  state?: string;
  step?: number;
  totalSteps?: number;
  bundleId?: string;
}

function arr(x: unknown, key: string): unknown[] {
  if (Array.isArray(x)) return x;
  if (x && typeof x === 'object' && Array.isArray((x as Record<string, unknown>)[key])) return (x as Record<string, unknown[]>)[key]!;
  return [];
}

export function normaliseModels(x: unknown): ModelView[] {
  return arr(x, 'models').map((m) => {
    const o = m as Record<string, unknown>;
    return {
      kind: String(o.kind ?? o.model ?? ''),
      title: String(o.title ?? o.kind ?? ''),
      description: String(o.description ?? ''),
      data: (o.data ?? 'images') as ModelView['data'],
      options: (o.options ?? []) as OptionSpecView[],
    };
  });
}

export function normaliseRuns(x: unknown): RunView[] {
  return arr(x, 'runs').map((r) => {
    const o = r as Record<string, unknown>;
    const status = (o.status ?? {}) as Record<string, unknown>;
    const opts = (o.options ?? o.run ?? {}) as Record<string, unknown>;
    return {
      runId: String(o.runId ?? o.id ?? ''),
      name: String(o.name ?? opts.name ?? o.runId ?? ''),
      model: String(o.model ?? opts.model ?? ''),
      datasetId: String(o.datasetId ?? opts.datasetId ?? ''),
      createdAt: (o.createdAt ?? opts.createdAt) as string | undefined,
      state: (o.state ?? status.state) as string | undefined,
      step: (o.step ?? status.step) as number | undefined,
      totalSteps: (o.totalSteps ?? status.totalSteps ?? opts.totalSteps) as number | undefined,
      bundleId: (o.bundleId ?? status.bundleId) as string | undefined,
    };
  });
}
