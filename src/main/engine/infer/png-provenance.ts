/**
 * The `atelier` provenance chunk on PNG bytes: insert it after IHDR (sharp writes the PNG, this
 * adds one iTXt chunk with a correct CRC) and read it back.
 *
 * Reading treats the PNG as hostile: it walks chunk headers only (other chunks' data is skipped,
 * never loaded), caps the chunk count and the provenance chunk's size, checks its CRC, refuses a
 * second `atelier` chunk or a compressed one, and validates the JSON with the shared schema. Every
 * failure is a StudioError('BAD_INPUT') with a plain message; nothing throws past it.
 */
import fsp from 'node:fs/promises';
import { StudioError } from '../../../shared/errors';
import { PROVENANCE_KEYWORD, PROVENANCE_MAX_BYTES, ProvenanceSchema, type Provenance } from '../../../shared/provenance';
import { crc32 } from '../core/crc32';

export { crc32 };

const SIGNATURE = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);
/** More chunks than any PNG we write or import would have; past it the file is refused. */
export const MAX_CHUNKS = 100_000;

const ascii = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

/** One chunk: length, type, data, CRC. */
export function makeChunk(type: string, data: Uint8Array): Uint8Array {
  const t = ascii(type);
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(t, 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(t, data));
  return out;
}

/** iTXt: keyword NUL, compression flag 0 and method 0, empty language and translated keyword, UTF-8 text. */
function itxtData(text: string): Uint8Array {
  const head = ascii(`${PROVENANCE_KEYWORD}\0\0\0\0\0`);
  const body = new TextEncoder().encode(text);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function bad(message: string): StudioError {
  return new StudioError('BAD_INPUT', message);
}

/** PNG bytes with the provenance chunk inserted right after IHDR (any earlier `atelier` chunk is not removed: write once). */
export function addProvenance(png: Uint8Array, prov: Provenance): Uint8Array {
  const checked = ProvenanceSchema.parse(prov); // never write what we would refuse to read
  const data = itxtData(JSON.stringify(checked));
  if (data.length > PROVENANCE_MAX_BYTES) throw bad(`Provenance is ${data.length} bytes; the limit is ${PROVENANCE_MAX_BYTES}.`);
  if (png.length < 33 || !SIGNATURE.every((b, i) => png[i] === b) || String.fromCharCode(...png.subarray(12, 16)) !== 'IHDR') throw bad('Not a PNG (no signature and IHDR).');
  const ihdrEnd = 8 + 12 + new DataView(png.buffer, png.byteOffset).getUint32(8);
  const chunk = makeChunk('iTXt', data);
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, ihdrEnd));
  out.set(chunk, ihdrEnd);
  out.set(png.subarray(ihdrEnd), ihdrEnd + chunk.length);
  return out;
}

/** Random access to the PNG being read: bytes in memory or an open file. */
type Reader = { size: number; read: (pos: number, len: number) => Promise<Uint8Array> };

function bytesReader(b: Uint8Array): Reader {
  return { size: b.length, read: async (pos, len) => b.subarray(pos, Math.min(b.length, pos + len)) };
}

/** The text of an `atelier` tEXt/iTXt chunk, or null when the chunk has another keyword. */
function atelierText(type: string, data: Uint8Array): string | null {
  const nul = data.indexOf(0);
  if (nul < 0 || nul > 79) return null; // no valid keyword: not ours
  if (String.fromCharCode(...data.subarray(0, nul)) !== PROVENANCE_KEYWORD) return null;
  if (type === 'tEXt') return new TextDecoder('latin1').decode(data.subarray(nul + 1));
  // iTXt: flag, method, language NUL, translated keyword NUL, text.
  if (data[nul + 1] !== 0) throw bad('The atelier chunk is compressed; Atelier writes it uncompressed and does not inflate untrusted text.');
  const lang = data.indexOf(0, nul + 3);
  const trans = lang < 0 ? -1 : data.indexOf(0, lang + 1);
  if (trans < 0) throw bad('The atelier chunk is malformed (iTXt header).');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(trans + 1));
  } catch {
    throw bad('The atelier chunk is not valid UTF-8.');
  }
}

async function readFrom(r: Reader): Promise<Provenance | null> {
  const sig = await r.read(0, 8);
  if (sig.length < 8 || !SIGNATURE.every((b, i) => sig[i] === b)) throw bad('Not a PNG file (bad signature).');
  let pos = 8;
  let found: string | null = null;
  for (let n = 0; ; n++) {
    if (n >= MAX_CHUNKS) throw bad(`More than ${MAX_CHUNKS} chunks: refused.`);
    const head = await r.read(pos, 8);
    if (head.length < 8) throw bad('The PNG ends before its IEND chunk (truncated).');
    const len = new DataView(head.buffer, head.byteOffset, 8).getUint32(0);
    const type = String.fromCharCode(...head.subarray(4, 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw bad(`Chunk ${n} has an invalid type.`);
    if (len > 0x7fffffff || pos + 12 + len > r.size) throw bad(`Chunk ${type} claims ${len} bytes, past the end of the file.`);
    if (type === 'IEND') break;
    if (type === 'tEXt' || type === 'iTXt') {
      // Only the keyword is read first, so a huge text chunk of another app costs nothing.
      const key = await r.read(pos + 8, Math.min(len, 80));
      const nul = key.indexOf(0);
      if (nul >= 0 && String.fromCharCode(...key.subarray(0, nul)) === PROVENANCE_KEYWORD) {
        if (len > PROVENANCE_MAX_BYTES) throw bad(`The atelier chunk is ${len} bytes; the limit is ${PROVENANCE_MAX_BYTES}.`);
        const all = await r.read(pos + 4, len + 8); // type + data + CRC
        const data = all.subarray(4, 4 + len);
        const crc = new DataView(all.buffer, all.byteOffset + 4 + len, 4).getUint32(0);
        if (crc32(all.subarray(0, 4), data) !== crc) throw bad('The atelier chunk fails its CRC check (damaged or edited).');
        if (found !== null) throw bad('The PNG has more than one atelier chunk: refused as ambiguous.');
        found = atelierText(type, data);
      }
    }
    pos += 12 + len;
  }
  if (found === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(found);
  } catch {
    throw bad('The atelier chunk is not valid JSON.');
  }
  const parsed = ProvenanceSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw bad(`The atelier chunk does not match the provenance schema: ${issues.join('; ')}.`);
  }
  return parsed.data;
}

/** Provenance of PNG bytes: the record, null when the PNG has none; BAD_INPUT when the chunk is hostile or damaged. */
export function readProvenance(png: Uint8Array): Promise<Provenance | null> {
  return readFrom(bytesReader(png));
}

/** Same, from a file, reading chunk headers only (a large PNG is never loaded whole). */
export async function readProvenanceFile(file: string): Promise<Provenance | null> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    return await readFrom({
      size,
      read: async (pos, len) => {
        const buf = Buffer.alloc(Math.max(0, Math.min(len, size - pos)));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
      },
    });
  } finally {
    await fh.close();
  }
}
