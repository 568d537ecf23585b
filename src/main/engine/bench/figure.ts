/**
 * One measured figure of `atelier bench`. It lives below the engine because the engine's bench
 * sections produce figures and the CLI only prints them (an arrow from engine to cli would run
 * upward).
 */
export interface Figure {
  section: string;
  name: string;
  value: number | null;
  unit: string;
  peer?: number | null;
  /** ours / peer (lower is better for times). */
  ratio?: number | null;
  target?: string;
  met?: boolean | null;
  note?: string;
}
