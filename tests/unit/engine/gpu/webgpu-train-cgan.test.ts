// Three-step WebGPU vs cpu training parity (train-parity.ts): cgan.
import { trainParity } from './train-parity';

trainParity(['cgan']);
