/**
 * CycleGAN image pool (Shrivastava et al. 2017): D sees a history of generated images. Until the
 * pool holds `size` images each new fake is stored and returned; after that, with probability
 * 0.5 a random stored image is returned (and replaced by the new one), else the new one.
 * Images are kept as Float32Arrays (no tensors held between steps), so the pool is part of the
 * checkpoint. Decisions come from the run's Rng.
 */
import { tf } from '../backend';
import type { Rng } from './rng';

export class ImagePool {
  images: Float32Array[] = [];
  constructor(readonly size: number) {}

  /** fakes [B, H, W, C] -> the batch D should see. Returns a new tensor. */
  query(fakes: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    if (this.size <= 0) return fakes.clone();
    const [b, h, w, c] = fakes.shape;
    const per = h * w * c;
    const data = fakes.dataSync() as Float32Array;
    const out = new Float32Array(b * per);
    for (let i = 0; i < b; i++) {
      const img = data.slice(i * per, (i + 1) * per);
      if (this.images.length < this.size) {
        this.images.push(img);
        out.set(img, i * per);
      } else if (rng.next() > 0.5) {
        const j = rng.int(this.size);
        out.set(this.images[j]!, i * per);
        this.images[j] = img;
      } else out.set(img, i * per);
    }
    return tf.tensor4d(out, [b, h, w, c]);
  }
}
