/**
 * Colour statistics of RGB images (HWC, interleaved), used to pick demo crops and to score
 * colour models:
 *
 * - colourfulness: Hasler & Süsstrunk 2003, "Measuring colourfulness in natural images":
 *     rg = R - G, yb = (R + G) / 2 - B, M = sqrt(sd(rg)^2 + sd(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2)
 *   on the 0..255 scale (the paper's: ~0 grey, ~15 slightly, ~33 moderately, ~59 quite,
 *   ~82 highly, ~109 extremely colourful). A grey image scores exactly 0.
 * - hueShares: of the chromatic pixels (HSV saturation >= 0.3 and value >= 0.2), the share
 *   whose hue is "green" (75..165 degrees) and "warm" (red, orange, yellow: < 60 or >= 330).
 * - foliageDomain: 'green' when at least 40 % of the pixels are chromatic and 80 % of those are
 *   green, 'autumn' for the same with warm hues, else null. The green <-> autumn demo picks its
 *   crops with it, and its evaluation counts translated crops that land in the other domain.
 */

/** Values in `scale` units (255 for bytes, 1 for [0, 1] floats); channels >= 3 (RGB first). */
export interface RgbPixels {
  data: ArrayLike<number>;
  channels: number;
  /** The value of full intensity: 255 for uint8, 1 for [0, 1]. */
  scale: number;
}

export function colourfulness(img: RgbPixels): number {
  const { data, channels: c } = img;
  const k = 255 / img.scale;
  const n = Math.floor(data.length / c);
  if (n === 0 || c < 3) return 0;
  let srg = 0;
  let syb = 0;
  let qrg = 0;
  let qyb = 0;
  for (let i = 0; i < n; i++) {
    const r = data[i * c]! * k;
    const g = data[i * c + 1]! * k;
    const b = data[i * c + 2]! * k;
    const rg = r - g;
    const yb = 0.5 * (r + g) - b;
    srg += rg;
    syb += yb;
    qrg += rg * rg;
    qyb += yb * yb;
  }
  const mrg = srg / n;
  const myb = syb / n;
  const vrg = Math.max(0, qrg / n - mrg * mrg);
  const vyb = Math.max(0, qyb / n - myb * myb);
  return Math.sqrt(vrg + vyb) + 0.3 * Math.sqrt(mrg * mrg + myb * myb);
}

export interface HueShares {
  /** Share of all pixels that are chromatic. */
  chromatic: number;
  /** Shares of the chromatic pixels (0 when there are none). */
  green: number;
  warm: number;
}

export const CHROMA = { minSaturation: 0.3, minValue: 0.2 } as const;
export const HUES = { green: [75, 165], warmBelow: 60, warmFrom: 330 } as const;

export function hueShares(img: RgbPixels): HueShares {
  const { data, channels: c, scale } = img;
  const n = Math.floor(data.length / c);
  let chrom = 0;
  let green = 0;
  let warm = 0;
  for (let i = 0; i < n; i++) {
    const r = data[i * c]! / scale;
    const g = data[i * c + 1]! / scale;
    const b = data[i * c + 2]! / scale;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    if (max < CHROMA.minValue || max <= 0 || (max - min) / max < CHROMA.minSaturation) continue;
    chrom++;
    const d = max - min;
    let h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    h *= 60;
    if (h < 0) h += 360;
    if (h >= HUES.green[0] && h < HUES.green[1]) green++;
    else if (h < HUES.warmBelow || h >= HUES.warmFrom) warm++;
  }
  return { chromatic: n ? chrom / n : 0, green: chrom ? green / chrom : 0, warm: chrom ? warm / chrom : 0 };
}

export type FoliageDomain = 'green' | 'autumn';
export const DOMAIN_RULE = { minChromatic: 0.4, minShare: 0.8 } as const;

export function foliageDomain(s: HueShares): FoliageDomain | null {
  if (s.chromatic < DOMAIN_RULE.minChromatic) return null;
  if (s.green >= DOMAIN_RULE.minShare) return 'green';
  if (s.warm >= DOMAIN_RULE.minShare) return 'autumn';
  return null;
}
