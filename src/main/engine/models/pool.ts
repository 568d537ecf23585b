/**
 * CycleGAN image pool (Shrivastava et al. 2017): D sees a history of generated images. Until the
 * pool holds `size` images each new fake is stored and returned; after that, with probability
 * 0.5 a random stored image is returned (and replaced by the new one), else the new one.
 * Images are kept as Float32Arrays (no tensors held between steps), so the pool is part of the
 * checkpoint. Decisions come from the run's Rng.
 */
import { tf } from '../backend';
import type { Rng } from './rng';
import { syncReads } from './base';

export class ImagePool {
  /**
   * Stored images: arrays on the host, or (on a backend without synchronous reads, webgpu) kept
   * tensors until `settle()` reads them for a checkpoint. Decisions never look at the data, so
   * both paths make the same choices from the same Rng.
   */
  private entries: (Float32Array | tf.Tensor3D)[] = [];
  constructor(readonly size: number) {}

  /** The stored images as arrays (call `settle()` first where the backend is webgpu). */
  get images(): Float32Array[] {
    return this.entries.map((e) => {
      if (e instanceof Float32Array) return e;
      throw new Error('image pool holds GPU tensors: settle() it first');
    });
  }

  setImages(images: Float32Array[]): void {
    this.dispose();
    this.entries = images;
  }

  /** Read every stored tensor back into an array (checkpoints). */
  async settle(): Promise<void> {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e instanceof Float32Array) continue;
      this.entries[i] = (await e.data()) as Float32Array;
      e.dispose();
    }
  }

  dispose(): void {
    for (const e of this.entries) if (!(e instanceof Float32Array)) e.dispose();
    this.entries = [];
  }

  /** fakes [B, H, W, C] -> the batch D should see. Returns a new tensor. */
  query(fakes: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    if (this.size <= 0) return fakes.clone();
    if (!syncReads()) return this.queryTensors(fakes, rng);
    const [b, h, w, c] = fakes.shape;
    const per = h * w * c;
    const data = fakes.dataSync() as Float32Array;
    const out = new Float32Array(b * per);
    for (let i = 0; i < b; i++) {
      const img = data.slice(i * per, (i + 1) * per);
      if (this.entries.length < this.size) {
        this.entries.push(img);
        out.set(img, i * per);
      } else if (rng.next() > 0.5) {
        const j = rng.int(this.size);
        out.set(this.asArray(j), i * per);
        this.entries[j] = img;
      } else out.set(img, i * per);
    }
    return tf.tensor4d(out, [b, h, w, c]);
  }

  private asArray(j: number): Float32Array {
    const e = this.entries[j]!;
    if (e instanceof Float32Array) return e;
    const d = e.dataSync() as Float32Array;
    e.dispose();
    this.entries[j] = d;
    return d;
  }

  /** The same choices as `query`, without reading the GPU: the pool keeps tensor slices. */
  private queryTensors(fakes: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    const [b, h, w, c] = fakes.shape;
    const asTensor = (e: Float32Array | tf.Tensor3D) => (e instanceof Float32Array ? tf.tensor3d(e, [h, w, c]) : e.clone());
    return tf.tidy(() => {
      const picked: tf.Tensor3D[] = [];
      for (let i = 0; i < b; i++) {
        const img = tf.keep(tf.reshape(tf.slice(fakes, [i, 0, 0, 0], [1, h, w, c]), [h, w, c]) as tf.Tensor3D);
        if (this.entries.length < this.size) {
          this.entries.push(img);
          picked.push(img.clone());
        } else if (rng.next() > 0.5) {
          const j = rng.int(this.size);
          const old = this.entries[j]!;
          picked.push(asTensor(old));
          if (!(old instanceof Float32Array)) old.dispose();
          this.entries[j] = img;
        } else {
          picked.push(img.clone());
          img.dispose();
        }
      }
      return tf.stack(picked) as tf.Tensor4D;
    });
  }
}
