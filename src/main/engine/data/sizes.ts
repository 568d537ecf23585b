/** Size rules of the networks and a rough training memory estimate, in words people can act on. */
import type { MemoryEstimate, SizeCheck, SizeRuleNetwork } from '../../../shared/channels/dataset';

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

export const SIZE_RULES: Record<SizeRuleNetwork, { rule: string; ok: (n: number) => boolean }> = {
  unet: {
    rule: 'U-Net (pix2pix) halves the image at every level down to 1x1 and doubles it back, so the side must be a power of two, at least 16 (16, 32, 64, 128, 256, 512).',
    ok: (n) => isPow2(n) && n >= 16,
  },
  resnet: {
    rule: 'The ResNet generator (CycleGAN) downsamples twice, so the side must be a multiple of 4, at least 16.',
    ok: (n) => n % 4 === 0 && n >= 16,
  },
  any: { rule: 'Any square size of at least 8 pixels works for the networks that take any size.', ok: (n) => n >= 8 },
};

export function suggestSizes(network: SizeRuleNetwork, near: number): number[] {
  const out = new Set<number>();
  const cands = network === 'resnet' ? [16, 28, 32, 64, 128, 256, 512] : [16, 32, 64, 128, 256, 512];
  const below = cands.filter((c) => c <= near && SIZE_RULES[network].ok(c)).pop();
  const above = cands.find((c) => c >= near && SIZE_RULES[network].ok(c));
  if (below) out.add(below);
  if (above) out.add(above);
  if (!out.size) out.add(network === 'any' ? Math.max(8, near) : 16);
  return [...out].sort((a, b) => a - b);
}

export function checkSizes(sizes: { width: number; height: number }[], target: number | null | undefined, network: SizeRuleNetwork): SizeCheck {
  const counts = new Map<string, { width: number; height: number; count: number }>();
  for (const s of sizes) {
    const k = `${s.width}x${s.height}`;
    const c = counts.get(k) ?? { width: s.width, height: s.height, count: 0 };
    c.count++;
    counts.set(k, c);
  }
  const list = [...counts.values()].sort((a, b) => b.count - a.count);
  const rule = SIZE_RULES[network];
  const minSide = list.length ? Math.min(...list.map((s) => Math.min(s.width, s.height))) : 0;
  const suggestions = suggestSizes(network, target ?? minSide);
  if (target != null) {
    const ok = rule.ok(target);
    const needsResize = list.some((s) => s.width !== target || s.height !== target);
    return {
      sizes: list.slice(0, 20),
      target,
      network,
      rule: rule.rule,
      ok,
      needsResize,
      suggestions,
      message: ok
        ? needsResize
          ? `Images will be resized to ${target}x${target} (crop to fill, or pad, as chosen).`
          : `All images are ${target}x${target} already.`
        : `${target} does not suit the chosen network: ${rule.rule} Try ${suggestions.join(' or ')}.`,
    };
  }
  const uniform = list.length === 1;
  const square = uniform && list[0]!.width === list[0]!.height;
  const ok = uniform && square && rule.ok(list[0]!.width);
  let message: string;
  if (!list.length) message = 'No readable images.';
  else if (!uniform) message = `Images have ${list.length} different sizes; choose a size to resize them to (e.g. ${suggestions.join(' or ')}).`;
  else if (!square) message = `Images are ${list[0]!.width}x${list[0]!.height} (not square); training crops squares. Choose a size (e.g. ${suggestions.join(' or ')}) to resize and crop them.`;
  else if (!ok) message = `Images are ${list[0]!.width}x${list[0]!.height}: ${rule.rule} Resize to ${suggestions.join(' or ')}, or crop.`;
  else message = `All images are ${list[0]!.width}x${list[0]!.height}, which suits the chosen network.`;
  return { sizes: list.slice(0, 20), target: null, network, rule: rule.rule, ok, needsResize: !uniform, suggestions, message };
}

/**
 * A rough training footprint: weights + gradients + two Adam moments (4x the parameters, float32)
 * plus activations kept for the backward pass (a per-pixel float count measured on the paper
 * networks at ngf=64, scaled by the batch). Within a factor of two; for "will it fit" only.
 */
export function estimateMemory(opts: {
  size: number;
  channels: number;
  batchSize: number;
  network: SizeRuleNetwork;
  images: number;
  imagesPerItem: number;
}): MemoryEstimate {
  const { size, channels, batchSize, network, images, imagesPerItem } = opts;
  const px = size * size;
  const depth = Math.max(1, Math.round(Math.log2(Math.max(size, 2))));
  // Parameters: U-Net 54M at 256 (8 levels), fewer levels for smaller images; ResNet-9 11M; D 2.8M.
  const params = network === 'unet' ? Math.min(54.4e6, 54.4e6 * (depth / 8) ** 2) + 2.8e6 : network === 'resnet' ? (size > 128 ? 11.4e6 : 7.8e6) + 2.8e6 : 3e6;
  const floatsPerPixel = network === 'unet' ? 420 : network === 'resnet' ? 900 : 200;
  const weightsBytes = params * 4 * 4;
  const activations = batchSize * px * floatsPerPixel * 4 * (network === 'resnet' ? 2 : 1);
  const batchBytes = batchSize * px * channels * 4 * imagesPerItem;
  const trainingBytes = Math.round(weightsBytes + activations + batchBytes);
  const datasetBytes = images * px * channels;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(b < 2 ** 20 ? 2 : 0)} MB`;
  return {
    size,
    channels,
    batchSize,
    batchBytes,
    trainingBytes,
    datasetBytes,
    explanation:
      `About ${mb(trainingBytes)} to train at ${size}x${size}, batch ${batchSize}: ` +
      `${mb(weightsBytes)} for ${(params / 1e6).toFixed(1)}M parameters with gradients and Adam state, ` +
      `${mb(activations)} of activations, ${mb(batchBytes)} per input batch. The images take ${mb(datasetBytes)} as bytes. A rough estimate (within ~2x).`,
  };
}
