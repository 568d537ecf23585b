// Three-step WebGPU vs cpu training parity (train-parity.ts): gan and cgan in one process, which
// share the DCGAN shaders that SwiftShader compiles on first use.
import { trainParity } from './train-parity';

trainParity(['gan', 'cgan']);
