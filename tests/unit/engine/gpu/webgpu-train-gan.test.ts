// Three-step WebGPU vs cpu training parity (train-parity.ts): gan.
import { trainParity } from './train-parity';

trainParity(['gan']);
