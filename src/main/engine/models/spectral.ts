/**
 * Spectral-norm constraint for a discriminator (anti-collapse, SNGAN-like): after every update of
 * the network, each kernel W, seen as a matrix [fanIn, out] (conv [kh, kw, cin, cout] ->
 * [kh*kw*cin, cout]; dense [in, out]; embedding [classes, dim]), whose largest singular value
 * sigma exceeds 1 is divided by sigma. So every layer is at most 1-Lipschitz and the network's
 * gradients stay bounded, which is what keeps the generator from collapsing onto a few outputs.
 *
 * sigma comes from one power iteration per step with a persistent vector u per kernel (Miyato et
 * al. 2018, "Spectral normalization for GANs"): the estimate sharpens as training goes. Unlike
 * Miyato's reparametrisation W/sigma(W) inside the forward pass (gradient through sigma), this is
 * the projected-gradient form of Gouk et al. 2021 ("Regularisation of neural networks by enforcing
 * Lipschitz continuity"): cheaper here (no extra ops in the graph), same constraint.
 * The u vectors are training state: checkpoints store them (arrays()/setArrays()).
 */
import { tf } from '../backend';
import type { NamedArray } from './base';

/** The kernels of a network that the constraint applies to (conv, dense, embedding; not biases/BN). */
export function constrainedKernels(net: tf.LayersModel): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const layer of net.layers) {
    const cls = layer.getClassName();
    if (cls === 'Conv2D' || cls === 'Dense' || cls === 'Embedding') out.push(layer.trainableWeights[0]!.read() as tf.Variable);
  }
  return out;
}

export class SpectralConstraint {
  private readonly u: tf.Variable[];

  constructor(private readonly kernels: tf.Variable[], seed: number) {
    this.u = kernels.map((k, i) =>
      tf.tidy(() => {
        const out = k.shape[k.shape.length - 1]!;
        const r = tf.randomNormal([out, 1], 0, 1, 'float32', seed + i);
        return tf.variable(tf.div(r, tf.norm(r)), false);
      }),
    );
  }

  /** One power iteration per kernel, then W <- W / max(1, sigma). Returns nothing; no tensors leak. */
  apply(): void {
    tf.tidy(() => {
      this.kernels.forEach((w, i) => {
        const out = w.shape[w.shape.length - 1]!;
        const m = tf.reshape(w, [-1, out]) as tf.Tensor2D;
        const u = this.u[i]!;
        const v0 = tf.matMul(m, u); // [fanIn, 1]
        const v = tf.div(v0, tf.add(tf.norm(v0), 1e-12));
        const u0 = tf.matMul(m, v, true, false); // [out, 1]
        const uNew = tf.div(u0, tf.add(tf.norm(u0), 1e-12));
        const sigma = tf.sum(tf.mul(v, tf.matMul(m, uNew)));
        u.assign(uNew as tf.Tensor2D);
        w.assign(tf.div(w, tf.maximum(sigma, 1)));
      });
    });
  }

  /** Current sigma estimates (diagnostics, tests). */
  sigmas(): number[] {
    return this.kernels.map((w, i) =>
      tf.tidy(() => {
        const out = w.shape[w.shape.length - 1]!;
        const m = tf.reshape(w, [-1, out]) as tf.Tensor2D;
        const v0 = tf.matMul(m, this.u[i]!);
        return tf.norm(v0).dataSync()[0]!;
      }),
    );
  }

  async arrays(prefix: string): Promise<NamedArray[]> {
    const data = await Promise.all(this.u.map((u) => u.data()));
    return this.u.map((u, i) => ({ name: `${prefix}/${i}`, shape: u.shape, dtype: 'float32' as const, data: data[i] as Float32Array }));
  }

  setArrays(prefix: string, arrays: NamedArray[]): void {
    const byName = new Map(arrays.map((a) => [a.name, a]));
    this.u.forEach((u, i) => {
      const a = byName.get(`${prefix}/${i}`);
      if (!a) return; // checkpoint from before the constraint: keep the fresh vectors
      tf.tidy(() => u.assign(tf.tensor(a.data, a.shape, 'float32')));
    });
  }

  dispose(): void {
    tf.dispose(this.u);
  }
}
