import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { addProvenance, crc32, makeChunk, readProvenance, readProvenanceFile } from '../../../../src/main/engine/infer/png-provenance';
import type { Provenance } from '../../../../src/shared/provenance';

let png: Uint8Array;

const prov: Provenance = {
  format: 'atelier-provenance',
  version: 1,
  app: { name: 'atelier', version: '0.1.0' },
  op: 'generate',
  model: { id: 'fashion-cgan', name: 'fashion-cgan', kind: 'cgan', weightsSha256: 'a'.repeat(64), step: 1200, runtime: 'onnx', backend: 'onnxruntime-node cpu' },
  width: 8,
  height: 8,
  seed: 7,
  latent: [0.5, -1.25],
  label: 3,
  className: 'Dress',
  createdAt: '2026-12-05T23:00:00.000Z',
};

beforeAll(async () => {
  const b = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
  png = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
});

/** PNG bytes with a raw chunk inserted after IHDR (IHDR is 8 + 25 bytes in). */
function withChunk(base: Uint8Array, chunk: Uint8Array): Uint8Array {
  return Buffer.concat([base.subarray(0, 33), chunk, base.subarray(33)]);
}
const itxt = (text: string, flag = 0) => Buffer.concat([Buffer.from(`atelier\0${String.fromCharCode(flag)}\0\0\0`, 'latin1'), Buffer.from(text, 'utf8')]);

describe('png provenance chunk', () => {
  it('round trips through bytes, and the PNG still decodes to the same pixels', async () => {
    const stamped = addProvenance(png, prov);
    expect(await readProvenance(stamped)).toEqual(prov);
    const [a, b] = await Promise.all([sharp(png).raw().toBuffer(), sharp(stamped).raw().toBuffer()]);
    expect(b.equals(a)).toBe(true);
    // The chunk sits right after IHDR, with a CRC zlib's own crc32 agrees with.
    expect(Buffer.from(stamped.subarray(37, 41)).toString('latin1')).toBe('iTXt');
    expect(crc32(Buffer.from('IEND'), new Uint8Array(0))).toBe(0xae426082);
  });

  it('reads from a file, and a PNG without the chunk gives null', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-prov-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.png'), addProvenance(png, prov));
      fs.writeFileSync(path.join(dir, 'b.png'), png);
      expect(await readProvenanceFile(path.join(dir, 'a.png'))).toEqual(prov);
      expect(await readProvenanceFile(path.join(dir, 'b.png'))).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a tEXt chunk of another keyword is ignored; a tEXt atelier chunk is read', async () => {
    const other = withChunk(png, makeChunk('tEXt', Buffer.from('Comment\0hello', 'latin1')));
    expect(await readProvenance(other)).toBeNull();
    const t = withChunk(png, makeChunk('tEXt', Buffer.from(`atelier\0${JSON.stringify(prov)}`, 'latin1')));
    expect(await readProvenance(t)).toEqual(prov);
  });

  it('refuses to write a record the schema refuses', () => {
    expect(() => addProvenance(png, { ...prov, input: { name: '../../etc/passwd', sha256: 'b'.repeat(64), width: 1, height: 1 } })).toThrow();
  });
});

describe('hostile atelier chunks are refused with a clear error', () => {
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['oversized', () => withChunk(png, makeChunk('iTXt', itxt(' '.repeat(70 * 1024) + JSON.stringify(prov)))), /limit is 65536/],
    [
      'bad CRC',
      () => {
        const b = Buffer.from(addProvenance(png, prov));
        b[50] = b[50]! ^ 1; // a byte inside the chunk's JSON
        return b;
      },
      /CRC/,
    ],
    ['bad JSON', () => withChunk(png, makeChunk('iTXt', itxt('{"format": '))), /not valid JSON/],
    ['wrong types', () => withChunk(png, makeChunk('iTXt', itxt(JSON.stringify({ ...prov, seed: 'seven', width: -1 })))), /schema: .*seed/],
    ['unknown fields', () => withChunk(png, makeChunk('iTXt', itxt(JSON.stringify({ ...prov, path: '/etc' })))), /schema/],
    ['a path as the bundle id', () => withChunk(png, makeChunk('iTXt', itxt(JSON.stringify({ ...prov, model: { ...prov.model, id: '../x' } })))), /model\.id/],
    ['a path as the input name', () => withChunk(png, makeChunk('iTXt', itxt(JSON.stringify({ ...prov, input: { name: 'a/../../b.png', sha256: 'c'.repeat(64), width: 1, height: 1 } })))), /input\.name/],
    ['compressed', () => withChunk(png, makeChunk('iTXt', itxt('x', 1))), /compressed/],
    ['two chunks', () => addProvenance(addProvenance(png, prov), prov), /more than one/],
    ['a chunk length past the end', () => {
      const b = Buffer.from(addProvenance(png, prov));
      b.writeUInt32BE(0x7ffffff0, 33);
      return b;
    }, /past the end/],
    ['truncated (no IEND)', () => addProvenance(png, prov).subarray(0, 200), /truncated|past the end/],
    ['not a PNG', () => Buffer.from('GIF89a not a png at all'), /Not a PNG/],
  ];
  for (const [name, make, msg] of cases) {
    it(name, async () => {
      await expect(readProvenance(make())).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(msg) });
    });
  }
});
