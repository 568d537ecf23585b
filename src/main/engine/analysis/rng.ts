/** The analysis engine uses the engine's one PRNG (src/main/engine/core/rng.ts). */
export { Rng } from '../core/rng';
