/**
 * A pickle reader that runs nothing. Python's pickle is a stack machine whose GLOBAL + REDUCE
 * opcodes call any importable function (`os.system`, `builtins.eval`, ...): that is why a
 * downloaded .pth can own a machine under `torch.load`. This reader implements only the opcodes a
 * state dict needs (protocols 0-5 binary forms; no INST/OBJ/NEWOBJ/EXT/buffers), resolves a
 * GLOBAL only when it is on the caller's allowlist (refusing any other, by name, before anything
 * else happens), and "calls" an allowed global through the caller's own TypeScript function.
 * Limits bound the work (opcodes, memo, stack, nesting, string sizes), so a crafted file fails
 * fast instead of exhausting memory.
 *
 * And a writer for the one shape we export: protocol 2, the opcodes torch.save itself emits.
 */
import { PthError } from './errors';

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  /** State set by BUILD (an OrderedDict's `_metadata`); kept, never interpreted as code. */
  attrs: PyValue = null;
  constructor(readonly ordered: boolean) {}
}
/** An allowlisted global seen as a value (e.g. a storage type inside a persistent id). */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
export type PyKey = string | number | bigint | boolean | null;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | { readonly __opaque: any };

export interface PickleLimits {
  maxOps: number;
  maxMemo: number;
  maxStack: number;
  maxDepth: number;
  maxString: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = { maxOps: 20_000_000, maxMemo: 2_000_000, maxStack: 1_000_000, maxDepth: 64, maxString: 1 << 20 };

export interface UnpickleOptions {
  /** Globals the file may name, "module.name" -> how a REDUCE on it is answered (null: a value only, not callable). */
  globals: Record<string, ((args: PyValue[]) => PyValue) | null>;
  /** BINPERSID: how a persistent id (a storage reference in torch files) becomes a value. */
  persistentLoad?: (pid: PyValue) => PyValue;
  limits?: Partial<PickleLimits>;
}

const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1',
  0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT',
  0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x80: 'PROTO',
  0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE',
  0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};


function isContainer(v: PyValue): v is PyValue[] | PyTuple | PyDict {
  return Array.isArray(v) || v instanceof PyTuple || v instanceof PyDict;
}

function keyOf(k: PyValue): PyKey {
  if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
  throw new PthError('NOT_STATE_DICT', 'a dict key that is not a string or number');
}

