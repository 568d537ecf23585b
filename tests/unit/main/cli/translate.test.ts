import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../../../src/main/engine/backend';
import { runTranslateCli } from '../../../../src/main/cli/translate';
import { tinyUnet, writeTestBundle } from '../../engine/export/models';
import { captureConsole } from './capture';

let tmp: string;
let bundle: string;
let photo: string;
let out: string[];
let err: string[];

beforeAll(async () => {
  await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-translate-cli-'));
  // The CLI lists its outputs in the workspace's Gallery: not the user's.
  process.env.ATELIER_WORKSPACE = path.join(tmp, 'ws');
  bundle = path.join(tmp, 'u');
  const g = tinyUnet(16, 3, 4);
  await writeTestBundle(bundle, { id: 'u', model: 'pix2pix', networks: { G: g }, size: 16, channels: 3 });
  g.dispose();
  // A 600x400 JPEG made by code (the size the issue names).
  const px = Buffer.alloc(600 * 400 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i % 1800) / 8 + ((i / 1800) | 0) / 4;
  photo = path.join(tmp, 'photo.jpg');
  await sharp(px, { raw: { width: 600, height: 400, channels: 3 } }).jpeg().toFile(photo);
});
afterAll(() => {
  delete process.env.ATELIER_WORKSPACE;
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

function capture(): void {
  ({ out, err } = captureConsole());
}

describe('atelier translate', () => {
  it('writes OUT with IN width and height at native scale, warning with the training size', async () => {
    capture();
    const file = path.join(tmp, 'out.png');
    expect(await runTranslateCli(['--model', bundle, photo, file])).toBe(0);
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([600, 400, 'png']);
    expect(out.join('\n')).toMatch(/Wrote .*out\.png \(600x400,/);
    expect(err.join('')).toMatch(/Warning: This model was trained on 16x16 images/);
  });

  it('--scale N and --tile/--overlap: same size out; --json reports tiles and the working size', async () => {
    capture();
    const file = path.join(tmp, 'tiled.png');
    expect(await runTranslateCli(['--model', bundle, '--scale', '300', '--tile', '64', '--overlap', '16', '--json', photo, file])).toBe(0);
    const r = JSON.parse(out.join('\n')) as { width: number; height: number; workWidth: number; workHeight: number; tiles: number };
    expect([r.width, r.height, r.workWidth, r.workHeight]).toEqual([600, 400, 300, 200]);
    expect(r.tiles).toBeGreaterThan(4);
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height]).toEqual([600, 400]);
  });

  it('a bad --scale is a usage error', async () => {
    capture();
    expect(await runTranslateCli(['--model', bundle, '--scale', 'big', photo, path.join(tmp, 'x.png')])).toBe(2);
    expect(err.join('\n')).toMatch(/native, model or a long side/);
  });
});
