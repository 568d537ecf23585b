import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../../../src/main/engine/backend';
import { runTranslateCli } from '../../../../src/main/cli/translate';
import { runGenerateCli } from '../../../../src/main/cli/generate';
import { runInspectCli } from '../../../../src/main/cli/inspect';
import { getModel, evictModels } from '../../../../src/main/engine/infer/registry';
import { translateFolder } from '../../../../src/main/engine/infer/ops';
import { openWorkspace } from '../../../../src/main/engine/core/workspace';
import { readProvenanceFile } from '../../../../src/main/engine/infer/png-provenance';
import { listGallery } from '../../../../src/main/engine/gallery/store';
import { captureConsole } from './capture';

// The shipped demo models at their own size (32 px): fast enough for a unit test.
const PIX2PIX = path.resolve('models/edges2fashion-pix2pix');
const CGAN = path.resolve('models/fashion-cgan');
/** The shipped bundle's training steps (changes when the demo is retrained). */
const cganSteps = () => (JSON.parse(fs.readFileSync(path.join(CGAN, 'bundle.json'), 'utf8')) as { training: { steps: number } }).training.steps;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let tmp: string;
let edges: string;
let out: string[];
let err: string[];

beforeAll(async () => {
  await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-inspect-cli-'));
  // The CLI lists its outputs in the workspace's Gallery: a workspace of this test's own.
  process.env.ATELIER_WORKSPACE = path.join(tmp, 'ws');
  const px = Buffer.alloc(32 * 32);
  for (let i = 0; i < px.length; i++) px[i] = i % 7 === 0 ? 255 : 0;
  edges = path.join(tmp, 'edges.png');
  await sharp(px, { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(edges);
});
afterAll(async () => {
  delete process.env.ATELIER_WORKSPACE;
  await evictModels();
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

function capture(): void {
  ({ out, err } = captureConsole());
}

describe('provenance in CLI outputs, shown by atelier inspect', () => {
  it('translate: the output names the bundle, the hash of the ONNX weights, the input and the scale', async () => {
    capture();
    const file = path.join(tmp, 'dress.png');
    expect(await runTranslateCli(['--model', PIX2PIX, edges, file])).toBe(0);
    capture();
    expect(await runInspectCli([file, '--json'])).toBe(0);
    const { provenance: p } = JSON.parse(out.join('\n'));
    expect(p.op).toBe('translate');
    expect(p.model).toMatchObject({ id: 'edges2fashion-pix2pix', kind: 'pix2pix', runtime: 'onnx', step: expect.any(Number) });
    expect(p.model.weightsSha256).toBe(sha(fs.readFileSync(path.join(PIX2PIX, 'edges2fashion-pix2pix.onnx'))));
    expect(p.input).toEqual({ name: 'edges.png', sha256: sha(fs.readFileSync(edges)), width: 32, height: 32 });
    expect([p.width, p.height, p.scale, p.tiles]).toEqual([32, 32, 'native', 1]);
    expect(JSON.stringify(p)).not.toContain(tmp); // no folder of this machine in the chunk
    capture();
    expect(await runInspectCli([file])).toBe(0);
    expect(out.join('\n')).toMatch(/model +edges2fashion-pix2pix \(pix2pix/);
    expect(out.join('\n')).toMatch(/input +edges\.png \(32x32/);
  });

  it('generate: each image records its seed, latent vector and class', async () => {
    capture();
    const dir = path.join(tmp, 'gen');
    expect(await runGenerateCli(['--model', CGAN, '--label', '3', '--seed', '5', '--count', '2', '--out', dir])).toBe(0);
    const p = await readProvenanceFile(path.join(dir, 'class3-seed6.png'));
    expect(p).toMatchObject({ op: 'generate', seed: 6, label: 3, width: 32, height: 32, model: { id: 'fashion-cgan', kind: 'cgan', step: cganSteps() } });
    expect(p!.latent).toHaveLength(64);
    expect(p!.className).toBeTypeOf('string');
  });

  it('CLI outputs are listed in the workspace Gallery where they were written, unless --no-gallery', async () => {
    capture();
    const dir = path.join(tmp, 'gen2');
    expect(await runGenerateCli(['--model', CGAN, '--seed', '9', '--out', dir])).toBe(0);
    expect(await runGenerateCli(['--model', CGAN, '--seed', '11', '--no-gallery', '--out', dir])).toBe(0);
    const files = (await listGallery(openWorkspace(), { offset: 0, limit: 100 })).items.map((i) => i.file);
    // The earlier tests' outputs (translate, generate) are there too, in place.
    expect(files).toEqual(expect.arrayContaining([path.join(tmp, 'dress.png'), path.join(tmp, 'gen', 'class3-seed6.png'), path.join(dir, 'seed9.png')]));
    expect(files).not.toContain(path.join(dir, 'seed11.png'));
    expect((await listGallery(openWorkspace(), { offset: 0, limit: 100, op: 'generate' })).items[0]).toMatchObject({ model: { id: 'fashion-cgan' }, origin: 'folder' });
  });

  it('a PNG without provenance exits 3; a damaged chunk is one error line naming only the file as given', async () => {
    capture();
    expect(await runInspectCli([edges])).toBe(3);
    expect(out.join('\n')).toMatch(/no Atelier provenance/);
    const bad = Buffer.from(fs.readFileSync(path.join(tmp, 'dress.png')));
    bad[50] = bad[50]! ^ 1;
    const badFile = path.join(tmp, 'bad.png');
    fs.writeFileSync(badFile, bad);
    capture();
    expect(await runInspectCli(['bad.png'])).toBe(1); // relative to cwd: missing
    expect(err.join('\n')).toBe('atelier inspect: bad.png: no such file.');
    capture();
    expect(await runInspectCli([badFile])).toBe(1);
    expect(err.join('\n')).toMatch(/CRC/);
    capture();
    expect(await runInspectCli([])).toBe(2);
  });
});

describe('translateFolder and existing PNGs', () => {
  it('replaces its own earlier outputs but never a PNG without an atelier chunk', async () => {
    const inDir = path.join(tmp, 'in');
    const outDir = path.join(tmp, 'out');
    fs.mkdirSync(inDir);
    fs.mkdirSync(outDir);
    fs.copyFileSync(edges, path.join(inDir, 'a.png'));
    fs.copyFileSync(edges, path.join(inDir, 'b.png'));
    const mine = Buffer.from('the user own picture, not ours');
    fs.writeFileSync(path.join(outDir, 'b.png'), mine);
    const m = await getModel(openWorkspace(), PIX2PIX);
    const first = await translateFolder(m, inDir, outDir);
    expect(first.written.map((f) => path.basename(f))).toEqual(['a.png']);
    expect(first.failed).toEqual([{ file: path.join(inDir, 'b.png'), error: expect.stringMatching(/b\.png already exists and was not written by Atelier/) }]);
    expect(fs.readFileSync(path.join(outDir, 'b.png')).equals(mine)).toBe(true);
    expect((await readProvenanceFile(path.join(outDir, 'a.png')))?.input?.name).toBe('a.png');
    // A second run replaces a.png (it carries the chunk) and still leaves b.png alone.
    const second = await translateFolder(m, inDir, outDir);
    expect(second.written.map((f) => path.basename(f))).toEqual(['a.png']);
    expect(fs.readFileSync(path.join(outDir, 'b.png')).equals(mine)).toBe(true);
  });
});
