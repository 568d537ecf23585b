export { Rng, type RngState } from '../core/rng';
