/**
 * Model options as data: each option has a key, type, default and a one-line meaning. The zod
 * schema that validates them is built from the same table, and train.options sends the table
 * to the UI. A default of null means "chosen from the image size" (resolved by the model).
 */
import { z } from 'zod';
import type { TrainOptionInfo } from '../../../shared/channels/train';
import { LR_POLICIES } from './lr';

/** One option row: the contract's TrainOptionInfo (what train.options sends to the UI). */
export type OptionSpec = TrainOptionInfo;

export function schemaFor(specs: readonly OptionSpec[]): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const s of specs) {
    let t: z.ZodType;
    if (s.type === 'boolean') t = z.boolean();
    else if (s.type === 'enum') t = z.enum(s.choices as [string, ...string[]]);
    else {
      let n = s.type === 'int' ? z.number().int() : z.number();
      if (s.min !== undefined) n = n.min(s.min);
      if (s.max !== undefined) n = n.max(s.max);
      t = n;
    }
    shape[s.key] = s.default === null ? t.nullable().default(null) : (t as z.ZodType<unknown>).default(s.default as never);
  }
  return z.object(shape).strict();
}

/** Parse "k=v" strings (CLI) into typed values using the specs. */
export function parseOptionStrings(specs: readonly OptionSpec[], kv: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of kv) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`--option needs key=value, got "${item}"`);
    const key = item.slice(0, eq);
    const raw = item.slice(eq + 1);
    const spec = specs.find((s) => s.key === key);
    if (!spec) throw new Error(`Unknown option "${key}". Options: ${specs.map((s) => s.key).join(', ')}`);
    if (spec.type === 'boolean') out[key] = raw === 'true' || raw === '1' || raw === 'yes';
    else if (spec.type === 'enum') out[key] = raw;
    else out[key] = raw === 'null' || raw === 'auto' ? null : Number(raw);
  }
  return out;
}

/** Options every model has (optimiser, schedule, data shape, seed). */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { key: 'size', type: 'int', default: 32, min: 8, max: 1024, description: 'Image side in pixels (square, power of two).' },
  { key: 'channels', type: 'int', default: 3, min: 1, max: 4, description: 'Image channels (1 grey, 3 RGB).' },
  { key: 'batchSize', type: 'int', default: 1, min: 1, max: 256, description: 'Images per step.' },
  { key: 'lr', type: 'number', default: 2e-4, min: 0, max: 1, description: 'Adam learning rate.' },
  { key: 'beta1', type: 'number', default: 0.5, min: 0, max: 0.999, description: 'Adam beta1 (0.5 for GANs).' },
  { key: 'beta2', type: 'number', default: 0.999, min: 0, max: 0.9999, description: 'Adam beta2.' },
  { key: 'lrPolicy', type: 'enum', default: 'constant', choices: LR_POLICIES, description: 'Learning-rate schedule: constant, linear decay, step, cosine.' },
  { key: 'lrDecayStart', type: 'number', default: 0.5, min: 0, max: 1, description: 'linear: fraction of the run at constant lr before decaying to 0.' },
  { key: 'lrStepSize', type: 'int', default: 1000, min: 1, description: 'step: steps between learning-rate drops.' },
  { key: 'lrGamma', type: 'number', default: 0.1, min: 0, max: 1, description: 'step: factor applied at each drop.' },
  { key: 'seed', type: 'int', default: 0, min: 0, description: 'Seed for weights, noise, dropout and the image pool.' },
];
