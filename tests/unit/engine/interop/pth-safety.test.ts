/**
 * The .pth reader runs nothing and trusts nothing: a crafted corpus (code-execution globals,
 * opcodes a state dict never needs, deep nesting, huge sizes, unsafe zip paths, truncations,
 * random corruption) is refused with a PthError naming the problem, and nothing is executed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PthError, type PthRefusal } from '../../../../src/main/engine/interop/errors';
import { readPth, writePth } from '../../../../src/main/engine/interop/pth';
import { unpickle } from '../../../../src/main/engine/interop/pickle';
import { crc32, readZip, writeZip } from '../../../../src/main/engine/interop/zip';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const cat = (...parts: (Uint8Array | number[] | string)[]) => {
  const bufs = parts.map((p) => (typeof p === 'string' ? enc(p) : Uint8Array.from(p)));
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
};
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const binunicode = (s: string) => cat([0x58, ...u32(s.length)], s);

/** A torch zip whose data.pkl is `pkl` (storages as given). */
function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}, stem = 'archive'): Uint8Array {
  return writeZip([{ name: `${stem}/data.pkl`, data: pkl }, ...Object.entries(storages).map(([k, d]) => ({ name: `${stem}/data/${k}`, data: d }))]);
}

function refusal(f: () => unknown): { reason: PthRefusal; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof PthError) return { reason: e.reason, message: e.message };
    throw new Error(`expected a PthError, got ${(e as Error).stack}`);
  }
  throw new Error('expected the file to be refused');
}

/** A valid tiny state dict: {'a.weight': float32 [2, 3], 'bn.num_batches_tracked': int64 []}. */
const VALID = writePth([
  ['a.weight', { dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, -6] }],
  ['bn.num_batches_tracked', { dtype: 'int64', shape: [], data: [7] }],
]);

describe('pth reader: valid files', () => {
  it('reads back what writePth wrote', () => {
    const sd = readPth(VALID);
    expect(sd.format).toBe('zip');
    expect([...sd.tensors.keys()]).toEqual(['a.weight', 'bn.num_batches_tracked']);
    expect(sd.tensors.get('a.weight')).toMatchObject({ dtype: 'float32', shape: [2, 3] });
    expect(Array.from(sd.tensors.get('a.weight')!.data)).toEqual([1, 2, 3, 4, 5, -6]);
    expect(Array.from(sd.tensors.get('bn.num_batches_tracked')!.data)).toEqual([7]);
  });

  it('follows offsets and strides (a transposed view of a shared storage)', () => {
    const storage = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5, 6]).buffer);
    // {'t': _rebuild_tensor_v2(storage '0' (7 floats), offset 1, size (2, 3), stride (1, 2))}
    const pkl = cat(
      [0x80, 0x02],
      'ccollections\nOrderedDict\n)R',
      binunicode('t'),
      'ctorch._utils\n_rebuild_tensor_v2\n((',
      binunicode('storage'),
      'ctorch\nFloatStorage\n',
      binunicode('0'),
      binunicode('cpu'),
      [0x4b, 7, 0x74, 0x51, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x86, 0x4b, 1, 0x4b, 2, 0x86, 0x89],
      'ccollections\nOrderedDict\n)R',
      [0x74, 0x52, 0x73, 0x2e],
    );
    const sd = readPth(torchZip(pkl, { '0': storage }));
    expect(Array.from(sd.tensors.get('t')!.data)).toEqual([1, 3, 5, 2, 4, 6]);
  });
});

