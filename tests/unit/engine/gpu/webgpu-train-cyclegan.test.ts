// Three-step WebGPU vs cpu training parity (train-parity.ts): cyclegan.
import { trainParity } from './train-parity';

trainParity(['cyclegan']);
