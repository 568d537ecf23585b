/**
 * A minimal protocol-buffers wire-format writer and reader: varints, 64-bit ints as bigint or
 * safe numbers, fixed32 floats, length-delimited fields (strings, bytes, sub-messages, packed
 * arrays). Enough for ONNX's ModelProto without a dependency.
 *
 * Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** Growable byte buffer with protobuf field writers. */
export class PbWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  get length(): number {
    return this.len;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  rawBytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Unsigned varint of a non-negative integer (number up to 2^53 or bigint up to 2^64). */
  varint(v: number | bigint): this {
    let x = typeof v === 'bigint' ? v : BigInt(v);
    if (x < 0n) x = BigInt.asUintN(64, x); // two's complement, 10 bytes (int64 semantics)
    if (x < 0x80n) {
      this.ensure(1);
      this.buf[this.len++] = Number(x);
      return this;
    }
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  /** int64 / int32 / enum / bool field (negative values as 10-byte two's complement). */
  int(field: number, v: number | bigint): this {
    return this.tag(field, WIRE_VARINT).varint(v);
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.len, v, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN).varint(b.length);
    return this.rawBytes(b);
  }

  string(field: number, s: string): this {
    return this.bytes(field, enc.encode(s));
  }

  /** Embedded message: built by `fn` on a fresh writer, then written length-delimited. */
  message(field: number, fn: (w: PbWriter) => void): this {
    const w = new PbWriter();
    fn(w);
    return this.bytes(field, w.finish());
  }

  /** Packed repeated varints (int64s, int32s). */
  packedInts(field: number, values: ArrayLike<number | bigint>): this {
    const w = new PbWriter();
    for (let i = 0; i < values.length; i++) w.varint(values[i]!);
    return this.bytes(field, w.finish());
  }

  /** Packed repeated float32. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true);
    return this.bytes(field, b);
  }
}

export interface PbField {
  field: number;
  wire: number;
  /** varint / fixed64 value as bigint; fixed32 as raw uint32 bits (number). */
  int?: bigint;
  fixed32?: number;
  /** Length-delimited payload. */
  bytes?: Uint8Array;
}

/** The unsigned varint at buf[pos]: its value and the position after it. */
function varintAt(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('protobuf: truncated varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 70n) throw new Error('protobuf: varint too long');
  }
}

/** Read all fields of one message (no schema: the caller interprets them). */
export function readFields(buf: Uint8Array): PbField[] {
  const out: PbField[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    const [v, next] = varintAt(buf, pos);
    pos = next;
    return v;
  };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  while (pos < buf.length) {
    const key = Number(readVarint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === WIRE_VARINT) out.push({ field, wire, int: readVarint() });
    else if (wire === WIRE_FIXED64) {
      if (pos + 8 > buf.length) throw new Error('protobuf: truncated fixed64');
      out.push({ field, wire, int: dv.getBigUint64(pos, true) });
      pos += 8;
    } else if (wire === WIRE_LEN) {
      const n = Number(readVarint());
      if (pos + n > buf.length) throw new Error('protobuf: truncated length-delimited field');
      out.push({ field, wire, bytes: buf.subarray(pos, pos + n) });
      pos += n;
    } else if (wire === WIRE_FIXED32) {
      if (pos + 4 > buf.length) throw new Error('protobuf: truncated fixed32');
      out.push({ field, wire, fixed32: dv.getUint32(pos, true) });
      pos += 4;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
  return out;
}

export function fieldString(f: PbField): string {
  return dec.decode(f.bytes ?? new Uint8Array());
}

/** int64 field as a signed number (values we write fit in 2^53). */
export function fieldInt(f: PbField): number {
  return Number(BigInt.asIntN(64, f.int ?? 0n));
}

export function fieldFloat(f: PbField): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, f.fixed32 ?? 0, true);
  return dv.getFloat32(0, true);
}

/** Repeated int64: packed (length-delimited) or one varint per field occurrence. */
export function fieldInts(f: PbField): number[] {
  if (f.wire === WIRE_VARINT) return [fieldInt(f)];
  const vals: number[] = [];
  for (const g of readPackedVarints(f.bytes!)) vals.push(Number(BigInt.asIntN(64, g)));
  return vals;
}

function readPackedVarints(b: Uint8Array): bigint[] {
  const out: bigint[] = [];
  for (let pos = 0; pos < b.length; ) {
    const [v, next] = varintAt(b, pos);
    out.push(v);
    pos = next;
  }
  return out;
}

export function fieldFloats(f: PbField): number[] {
  if (f.wire === WIRE_FIXED32) return [fieldFloat(f)];
  const b = f.bytes!;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4) out.push(dv.getFloat32(i, true));
  return out;
}
