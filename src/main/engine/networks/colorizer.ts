/**
 * Colouriser generator (greyscale -> colour): a U-Net predicts only chroma, the grey input is
 * kept as the luminance (Zhang et al. 2016, "Colorful Image Colorization"; pix2pix's colourisation
 * experiments work in Lab the same way). Chroma is smooth, so it may be predicted at a reduced
 * resolution and upsampled bilinearly: no high-frequency colour noise or checkerboard, and every
 * edge of the output is an edge of the input. The decoder up-samples by bilinear resize + conv, not
 * transposed convs: their checkerboard, even faint, costs SSIM in flat regions (measured on the
 * demo's held-out crops: blurring such a model's chroma raised SSIM from 0.68 to 0.78).
 *
 *   input   [B, S, S, 1]   grey in [-1, 1]
 *   chroma  [B, S, S, 2]   U-Net (outChannels 2, outputScale chromaScale, upsample 'resize'): Cb', Cr' in [-1, 1]
 *   output  [B, S, S, 3]   ChromaToRgb(input, chroma): RGB in [-1, 1], luminance = the input's
 */
import { tf } from '../backend';
import { ChromaToRgb } from '../layers';
import type { ST } from './common';
import { unetOutput, type UnetOptions } from './unet';

export interface ColorizerOptions extends Omit<UnetOptions, 'inChannels' | 'outChannels' | 'outputScale' | 'upsample'> {
  /** Chroma is predicted at S / chromaScale (a power of two; 1 = full resolution). */
  chromaScale: number;
}

export function colorizerGenerator(o: ColorizerOptions): tf.LayersModel {
  const input = tf.input({ shape: [o.size, o.size, 1], name: 'input' });
  const chroma = unetOutput(input, { ...o, inChannels: 1, outChannels: 2, outputScale: o.chromaScale, upsample: 'resize' });
  const output = new ChromaToRgb({ name: 'chroma_to_rgb' }).apply([input, chroma]) as ST;
  return tf.model({ inputs: input, outputs: output, name: o.name ?? 'colorizer_generator' });
}
