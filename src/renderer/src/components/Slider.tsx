import * as RS from '@radix-ui/react-slider';

/** Accessible slider (Radix): keyboard, screen readers, pointer. */
export function Slider({
  value,
  min,
  max,
  step = 1,
  onChange,
  onCommit,
  label,
  disabled,
  testId,
  centered,
}: {
  value: number;
  min: number;
  max: number;
  step?: number;
  onChange(v: number): void;
  onCommit?(v: number): void;
  label: string;
  disabled?: boolean;
  testId?: string;
  /** Draw the range from the middle (for signed values like sigma offsets). */
  centered?: boolean;
}) {
  return (
    <RS.Root
      className={`slider ${centered ? 'centered' : ''}`}
      value={[value]}
      min={min}
      max={max}
      step={step}
      disabled={disabled}
      onValueChange={(v) => onChange(v[0]!)}
      onValueCommit={onCommit ? (v) => onCommit(v[0]!) : undefined}
      data-testid={testId}
    >
      <RS.Track className="slider-track">
        <RS.Range className="slider-range" />
      </RS.Track>
      <RS.Thumb className="slider-thumb" aria-label={label} />
    </RS.Root>
  );
}

export function LabeledSlider(props: Parameters<typeof Slider>[0] & { format?: (v: number) => string; hint?: string }) {
  const { format, hint, ...rest } = props;
  return (
    <div className="field slider-field">
      <div className="field-row">
        <span className="field-label" title={hint}>
          {props.label}
        </span>
        <span className="field-value">{format ? format(props.value) : props.value}</span>
      </div>
      <Slider {...rest} />
    </div>
  );
}
