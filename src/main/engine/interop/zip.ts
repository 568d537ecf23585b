/**
 * The zip container of PyTorch's checkpoint format (torch.save since 1.6): stored (uncompressed)
 * entries `<stem>/data.pkl`, `<stem>/data/<key>`, `<stem>/version`, read through the central
 * directory (as PyTorch's own reader, miniz, does), and the writer for our exports.
 *
 * The reader trusts nothing: every offset and size is checked against the file, entry names with
 * `..`, absolute paths, backslashes or drive letters are refused, and so are compressed or
 * encrypted entries (torch never writes them), duplicate names and bad CRCs.
 */
import { PthError } from './errors';
import { crc32 } from '../core/crc32';

export { crc32 };

export interface ZipEntry {
  name: string;
  /** The entry's bytes (a view into the file's buffer). */
  data: Uint8Array;
}

export interface ZipLimits {
  maxEntries: number;
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** A safe relative entry name: no absolute path, drive, backslash, NUL, empty, `.` or `..` segment. */
export function checkEntryName(name: string): void {
  const bad =
    name.length === 0 ||
    name.startsWith('/') ||
    /^[A-Za-z]:/.test(name) ||
    name.includes('\\') ||
    name.includes('\0') ||
    name.split('/').some((s) => s === '..' || s === '.');
  if (bad) throw new PthError('UNSAFE_PATH', `zip entry "${name.replace(/\0/g, '\\0')}" has an unsafe path (absolute, drive, backslash or ..); refusing the file`);
}

function u64(v: DataView, off: number): number {
  const n = v.getBigUint64(off, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new PthError('CORRUPT', 'zip64 field out of range');
  return Number(n);
}

/** Read a zip's central directory and return its entries (stored, checked). */
export function readZip(bytes: Uint8Array, limits: ZipLimits = { maxEntries: 100_000 }): ZipEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  // End of central directory: the last signature within 64 KiB + 22 bytes of the end.
  let eocd = -1;
  for (let i = len - 22; i >= Math.max(0, len - 22 - 0xffff); i--) {
    if (v.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new PthError('CORRUPT', 'not a complete zip file (no end-of-central-directory record; truncated?)');
  let count = v.getUint16(eocd + 10, true);
  let cdSize = v.getUint32(eocd + 12, true);
  let cdOff = v.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || v.getUint32(loc, true) !== 0x07064b50) throw new PthError('CORRUPT', 'zip64 locator missing');
    const z = u64(v, loc + 8);
    if (z + 56 > len || v.getUint32(z, true) !== 0x06064b50) throw new PthError('CORRUPT', 'zip64 end record out of bounds');
    count = u64(v, z + 32);
    cdSize = u64(v, z + 40);
    cdOff = u64(v, z + 48);
  }
  if (count > limits.maxEntries) throw new PthError('LIMIT', `zip has ${count} entries (limit ${limits.maxEntries})`);
  if (cdOff + cdSize > len) throw new PthError('CORRUPT', 'zip central directory out of bounds (truncated file?)');
  const out: ZipEntry[] = [];
  const seen = new Set<string>();
  let p = cdOff;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOff + cdSize || v.getUint32(p, true) !== 0x02014b50) throw new PthError('CORRUPT', `zip central directory entry ${i} is damaged`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let csize = v.getUint32(p + 20, true);
    let usize = v.getUint32(p + 24, true);
    const nlen = v.getUint16(p + 28, true);
    const xlen = v.getUint16(p + 30, true);
    const clen = v.getUint16(p + 32, true);
    let lho = v.getUint32(p + 42, true);
    if (p + 46 + nlen + xlen + clen > cdOff + cdSize) throw new PthError('CORRUPT', `zip central directory entry ${i} overruns the directory`);
    const name = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(p + 46, p + 46 + nlen));
    // zip64 sizes/offset live in extra field 0x0001, in this order, only for the fields set to 0xffffffff.
    let x = p + 46 + nlen;
    const xend = x + xlen;
    while (x + 4 <= xend) {
      const id = v.getUint16(x, true);
      const sz = v.getUint16(x + 2, true);
      if (x + 4 + sz > xend) throw new PthError('CORRUPT', `zip extra field of "${name}" overruns`);
      if (id === 0x0001) {
        let q = x + 4;
        const take = (): number => {
          if (q + 8 > x + 4 + sz) throw new PthError('CORRUPT', `zip64 extra field of "${name}" too short`);
          const n = u64(v, q);
          q += 8;
          return n;
        };
        if (usize === 0xffffffff) usize = take();
        if (csize === 0xffffffff) csize = take();
        if (lho === 0xffffffff) lho = take();
      }
      x += 4 + sz;
    }
    p += 46 + nlen + xlen + clen;
    checkEntryName(name);
    if (seen.has(name)) throw new PthError('CORRUPT', `zip entry "${name}" appears twice`);
    seen.add(name);
    if (flags & 1) throw new PthError('UNSUPPORTED', `zip entry "${name}" is encrypted`);
    if (method !== 0) throw new PthError('UNSUPPORTED', `zip entry "${name}" is compressed (method ${method}); PyTorch checkpoints store entries uncompressed`);
    if (csize !== usize) throw new PthError('CORRUPT', `stored zip entry "${name}" has different compressed and uncompressed sizes`);
    if (lho + 30 > len || v.getUint32(lho, true) !== 0x04034b50) throw new PthError('CORRUPT', `zip local header of "${name}" out of bounds (truncated file?)`);
    const start = lho + 30 + v.getUint16(lho + 26, true) + v.getUint16(lho + 28, true);
    if (start + usize > len) throw new PthError('CORRUPT', `zip entry "${name}" runs past the end of the file (truncated?)`);
    const data = bytes.subarray(start, start + usize);
    if (crc32(data) !== crc) throw new PthError('CORRUPT', `zip entry "${name}" fails its CRC check`);
    out.push({ name, data });
  }
  return out;
}

