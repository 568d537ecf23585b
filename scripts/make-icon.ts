/**
 * Draws the app icon (an easel-like "A" over a gradient canvas) as SVG and renders it with sharp
 * to resources/build/icon.png (1024 px) and resources/icon-256.png. Run: npx tsx scripts/make-icon.ts
 */
import sharp from 'sharp';
import path from 'node:path';
import fs from 'node:fs';

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024" viewBox="0 0 1024 1024">
  <defs>
    <linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#6d5dfc"/><stop offset="0.55" stop-color="#c04bd8"/><stop offset="1" stop-color="#ff8a4c"/>
    </linearGradient>
  </defs>
  <rect x="64" y="64" width="896" height="896" rx="200" fill="#17181d"/>
  <rect x="168" y="168" width="688" height="688" rx="120" fill="url(#g)"/>
  <path d="M512 250 L730 780 H640 L596 668 H428 L384 780 H294 Z M512 402 L456 592 H568 Z" fill="#17181d"/>
</svg>`;

const root = path.resolve(import.meta.dirname, '..');
fs.mkdirSync(path.join(root, 'resources', 'build'), { recursive: true });
await sharp(Buffer.from(svg)).png().toFile(path.join(root, 'resources', 'build', 'icon.png'));
await sharp(Buffer.from(svg)).resize(256, 256).png().toFile(path.join(root, 'resources', 'icon-256.png'));
console.log('icons written');
