/**
 * The model options form, generated from the option table train.options sends: one input per
 * option with its default and one-line meaning; null defaults mean "auto" (from the image size).
 */
import type { TrainOptionInfo } from '../../../../shared/channels/train';
/** The option table from train.options (the contract's type). */
export type OptionSpecView = TrainOptionInfo;

export type OptionValues = Record<string, number | boolean | string | null>;

export function defaultsOf(specs: readonly OptionSpecView[]): OptionValues {
  return Object.fromEntries(specs.map((s) => [s.key, s.default]));
}

/** Only the values that differ from the defaults (what we send). */
export function changedOptions(specs: readonly OptionSpecView[], values: OptionValues): OptionValues {
  const out: OptionValues = {};
  for (const s of specs) {
    const v = values[s.key];
    if (v !== undefined && v !== s.default) out[s.key] = v;
  }
  return out;
}

function OptionInput({ s, value, onChange }: { s: OptionSpecView; value: OptionValues[string] | undefined; onChange(v: OptionValues[string]): void }) {
  if (s.type === 'boolean') return <input type="checkbox" checked={!!value} onChange={(e) => onChange(e.currentTarget.checked)} aria-label={s.key} />;
  if (s.type === 'enum')
    return (
      <select value={String(value ?? '')} onChange={(e) => onChange(e.currentTarget.value)} aria-label={s.key}>
        {(s.choices ?? []).map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    );
  return (
    <input
      type="number"
      aria-label={s.key}
      value={value === null || value === undefined ? '' : String(value)}
      placeholder={s.default === null ? 'auto' : String(s.default)}
      step={s.type === 'int' ? 1 : 'any'}
      min={s.min}
      max={s.max}
      onChange={(e) => {
        const raw = e.currentTarget.value;
        if (raw === '') onChange(s.default === null ? null : s.default);
        else onChange(Number(raw));
      }}
    />
  );
}

export function OptionsForm({ specs, values, onChange }: { specs: readonly OptionSpecView[]; values: OptionValues; onChange(v: OptionValues): void }) {
  return (
    <div className="col" data-testid="train-options">
      {specs.map((s) => {
        const v = values[s.key];
        const changed = v !== undefined && v !== s.default;
        return (
          <div className={`field ${s.type === 'boolean' ? 'check-field' : ''}`} key={s.key}>
            <div className="field-row">
              <span className="field-label" style={changed ? { color: 'var(--accent)' } : undefined}>
                {s.key}
              </span>
              <span className="field-hint">default {s.default === null ? 'auto' : String(s.default)}</span>
            </div>
            <OptionInput s={s} value={v} onChange={(nv) => onChange({ ...values, [s.key]: nv })} />
            <span className="field-hint">{s.description}</span>
          </div>
        );
      })}
    </div>
  );
}