/**
 * Write stored entries as a zip (zip64 records when the archive passes 4 GiB). Data starts on
 * 64-byte boundaries (padding in the local extra field), as torch.save aligns its records.
 */
export function writeZip(entries: { name: string; data: Uint8Array }[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let off = 0;
  const enc = new TextEncoder();
  for (const e of entries) {
    checkEntryName(e.name);
    const name = enc.encode(e.name);
    const crc = crc32(e.data);
    const big = e.data.length >= 0xffffffff || off >= 0xffffffff;
    const z64Local = big ? 20 : 0;
    const base = off + 30 + name.length + z64Local + 4;
    const pad = (64 - (base % 64)) % 64;
    const xlen = z64Local + 4 + pad;
    const lh = new Uint8Array(30 + name.length + xlen);
    const lv = new DataView(lh.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, big ? 45 : 20, true);
    lv.setUint16(8, 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, big ? 0xffffffff : e.data.length, true);
    lv.setUint32(22, big ? 0xffffffff : e.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, xlen, true);
    lh.set(name, 30);
    let q = 30 + name.length;
    if (big) {
      lv.setUint16(q, 0x0001, true);
      lv.setUint16(q + 2, 16, true);
      lv.setBigUint64(q + 4, BigInt(e.data.length), true);
      lv.setBigUint64(q + 12, BigInt(e.data.length), true);
      q += 20;
    }
    lv.setUint16(q, 0x4246, true); // 'FB': the padding field torch's writer uses
    lv.setUint16(q + 2, pad, true);
    const cz = big ? 28 : 0;
    const ch = new Uint8Array(46 + name.length + cz);
    const cv = new DataView(ch.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, big ? 45 : 20, true);
    cv.setUint16(6, big ? 45 : 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, big ? 0xffffffff : e.data.length, true);
    cv.setUint32(24, big ? 0xffffffff : e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, cz, true);
    cv.setUint32(42, big ? 0xffffffff : off, true);
    ch.set(name, 46);
    if (big) {
      const c = 46 + name.length;
      cv.setUint16(c, 0x0001, true);
      cv.setUint16(c + 2, 24, true);
      cv.setBigUint64(c + 4, BigInt(e.data.length), true);
      cv.setBigUint64(c + 12, BigInt(e.data.length), true);
      cv.setBigUint64(c + 20, BigInt(off), true);
    }
    chunks.push(lh, e.data);
    central.push(ch);
    off += lh.length + e.data.length;
  }
  const cdOff = off;
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const z64 = cdOff + cdSize >= 0xffffffff || entries.length >= 0xffff;
  const tail: Uint8Array[] = [];
  if (z64) {
    const r = new Uint8Array(56 + 20);
    const rv = new DataView(r.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(4, 44n, true);
    rv.setUint16(12, 45, true);
    rv.setUint16(14, 45, true);
    rv.setBigUint64(24, BigInt(entries.length), true);
    rv.setBigUint64(32, BigInt(entries.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOff), true);
    rv.setUint32(56, 0x07064b50, true);
    rv.setBigUint64(64, BigInt(cdOff + cdSize), true);
    rv.setUint32(72, 1, true);
    tail.push(r);
  }
  const e = new Uint8Array(22);
  const ev = new DataView(e.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, z64 ? 0xffff : entries.length, true);
  ev.setUint16(10, z64 ? 0xffff : entries.length, true);
  ev.setUint32(12, z64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, z64 ? 0xffffffff : cdOff, true);
  tail.push(e);
  const all = [...chunks, ...central, ...tail];
  const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of all) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
