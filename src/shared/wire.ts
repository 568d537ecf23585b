/**
 * Binary-aware framing for the WebSocket transport: JSON for structure, raw bytes for every
 * Uint8Array (images travel as PNG/RGBA bytes, never as JSON arrays).
 * Frame: [u32 LE json length][json utf-8][blob 0][blob 1]...; a Uint8Array in the value is
 * replaced in the JSON by {"$bin": index, "$len": n}.
 */
/** The largest WebSocket message serve accepts; a bigger one closes that socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Above this, the browser client sends an image as an upload (streamed, 1 GB limit) instead of inline. */
export const INLINE_BYTES_LIMIT = 8 * 1024 * 1024;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeFrame(value: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(value, (_k, v: unknown) => {
    // isView checks the internal slot: an object whose prototype was set to Uint8Array's is not bytes.
    if (v instanceof Uint8Array && ArrayBuffer.isView(v)) {
      blobs.push(v);
      return { $bin: blobs.length - 1, $len: v.byteLength };
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    return v;
  });
  const head = enc.encode(json ?? 'null');
  let total = 4 + head.byteLength;
  for (const b of blobs) total += b.byteLength;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 4);
  let off = 4 + head.byteLength;
  for (const b of blobs) {
    out.set(b, off);
    off += b.byteLength;
  }
  return out;
}

export function decodeFrame(buf: Uint8Array): unknown {
  if (buf.byteLength < 4) throw new Error('frame too short');
  const len = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
  if (4 + len > buf.byteLength) throw new Error('frame header length out of range');
  const json = dec.decode(buf.subarray(4, 4 + len));
  // Blob offsets are known only after parsing; collect them in order of index.
  const refs: { index: number; len: number }[] = [];
  const parsed: unknown = JSON.parse(json, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$bin === 'number' && typeof o.$len === 'number' && Object.keys(o).length === 2) {
        refs.push({ index: o.$bin, len: o.$len });
        return { __blobRef: o.$bin };
      }
      if (typeof o.$num === 'string' && Object.keys(o).length === 1) return Number(o.$num);
    }
    return v;
  });
  const offsets = new Map<number, Uint8Array>();
  let off = 4 + len;
  for (const r of [...refs].sort((a, b) => a.index - b.index)) {
    if (off + r.len > buf.byteLength) throw new Error('frame blob out of range');
    offsets.set(r.index, buf.slice(off, off + r.len));
    off += r.len;
  }
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.__blobRef === 'number' && Object.keys(o).length === 1) return offsets.get(o.__blobRef) ?? new Uint8Array();
      // defineProperty, not assignment: a "__proto__" key from the wire stays a plain own property.
      for (const k of Object.keys(o)) Object.defineProperty(o, k, { value: revive(o[k]), writable: true, enumerable: true, configurable: true });
    }
    return v;
  };
  return revive(parsed);
}
