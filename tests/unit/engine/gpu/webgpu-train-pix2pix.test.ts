// Three-step WebGPU vs cpu training parity (train-parity.ts): pix2pix, autoencoder.
import { trainParity } from './train-parity';

trainParity(['pix2pix', 'autoencoder']);