/** Unpickle one pickle starting at `start`; returns the value and the offset after STOP. */
export function unpickle(bytes: Uint8Array, start: number, opts: UnpickleOptions): { value: PyValue; end: number } {
  const lim = { ...DEFAULT_PICKLE_LIMITS, ...opts.limits };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  const depth = new WeakMap<object, number>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let p = start;
  let ops = 0;

  const need = (n: number, what: string): void => {
    if (n < 0 || p + n > bytes.length) throw new PthError('CORRUPT', `pickle truncated in ${what} at byte ${p}`);
  };
  const strLen = (n: number, what: string): number => {
    if (n > lim.maxString) throw new PthError('LIMIT', `${what} of ${n} bytes (limit ${lim.maxString})`);
    need(n, what);
    return n;
  };
  const depthOf = (x: PyValue): number => (x !== null && typeof x === 'object' && isContainer(x) ? (depth.get(x) ?? 1) : 0);
  const nest = (parent: PyValue[] | PyTuple | PyDict, child: PyValue): void => {
    const d = Math.max(depth.get(parent) ?? 1, depthOf(child) + 1);
    if (d > lim.maxDepth) throw new PthError('LIMIT', `containers nested ${d} deep (limit ${lim.maxDepth})`);
    depth.set(parent, d);
  };
  const push = (x: PyValue): void => {
    if (stack.length >= lim.maxStack) throw new PthError('LIMIT', `pickle stack past ${lim.maxStack} items`);
    stack.push(x);
  };
  const pop = (): PyValue => {
    if (marks.length && stack.length <= marks[marks.length - 1]!) throw new PthError('CORRUPT', 'pickle pops past a MARK');
    if (stack.length === 0) throw new PthError('CORRUPT', 'pickle stack underflow');
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1]!)) throw new PthError('CORRUPT', 'pickle stack underflow');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) throw new PthError('CORRUPT', 'pickle has no MARK to pop to');
    return stack.splice(m);
  };
  const memoPut = (i: number, x: PyValue): void => {
    if (!memo.has(i) && memo.size >= lim.maxMemo) throw new PthError('LIMIT', `pickle memo past ${lim.maxMemo} entries`);
    memo.set(i, x);
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) throw new PthError('CORRUPT', `pickle reads memo slot ${i} that was never set`);
    return memo.get(i)!;
  };
  const tuple = (items: PyValue[]): PyTuple => {
    const t = new PyTuple(items);
    for (const it of items) nest(t, it);
    return t;
  };
  const line = (what: string): string => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0 || end - p > 256) throw new PthError('CORRUPT', `pickle ${what} line missing or too long`);
    const s = new TextDecoder('latin1').decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!Object.prototype.hasOwnProperty.call(opts.globals, q)) throw new PthError('REFUSED_GLOBAL', `it names the global ${q}, which a state dict never needs`);
    return new PyGlobal(module, name);
  };
  const setItems = (d: PyValue, kv: PyValue[]): void => {
    if (!(d instanceof PyDict)) throw new PthError('NOT_STATE_DICT', 'SETITEM(S) on something that is not a dict');
    if (kv.length % 2) throw new PthError('CORRUPT', 'SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) {
      nest(d, kv[i + 1]!);
      d.map.set(keyOf(kv[i]!), kv[i + 1]!);
    }
  };
  const append = (l: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(l)) throw new PthError('NOT_STATE_DICT', 'APPEND(S) on something that is not a list');
    for (const it of items) {
      nest(l, it);
      l.push(it);
    }
  };
  const decodeUtf8 = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      throw new PthError('CORRUPT', 'a pickle string is not valid UTF-8');
    }
  };

  for (;;) {
    if (++ops > lim.maxOps) throw new PthError('LIMIT', `pickle runs past ${lim.maxOps} opcodes`);
    need(1, 'an opcode');
    const op = bytes[p++]!;
    switch (op) {
      case 0x80: // PROTO
        need(1, 'PROTO');
        if (bytes[p]! > 5) throw new PthError('UNSUPPORTED', `pickle protocol ${bytes[p]}`);
        p += 1;
        break;
      case 0x95: // FRAME: a length hint only
        need(8, 'FRAME');
        p += 8;
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) throw new PthError('CORRUPT', 'pickle stops with an unbalanced stack');
        return { value: pop(), end: p };
      case 0x28: // MARK
        if (marks.length >= lim.maxDepth) throw new PthError('LIMIT', `MARKs nested ${marks.length + 1} deep (limit ${lim.maxDepth})`);
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && stack.length === marks[marks.length - 1]) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e:
        push(null);
        break;
      case 0x88:
        push(true);
        break;
      case 0x89:
        push(false);
        break;
      case 0x4a:
        need(4, 'BININT');
        push(v.getInt32(p, true));
        p += 4;
        break;
      case 0x4b:
        need(1, 'BININT1');
        push(bytes[p]!);
        p += 1;
        break;
      case 0x4d:
        need(2, 'BININT2');
        push(v.getUint16(p, true));
        p += 2;
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement, at most 8 bytes here (a state dict's ints are small).
        need(1, 'LONG1');
        const n = bytes[p++]!;
        if (n > 8) throw new PthError('LIMIT', `a ${n}-byte integer (limit 8)`);
        need(n, 'LONG1');
        let x = 0n;
        for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[p + i]!);
        if (n && bytes[p + n - 1]! & 0x80) x -= 1n << BigInt(8 * n);
        p += n;
        push(x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x);
        break;
      }
      case 0x47:
        need(8, 'BINFLOAT');
        push(v.getFloat64(p, false));
        p += 8;
        break;
      case 0x58: // BINUNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        const w = op === 0x8c ? 1 : op === 0x58 ? 4 : 8;
        need(w, OPNAMES[op]!);
        const n = w === 1 ? bytes[p]! : w === 4 ? v.getUint32(p, true) : Number(v.getBigUint64(p, true));
        p += w;
        strLen(n, 'a string');
        push(decodeUtf8(bytes.subarray(p, p + n)));
        p += n;
        break;
      }
      case 0x54: // BINSTRING (Python 2 str: bytes, read as latin-1 text)
      case 0x55: {
        const w = op === 0x55 ? 1 : 4;
        need(w, OPNAMES[op]!);
        const n = w === 1 ? bytes[p]! : v.getInt32(p, true);
        p += w;
        strLen(n, 'a string');
        push(new TextDecoder('latin1').decode(bytes.subarray(p, p + n)));
        p += n;
        break;
      }
      case 0x42: // BINBYTES
      case 0x43:
      case 0x8e: {
        const w = op === 0x43 ? 1 : op === 0x42 ? 4 : 8;
        need(w, OPNAMES[op]!);
        const n = w === 1 ? bytes[p]! : w === 4 ? v.getUint32(p, true) : Number(v.getBigUint64(p, true));
        p += w;
        strLen(n, 'a bytes value');
        push(bytes.slice(p, p + n));
        p += n;
        break;
      }
      case 0x29:
        push(tuple([]));
        break;
      case 0x74:
        push(tuple(popMark()));
        break;
      case 0x85:
        push(tuple([pop()]));
        break;
      case 0x86: {
        const b = pop();
        push(tuple([pop(), b]));
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      }
      case 0x5d:
        push([]);
        break;
      case 0x6c: {
        // LIST
        const l: PyValue[] = [];
        append(l, popMark());
        push(l);
        break;
      }
      case 0x61: {
        const x = pop();
        append(top(), [x]);
        break;
      }
      case 0x65: {
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x7d:
        push(new PyDict(false));
        break;
      case 0x64: {
        // DICT
        const d = new PyDict(false);
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x73: {
        const val = pop();
        const key = pop();
        setItems(top(), [key, val]);
        break;
      }
      case 0x75: {
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x71:
        need(1, 'BINPUT');
        memoPut(bytes[p++]!, top());
        break;
      case 0x72:
        need(4, 'LONG_BINPUT');
        memoPut(v.getUint32(p, true), top());
        p += 4;
        break;
      case 0x94:
        memoPut(memo.size, top());
        break;
      case 0x68:
        need(1, 'BINGET');
        push(memoGet(bytes[p++]!));
        break;
      case 0x6a:
        need(4, 'LONG_BINGET');
        push(memoGet(v.getUint32(p, true)));
        p += 4;
        break;
      case 0x63: {
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        push(global(module, name));
        break;
      }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PthError('CORRUPT', 'STACK_GLOBAL needs two strings');
        push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE: only an allowlisted global with a TypeScript implementation, never Python.
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) throw new PthError('REFUSED_OPCODE', 'REDUCE on something that is not a global');
        const impl = opts.globals[fn.qualified];
        if (!impl) throw new PthError('REFUSED_GLOBAL', `it calls ${fn.qualified}, which may be named but not called`);
        if (!(args instanceof PyTuple)) throw new PthError('CORRUPT', `REDUCE ${fn.qualified} without an argument tuple`);
        push(impl(args.items));
        break;
      }
      case 0x62: {
        // BUILD: only an OrderedDict's attribute dict (state_dict()._metadata).
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict) || !(state instanceof PyDict || state === null)) throw new PthError('REFUSED_OPCODE', 'BUILD on something other than a dict');
        obj.attrs = state;
        break;
      }
      case 0x51: {
        const pid = pop();
        if (!opts.persistentLoad) throw new PthError('REFUSED_OPCODE', 'a persistent id where none is expected');
        push(opts.persistentLoad(pid));
        break;
      }
      default: {
        const name = OPNAMES[op];
        throw new PthError('REFUSED_OPCODE', name ? `it uses the pickle opcode ${name}, which a state dict never needs` : `unknown pickle opcode 0x${op.toString(16)} at byte ${p - 1}`);
      }
    }
  }
}

