/**
 * CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320): the checksum of PNG chunks and of zip
 * entries. One table for the PNG provenance chunk, the .pth zip reader/writer and the test
 * fixtures that craft damaged files.
 */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 over the parts in order, as if they were one buffer (a PNG chunk: type, then data). */
export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
