/**
 * Image similarity metrics on HWC float32 images (height x width x channels, row-major).
 *
 * - l1 (mean absolute error), mse, rmse, l2 (Euclidean norm of the difference)
 * - psnr = 10 log10(dataRange^2 / mse), dataRange explicit: 1 for [0, 1], 2 for [-1, 1], 255 for bytes
 * - ssim: Wang, Bovik, Sheikh & Simoncelli 2004, computed as scikit-image's
 *   structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 *   data_range=R, channel_axis=-1): an 11-tap Gaussian window (sigma 1.5, truncate 3.5) applied
 *   separably with 'reflect' borders (scipy.ndimage), K1 = 0.01, K2 = 0.03, the SSIM map averaged
 *   over the interior (a 5-pixel border cropped), per channel, then averaged over channels.
 */
import { StudioError } from '../../../shared/errors';

export interface Image {
  height: number;
  width: number;
  channels: number;
  /** HWC, length height * width * channels. */
  data: Float32Array;
}

function checkPair(a: Image, b: Image): void {
  for (const [name, im] of [['first', a], ['second', b]] as const) {
    if (im.data.length !== im.height * im.width * im.channels) {
      throw new StudioError('BAD_INPUT', `The ${name} image has ${im.data.length} values, not height x width x channels = ${im.height} x ${im.width} x ${im.channels}.`);
    }
  }
  if (a.height !== b.height || a.width !== b.width || a.channels !== b.channels) {
    throw new StudioError(
      'BAD_INPUT',
      `Images differ in shape: ${a.height}x${a.width}x${a.channels} vs ${b.height}x${b.width}x${b.channels}; compare images of the same size.`,
    );
  }
  if (a.data.length === 0) throw new StudioError('BAD_INPUT', 'The images are empty.');
  for (const im of [a, b]) {
    for (let i = 0; i < im.data.length; i++) {
      if (!Number.isFinite(im.data[i])) throw new StudioError('BAD_INPUT', `An image contains a non-finite value (${im.data[i]}) at index ${i}.`);
    }
  }
}

export function l1(a: Image, b: Image): number {
  checkPair(a, b);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

export function mse(a: Image, b: Image): number {
  checkPair(a, b);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const e = a.data[i] - b.data[i];
    s += e * e;
  }
  return s / a.data.length;
}

export function rmse(a: Image, b: Image): number {
  return Math.sqrt(mse(a, b));
}

/** Euclidean norm of the difference (not averaged). */
export function l2(a: Image, b: Image): number {
  return Math.sqrt(mse(a, b) * a.data.length);
}

function checkRange(dataRange: number): void {
  if (!(dataRange > 0) || !Number.isFinite(dataRange)) {
    throw new StudioError('BAD_INPUT', `dataRange must be a positive number (1 for [0,1] images, 2 for [-1,1], 255 for bytes); got ${dataRange}.`);
  }
}

/** Peak signal-to-noise ratio in dB; Infinity for identical images. */
export function psnr(a: Image, b: Image, dataRange: number): number {
  checkRange(dataRange);
  const m = mse(a, b);
  if (m === 0) return Infinity;
  return 10 * Math.log10((dataRange * dataRange) / m);
}

export interface SsimOptions {
  sigma?: number;
  /** Gaussian truncation in sigmas (scipy's default 4.0; skimage passes 3.5 -> 11 taps for sigma 1.5). */
  truncate?: number;
  k1?: number;
  k2?: number;
}

/** Normalised 1-D Gaussian taps, radius int(truncate * sigma + 0.5) (scipy.ndimage). */
export function gaussianKernel(sigma: number, truncate: number): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const w = new Float64Array(2 * radius + 1);
  let s = 0;
  for (let i = -radius; i <= radius; i++) {
    w[i + radius] = Math.exp((-0.5 * i * i) / (sigma * sigma));
    s += w[i + radius];
  }
  for (let i = 0; i < w.length; i++) w[i] /= s;
  return w;
}

/** scipy.ndimage 'reflect' (half-sample symmetric: d c b a | a b c d | d c b a). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

/** Separable filter of a single-channel H x W float64 image. */
function filter2d(src: Float64Array, h: number, w: number, taps: Float64Array): Float64Array {
  const r = (taps.length - 1) >> 1;
  const tmp = new Float64Array(h * w);
  const out = new Float64Array(h * w);
  // along rows (axis 0 first, as scipy's gaussian_filter iterates axes in order)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += taps[t + r] * src[reflect(y + t, h) * w + x];
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += taps[t + r] * tmp[y * w + reflect(x + t, w)];
      out[y * w + x] = s;
    }
  }
  return out;
}

/** Mean SSIM of one channel pair (H x W float64). */
function ssimChannel(x: Float64Array, y: Float64Array, h: number, w: number, dataRange: number, o: Required<SsimOptions>): number {
  const taps = gaussianKernel(o.sigma, o.truncate);
  const winSize = taps.length;
  if (h < winSize || w < winSize) {
    throw new StudioError('BAD_INPUT', `SSIM needs images at least ${winSize}x${winSize} pixels (got ${h}x${w}).`, {
      hint: 'Upscale tiny images first or compare with PSNR/L1 instead.',
    });
  }
  const n = h * w;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const ux = filter2d(x, h, w, taps);
  const uy = filter2d(y, h, w, taps);
  const uxx = filter2d(xx, h, w, taps);
  const uyy = filter2d(yy, h, w, taps);
  const uxy = filter2d(xy, h, w, taps);
  const c1 = (o.k1 * dataRange) ** 2;
  const c2 = (o.k2 * dataRange) ** 2;
  const pad = (winSize - 1) >> 1;
  let s = 0;
  let count = 0;
  for (let r = pad; r < h - pad; r++) {
    for (let c = pad; c < w - pad; c++) {
      const i = r * w + c;
      const mx = ux[i];
      const my = uy[i];
      const vx = uxx[i] - mx * mx;
      const vy = uyy[i] - my * my;
      const vxy = uxy[i] - mx * my;
      const a1 = 2 * mx * my + c1;
      const a2 = 2 * vxy + c2;
      const b1 = mx * mx + my * my + c1;
      const b2 = vx + vy + c2;
      s += (a1 * a2) / (b1 * b2);
      count++;
    }
  }
  return s / count;
}

/** Mean structural similarity, averaged over channels. */
export function ssim(a: Image, b: Image, dataRange: number, opts: SsimOptions = {}): number {
  checkPair(a, b);
  checkRange(dataRange);
  const o: Required<SsimOptions> = { sigma: 1.5, truncate: 3.5, k1: 0.01, k2: 0.03, ...opts };
  const { height: h, width: w, channels: ch } = a;
  const x = new Float64Array(h * w);
  const y = new Float64Array(h * w);
  let total = 0;
  for (let c = 0; c < ch; c++) {
    for (let i = 0; i < h * w; i++) {
      x[i] = a.data[i * ch + c];
      y[i] = b.data[i * ch + c];
    }
    total += ssimChannel(x, y, h, w, dataRange, o);
  }
  return total / ch;
}