/* ------------------------------------------------------------------ writer (protocol 2) */

/** What the writer emits: a global call (GLOBAL + args + REDUCE), a persistent id, or plain values. */
export type PickleOut =
  | null
  | boolean
  | number
  | string
  | { t: 'tuple'; items: PickleOut[] }
  | { t: 'odict'; items: [string, PickleOut][] }
  | { t: 'call'; fn: string; args: PickleOut[] }
  | { t: 'global'; name: string }
  | { t: 'pid'; value: PickleOut };

export class PickleWriter {
  private out: number[] = [];
  private memo = 0;
  private globals = new Map<string, number>();

  private bytes(...b: number[]): void {
    for (const x of b) this.out.push(x);
  }
  private put(): void {
    const i = this.memo++;
    if (i < 256) this.bytes(0x71, i);
    else this.bytes(0x72, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >>> 24) & 0xff);
  }
  private get(i: number): void {
    if (i < 256) this.bytes(0x68, i);
    else this.bytes(0x6a, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >>> 24) & 0xff);
  }
  private global(q: string): void {
    const known = this.globals.get(q);
    if (known !== undefined) return this.get(known);
    const dot = q.lastIndexOf('.');
    this.bytes(0x63, ...new TextEncoder().encode(`${q.slice(0, dot)}\n${q.slice(dot + 1)}\n`));
    this.globals.set(q, this.memo);
    this.put();
  }
  private int(n: number): void {
    if (Number.isInteger(n) && n >= 0 && n < 256) this.bytes(0x4b, n);
    else if (Number.isInteger(n) && n >= 0 && n < 65536) this.bytes(0x4d, n & 0xff, n >> 8);
    else if (Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) this.bytes(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
    else if (Number.isSafeInteger(n)) {
      const b: number[] = [];
      let x = BigInt(n);
      for (let i = 0; i < 8; i++) {
        b.push(Number(x & 0xffn));
        x >>= 8n;
      }
      this.bytes(0x8a, 8, ...b);
    } else {
      const f = new DataView(new ArrayBuffer(8));
      f.setFloat64(0, n, false);
      this.bytes(0x47, ...new Uint8Array(f.buffer));
    }
  }
  private str(s: string): void {
    const b = new TextEncoder().encode(s);
    const n = b.length;
    this.bytes(0x58, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff, ...b);
    this.put();
  }
  private tuple(items: PickleOut[]): void {
    if (items.length === 0) return this.bytes(0x29);
    if (items.length <= 3) {
      items.forEach((x) => this.value(x));
      this.bytes(0x84 + items.length);
    } else {
      this.bytes(0x28);
      items.forEach((x) => this.value(x));
      this.bytes(0x74);
    }
    this.put();
  }
  value(x: PickleOut): void {
    if (x === null) return this.bytes(0x4e);
    if (x === true) return this.bytes(0x88);
    if (x === false) return this.bytes(0x89);
    if (typeof x === 'number') return this.int(x);
    if (typeof x === 'string') return this.str(x);
    switch (x.t) {
      case 'tuple':
        return this.tuple(x.items);
      case 'global':
        return this.global(x.name);
      case 'pid':
        this.value(x.value);
        return this.bytes(0x51);
      case 'call':
        this.global(x.fn);
        this.tuple(x.args);
        this.bytes(0x52);
        return this.put();
      case 'odict':
        this.global('collections.OrderedDict');
        this.bytes(0x29, 0x52);
        this.put();
        for (let i = 0; i < x.items.length; i += 1000) {
          this.bytes(0x28);
          for (const [k, val] of x.items.slice(i, i + 1000)) {
            this.str(k);
            this.value(val);
          }
          this.bytes(0x75);
        }
        return;
    }
  }
  /** PROTO 2, the value, STOP. */
  static dump(x: PickleOut): Uint8Array {
    const w = new PickleWriter();
    w.bytes(0x80, 2);
    w.value(x);
    w.bytes(0x2e);
    return Uint8Array.from(w.out);
  }
}
