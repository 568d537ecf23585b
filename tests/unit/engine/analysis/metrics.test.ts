import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gaussianKernel, l1, l2, mse, psnr, rmse, ssim, type Image } from '../../../../src/main/engine/analysis/metrics';
import { Rng } from '../../../../src/main/engine/analysis/rng';

const here = dirname(fileURLToPath(import.meta.url));

function constant(h: number, w: number, c: number, v: number): Image {
  return { height: h, width: w, channels: c, data: new Float32Array(h * w * c).fill(v) };
}
function random(h: number, w: number, c: number, seed: number): Image {
  const rng = new Rng(seed);
  return { height: h, width: w, channels: c, data: Float32Array.from({ length: h * w * c }, () => rng.next()) };
}

describe('pixel metrics', () => {
  it('L1, MSE, RMSE, L2 on a known pair', () => {
    const a: Image = { height: 1, width: 2, channels: 2, data: Float32Array.from([0, 0, 0, 0]) };
    const b: Image = { height: 1, width: 2, channels: 2, data: Float32Array.from([1, -1, 3, 1]) };
    expect(l1(a, b)).toBe(6 / 4);
    expect(mse(a, b)).toBe(12 / 4);
    expect(rmse(a, b)).toBe(Math.sqrt(3));
    expect(l2(a, b)).toBe(Math.sqrt(12));
  });

  it('PSNR = 10 log10(R^2 / MSE) with an explicit data range', () => {
    const a = constant(4, 4, 3, 0.5);
    const b = constant(4, 4, 3, 0.25);
    // MSE = 0.0625: PSNR = 10 log10(1 / 0.0625) = 12.0412 dB for [0,1]; 10 log10(4 / 0.0625) = 18.0618 for [-1,1]
    expect(psnr(a, b, 1)).toBeCloseTo(10 * Math.log10(16), 10);
    expect(psnr(a, b, 2)).toBeCloseTo(10 * Math.log10(64), 10);
    expect(psnr(a, a, 1)).toBe(Infinity);
    expect(() => psnr(a, b, 0)).toThrow(/dataRange/);
  });

  it('rejects shape mismatches and non-finite values', () => {
    expect(() => mse(constant(2, 2, 1, 0), constant(2, 3, 1, 0))).toThrow(/differ in shape/);
    const bad = constant(2, 2, 1, 0);
    bad.data[3] = NaN;
    expect(() => mse(bad, constant(2, 2, 1, 0))).toThrow(/non-finite/);
  });
});

describe('SSIM (Wang et al. 2004, skimage gaussian_weights=True)', () => {
  it('uses an 11-tap Gaussian window for sigma 1.5', () => {
    const w = gaussianKernel(1.5, 3.5);
    expect(w.length).toBe(11);
    expect(w.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
    expect(w[5] / w[4]).toBeCloseTo(Math.exp(0.5 / 2.25), 14);
  });

  it('SSIM(x, x) = 1', () => {
    const x = random(16, 16, 3, 1);
    expect(ssim(x, x, 1)).toBeCloseTo(1, 12);
  });

  it('two constant images: (2ab + C1) / (a^2 + b^2 + C1), derived by hand', () => {
    // Constant images: all local variances and the covariance are 0, so the contrast-structure
    // factor is C2 / C2 = 1 and SSIM is the luminance term with C1 = (0.01 R)^2 at every pixel.
    const a = Math.fround(0.2);
    const b = Math.fround(0.6);
    const C1 = 1e-4;
    const want = (2 * a * b + C1) / (a * a + b * b + C1); // = 0.2401 / 0.4001 ≈ 0.60010
    expect(ssim(constant(12, 12, 1, a), constant(12, 12, 1, b), 1)).toBeCloseTo(want, 12);
    expect(want).toBeCloseTo(0.2401 / 0.4001, 6);
    // for [-1,1] data (R = 2) C1 = 4e-4
    const want2 = (2 * a * b + 4e-4) / (a * a + b * b + 4e-4);
    expect(ssim(constant(12, 12, 2, a), constant(12, 12, 2, b), 2)).toBeCloseTo(want2, 12);
  });

  it('matches the scipy.ndimage transcription of skimage on a random pair (fixtures/ssim.json)', () => {
    const fx = JSON.parse(readFileSync(join(here, 'fixtures/ssim.json'), 'utf8')) as {
      height: number;
      width: number;
      channels: number;
      x: number[];
      y: number[];
      ssim_range1: number;
      ssim_range2_pm1: number;
      mse: number;
      psnr_range1: number;
    };
    const mk = (v: number[]): Image => ({ height: fx.height, width: fx.width, channels: fx.channels, data: Float32Array.from(v) });
    const x = mk(fx.x);
    const y = mk(fx.y);
    expect(ssim(x, y, 1)).toBeCloseTo(fx.ssim_range1, 12);
    expect(mse(x, y)).toBeCloseTo(fx.mse, 12);
    expect(psnr(x, y, 1)).toBeCloseTo(fx.psnr_range1, 10);
    // the same pair mapped to [-1, 1] (data range 2): SSIM is not shift-invariant (luminance term)
    const pm = (im: Image): Image => ({ ...im, data: im.data.map((v) => 2 * v - 1) });
    expect(ssim(pm(x), pm(y), 2)).toBeCloseTo(fx.ssim_range2_pm1, 6);
  });

  it('decreases with noise and rejects images smaller than the window', () => {
    const x = random(24, 24, 1, 3);
    const rng = new Rng(8);
    const noisy = (s: number): Image => ({ ...x, data: x.data.map((v) => v + s * rng.normal()) });
    const s1 = ssim(x, noisy(0.05), 1);
    const s2 = ssim(x, noisy(0.3), 1);
    expect(s1).toBeLessThan(1);
    expect(s2).toBeLessThan(s1);
    expect(() => ssim(constant(8, 8, 1, 0), constant(8, 8, 1, 0), 1)).toThrow(/at least 11x11/);
  });
});