describe('pth reader: refuses, naming the global, and runs nothing', () => {
  const marker = path.join(os.tmpdir(), `atelier-pwned-${process.pid}`);
  const reduce = (module: string, name: string, arg: string) => cat([0x80, 0x02], `c${module}\n${name}\n`, binunicode(arg), [0x85, 0x52, 0x2e]);
  for (const [module, name] of [
    ['os', 'system'],
    ['posix', 'system'],
    ['builtins', 'eval'],
    ['__builtin__', 'eval'],
    ['builtins', 'exec'],
    ['subprocess', 'Popen'],
    ['subprocess', 'check_output'],
    ['functools', 'partial'],
    ['torch', 'load'],
    ['numpy.core.multiarray', '_reconstruct'],
  ]) {
    it(`${module}.${name}`, () => {
      const file = torchZip(reduce(module!, name!, `touch ${marker}`));
      const r = refusal(() => readPth(file));
      expect(r.reason).toBe('REFUSED_GLOBAL');
      expect(r.message).toContain(`${module}.${name}`);
      expect(fs.existsSync(marker)).toBe(false);
    });
  }

  it('STACK_GLOBAL (protocol 4) is checked the same way', () => {
    const pkl = cat([0x80, 0x04, 0x8c, 2], 'os', [0x8c, 6], 'system', [0x93], binunicode('id'), [0x85, 0x52, 0x2e]);
    expect(refusal(() => readPth(torchZip(pkl)))).toMatchObject({ reason: 'REFUSED_GLOBAL', message: expect.stringContaining('os.system') });
  });

  it('an allowlisted type may be named but not called (REDUCE on torch.FloatStorage)', () => {
    const pkl = cat([0x80, 0x02], 'ctorch\nFloatStorage\n', [0x29, 0x52, 0x2e]);
    expect(refusal(() => readPth(torchZip(pkl)))).toMatchObject({ reason: 'REFUSED_GLOBAL', message: expect.stringContaining('torch.FloatStorage') });
  });

  it('a legacy-format file carrying os.system in its state-dict pickle', () => {
    const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
    const file = cat(magic, [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e], [0x80, 0x02, 0x7d, 0x2e], reduce('os', 'system', `touch ${marker}`));
    expect(refusal(() => readPth(file))).toMatchObject({ reason: 'REFUSED_GLOBAL', message: expect.stringContaining('os.system') });
    expect(fs.existsSync(marker)).toBe(false);
  });

  for (const [name, op] of [
    ['INST', cat('ios\nsystem\n(', binunicode('id'), [0x2e])],
    ['OBJ', cat([0x28, 0x6f, 0x2e])],
    ['NEWOBJ', cat([0x80, 0x02, 0x29, 0x29, 0x81, 0x2e])],
    ['EXT1', cat([0x80, 0x02, 0x82, 1, 0x2e])],
    ['NEXT_BUFFER', cat([0x80, 0x05, 0x97, 0x2e])],
  ] as const) {
    it(`the opcode ${name}`, () => {
      expect(refusal(() => readPth(torchZip(op)))).toMatchObject({ reason: 'REFUSED_OPCODE', message: expect.stringContaining(name) });
    });
  }

  it('an unknown opcode', () => {
    expect(refusal(() => readPth(torchZip(cat([0x80, 0x02, 0xff]))))).toMatchObject({ reason: 'REFUSED_OPCODE', message: expect.stringContaining('0xff') });
  });

  it('BUILD on anything but a dict (__setstate__ is never called)', () => {
    const pkl = cat([0x80, 0x02, 0x5d, 0x7d, 0x62, 0x2e]);
    expect(refusal(() => readPth(torchZip(pkl))).reason).toBe('REFUSED_OPCODE');
  });

  it('a pickle of something other than a dict of tensors', () => {
    expect(refusal(() => readPth(torchZip(cat([0x80, 0x02, 0x5d, 0x4b, 1, 0x61, 0x2e])))).reason).toBe('NOT_STATE_DICT');
    expect(refusal(() => readPth(torchZip(cat([0x80, 0x02, 0x7d], binunicode('epoch'), [0x4b, 3, 0x73, 0x2e])))).message).toContain('"epoch" is not a tensor');
  });
});

describe('pth reader: limits', () => {
  it('deeply nested lists', () => {
    const pkl = cat([0x80, 0x02], new Array(200).fill(0x5d), new Array(199).fill(0x61), [0x2e]);
    expect(refusal(() => readPth(torchZip(pkl)))).toMatchObject({ reason: 'LIMIT', message: expect.stringContaining('nested') });
  });

  it('deeply nested MARKs', () => {
    expect(refusal(() => readPth(torchZip(cat([0x80, 0x02], new Array(1000).fill(0x28)))))).toMatchObject({ reason: 'LIMIT' });
  });

  it('a string claiming 2 GiB', () => {
    expect(refusal(() => readPth(torchZip(cat([0x80, 0x02, 0x58, 0, 0, 0, 0x80], 'x'))))).toMatchObject({ reason: 'LIMIT' });
  });

  it('an integer of 200 bytes', () => {
    expect(refusal(() => readPth(torchZip(cat([0x80, 0x02, 0x8a, 200], new Array(200).fill(1), [0x2e]))))).toMatchObject({ reason: 'LIMIT' });
  });

  it('a billion-opcode loop is cut off (DUP/POP)', () => {
    const pkl = cat([0x80, 0x02, 0x4e], new Array(3000).fill(0).flatMap(() => [0x32, 0x30]), [0x2e]);
    expect(refusal(() => unpickle(pkl, 0, { globals: {}, limits: { maxOps: 1000 } }))).toMatchObject({ reason: 'LIMIT' });
  });

  const tensorPickle = (numel: number, shape: number[]) =>
    cat(
      [0x80, 0x02, 0x7d],
      binunicode('w'),
      'ctorch._utils\n_rebuild_tensor_v2\n((',
      binunicode('storage'),
      'ctorch\nFloatStorage\n',
      binunicode('0'),
      binunicode('cpu'),
      [0x4a, ...u32(numel), 0x74, 0x51, 0x4b, 0, 0x28, ...shape.flatMap((d) => [0x4a, ...u32(d)]), 0x74, 0x28, ...shape.map((_, i) => [0x4a, ...u32(shape.slice(i + 1).reduce((a, b) => a * b, 1))]).flat(), 0x74, 0x89, 0x7d, 0x74, 0x52, 0x73, 0x2e],
    );

  it('a tensor claiming more elements than its storage holds (no allocation past the file)', () => {
    const file = torchZip(tensorPickle(4, [1 << 30]), { '0': new Uint8Array(16) });
    expect(refusal(() => readPth(file))).toMatchObject({ reason: 'CORRUPT', message: expect.stringContaining('reads element 1073741823 of storage "0", which holds 4') });
  });

  it('a storage claiming more bytes than its entry has', () => {
    const file = torchZip(tensorPickle(2 ** 31 - 1, [4]), { '0': new Uint8Array(16) });
    expect(refusal(() => readPth(file))).toMatchObject({ reason: 'CORRUPT', message: expect.stringContaining('holds 16 bytes') });
  });

  it('a file over the size limit', () => {
    expect(refusal(() => readPth(VALID, { maxFileBytes: 100 })).reason).toBe('LIMIT');
  });
});

