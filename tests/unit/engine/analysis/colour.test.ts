import { describe, expect, it } from 'vitest';
import { colourfulness, foliageDomain, hueShares } from '../../../../src/main/engine/analysis/colour';

const fill = (n: number, rgb: [number, number, number]) => Uint8Array.from({ length: n * 3 }, (_, i) => rgb[i % 3]!);

describe('colourfulness (Hasler & Süsstrunk)', () => {
  it('is 0 for any grey image and does not depend on the value scale', () => {
    const grey = Uint8Array.from({ length: 300 }, (_, i) => Math.floor(i / 3) * 2);
    expect(colourfulness({ data: grey, channels: 3, scale: 255 })).toBe(0);
    const red = fill(10, [200, 40, 40]);
    const asFloat = Float32Array.from(red, (v) => v / 255);
    expect(colourfulness({ data: asFloat, channels: 3, scale: 1 })).toBeCloseTo(colourfulness({ data: red, channels: 3, scale: 255 }), 3);
  });

  it('matches the formula on a hand-computed two-colour image', () => {
    // Half (255,0,0), half (0,0,255): rg = 255 | 0, yb = 127.5 | -255.
    const img = new Uint8Array([255, 0, 0, 0, 0, 255]);
    const sdRg = 127.5;
    const sdYb = 191.25;
    const mRg = 127.5;
    const mYb = -63.75;
    const want = Math.hypot(sdRg, sdYb) + 0.3 * Math.hypot(mRg, mYb);
    expect(colourfulness({ data: img, channels: 3, scale: 255 })).toBeCloseTo(want, 6);
  });

  it('ranks a saturated image above a muted one', () => {
    const muted = new Uint8Array([140, 120, 110, 110, 130, 140]);
    const vivid = new Uint8Array([250, 30, 20, 20, 60, 250]);
    expect(colourfulness({ data: vivid, channels: 3, scale: 255 })).toBeGreaterThan(colourfulness({ data: muted, channels: 3, scale: 255 }) * 3);
  });
});

describe('hue shares and the foliage domain rule', () => {
  it('calls leaf green green, orange autumn, grey and mixed crops neither', () => {
    const green = hueShares({ data: fill(50, [60, 170, 40]), channels: 3, scale: 255 });
    expect(green).toEqual({ chromatic: 1, green: 1, warm: 0 });
    expect(foliageDomain(green)).toBe('green');
    expect(foliageDomain(hueShares({ data: fill(50, [230, 120, 20]), channels: 3, scale: 255 }))).toBe('autumn');
    expect(foliageDomain(hueShares({ data: fill(50, [240, 210, 10]), channels: 3, scale: 255 }))).toBe('autumn'); // yellow
    expect(foliageDomain(hueShares({ data: fill(50, [120, 120, 120]), channels: 3, scale: 255 }))).toBeNull();
    const half = new Uint8Array([...fill(5, [60, 170, 40]), ...fill(5, [230, 120, 20])]);
    expect(hueShares({ data: half, channels: 3, scale: 255 })).toMatchObject({ green: 0.5, warm: 0.5 });
    expect(foliageDomain(hueShares({ data: half, channels: 3, scale: 255 }))).toBeNull();
    // Blue sky is chromatic but neither.
    expect(foliageDomain(hueShares({ data: fill(50, [40, 90, 220]), channels: 3, scale: 255 }))).toBeNull();
  });
});
