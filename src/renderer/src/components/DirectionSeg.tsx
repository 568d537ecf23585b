export type Direction = 'AtoB' | 'BtoA';

const DIRECTIONS: Direction[] = ['AtoB', 'BtoA'];

/** A → B / B → A picker for two-domain models (pix2pix training, CycleGAN translation and export). */
export function DirectionSeg({ value, onChange, title, testId }: { value: Direction; onChange(d: Direction): void; title?: string; testId?: string }) {
  return (
    <div className="seg" title={title}>
      {DIRECTIONS.map((d) => (
        <button key={d} type="button" className={value === d ? 'on' : ''} onClick={() => onChange(d)} data-testid={testId ? `${testId}-${d}` : undefined}>
          {d === 'AtoB' ? 'A → B' : 'B → A'}
        </button>
      ))}
    </div>
  );
}