describe('pth reader: the zip container', () => {
  /** Rename the data.pkl entry in place (same length: the name is in the local and central headers; CRCs cover data only). */
  function renamed(to: string): Uint8Array {
    const from = 'archive/data.pkl';
    expect(to.length).toBe(from.length);
    const b = VALID.slice();
    const s = new TextDecoder('latin1').decode(b);
    for (let i = s.indexOf(from); i >= 0; i = s.indexOf(from, i + 1)) b.set(enc(to), i);
    return b;
  }
  for (const name of ['../../tmp/x.pkl', '/archive/data.pk', 'C:/archive/data.', 'archive\\data.pkl', 'archive/./data.p']) {
    it(`refuses the entry name ${JSON.stringify(name)}`, () => {
      expect(refusal(() => readPth(renamed(name.padEnd(16, 'x').slice(0, 16)))).reason).toBe('UNSAFE_PATH');
    });
  }

  it('refuses compressed and encrypted entries, and bad CRCs', () => {
    const z = torchZip(cat([0x80, 0x02, 0x7d, 0x2e]));
    const cd = new TextDecoder('latin1').decode(z).lastIndexOf('PK\x01\x02');
    const deflated = z.slice();
    deflated[cd + 10] = 8;
    expect(refusal(() => readZip(deflated))).toMatchObject({ reason: 'UNSUPPORTED', message: expect.stringContaining('compressed') });
    const encrypted = z.slice();
    encrypted[cd + 8] = 1;
    expect(refusal(() => readZip(encrypted)).reason).toBe('UNSUPPORTED');
    const badCrc = z.slice();
    badCrc.set(u32(crc32(enc('nope'))), cd + 16);
    expect(refusal(() => readZip(badCrc)).message).toContain('CRC');
  });

  it('every truncation of a valid file is refused cleanly', () => {
    for (let n = 0; n < VALID.length; n += 7) expect(() => readPth(VALID.subarray(0, n))).toThrow(PthError);
  });

  it('random corruption never escapes as anything but a PthError', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    // Corrupt inside data.pkl with its CRC fixed up, so the pickle machine itself sees the damage.
    const pklStart = new TextDecoder('latin1').decode(VALID).indexOf('\x80\x02');
    for (let trial = 0; trial < 400; trial++) {
      const b = VALID.slice();
      const flips = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < flips; i++) b[pklStart + Math.floor(rnd() * 300)] = Math.floor(rnd() * 256);
      try {
        const entries = readZip(b, { maxEntries: 10 });
        void entries;
      } catch (e) {
        expect(e).toBeInstanceOf(PthError);
        continue;
      }
      try {
        readPth(b);
      } catch (e) {
        expect(e).toBeInstanceOf(PthError);
      }
    }
  });

  it('a legacy file that stops inside its storages', () => {
    const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
    expect(refusal(() => readPth(Uint8Array.from(magic.slice(0, 9)))).reason).toBe('UNSUPPORTED');
    expect(refusal(() => readPth(Uint8Array.from([...magic, 0x80, 0x02]))).reason).toBe('CORRUPT');
  });
});
