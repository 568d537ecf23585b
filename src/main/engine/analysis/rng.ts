/** The analysis engine uses the engine's one PRNG (src/main/engine/rng.ts). */
export { Rng } from '../rng';
