/**
 * PyTorch state-dict files (.pth / .pt), read without running anything, and written so that
 * `torch.load(f, weights_only=True)` and a strict `load_state_dict` accept them.
 *
 * Formats read:
 *   zip (torch >= 1.6):  <stem>/data.pkl       the state dict pickle; storages as persistent ids
 *                                               ('storage', torch.FloatStorage, key, location, numel)
 *                        <stem>/data/<key>      each storage's raw little-endian bytes
 *                        <stem>/version, <stem>/byteorder ('little' or absent)
 *   legacy (torch.save(..., _use_new_zipfile_serialization=False)): five things back to back:
 *                        pickle(magic 0x1950a86a20f9469cfc6c), pickle(1001), pickle(sys_info),
 *                        the state dict pickle (persistent ids ('storage', type, key, location,
 *                        numel, view)), pickle([keys]), then per key: int64 numel + raw bytes.
 * The pickle may name only: collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
 * _rebuild_tensor / _rebuild_parameter, and the torch.*Storage types (as persistent-id values).
 * Tensors are copied out through their offset and strides, every index checked against the
 * storage's real bytes, so a header claiming a huge size cannot read (or allocate) past the file.
 */
import fsp from 'node:fs/promises';
import { PthError } from './errors';
import { PickleWriter, PyDict, PyGlobal, PyTuple, unpickle, type PickleOut, type PyValue, type UnpickleOptions } from './pickle';
import { isZip, readZip, writeZip } from './zip';

export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface PthTensor {
  dtype: TorchDtype;
  shape: number[];
  /** Values in row-major order: float dtypes as float32, integer and bool dtypes as float64 (exact below 2^53). */
  data: Float32Array | Float64Array;
}

export interface StateDict {
  format: 'zip' | 'legacy';
  /** Keys in file order. */
  tensors: Map<string, PthTensor>;
}

export interface PthLimits {
  maxFileBytes: number;
  maxTensors: number;
  maxDims: number;
  maxElements: number;
}

export const DEFAULT_PTH_LIMITS: PthLimits = { maxFileBytes: 2 ** 31 - 1, maxTensors: 100_000, maxDims: 8, maxElements: 2 ** 31 - 1 };

const STORAGES: Record<string, { dtype: TorchDtype; size: number }> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
};
const STORAGE_BY_DTYPE = Object.fromEntries(Object.entries(STORAGES).map(([k, v]) => [v.dtype, k])) as Record<TorchDtype, string>;

class StorageRef {
  readonly __opaque = 'storage';
  bytes: Uint8Array | null = null;
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly elSize: number,
    readonly numel: number,
  ) {}
}
class TensorRef {
  readonly __opaque = 'tensor';
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const LEGACY_MAGIC = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

function intArg(v: PyValue, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new PthError('CORRUPT', `${what} is not a valid size`);
  return v;
}
function intTuple(v: PyValue, what: string, lim: PthLimits): number[] {
  if (!(v instanceof PyTuple)) throw new PthError('CORRUPT', `${what} is not a tuple`);
  if (v.items.length > lim.maxDims) throw new PthError('LIMIT', `a tensor with ${v.items.length} dimensions (limit ${lim.maxDims})`);
  return v.items.map((x) => intArg(x, what, 2 ** 40));
}

/** The allowlist: the only globals a state dict names, each answered by TypeScript. */
function stateDictGlobals(lim: PthLimits, count: { tensors: number }): UnpickleOptions['globals'] {
  const rebuild = (args: PyValue[], name: string): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) throw new PthError('CORRUPT', `${name} without a storage`);
    if (++count.tensors > lim.maxTensors) throw new PthError('LIMIT', `more than ${lim.maxTensors} tensors`);
    const shape = intTuple(size!, 'tensor size', lim);
    const strides = intTuple(stride!, 'tensor stride', lim);
    if (shape.length !== strides.length) throw new PthError('CORRUPT', 'tensor size and stride differ in length');
    const hooks = args[5];
    if (hooks instanceof PyDict && hooks.map.size) throw new PthError('NOT_STATE_DICT', 'a tensor with backward hooks');
    return new TensorRef(storage, intArg(offset!, 'storage offset'), shape, strides);
  };
  const storageTypes = Object.fromEntries(Object.keys(STORAGES).map((k) => [`torch.${k}`, null]));
  return {
    ...storageTypes,
    'collections.OrderedDict': (args) => {
      const d = new PyDict(true);
      const items = args[0];
      if (items === undefined) return d;
      if (!Array.isArray(items)) throw new PthError('NOT_STATE_DICT', 'OrderedDict built from something other than a list of pairs');
      for (const it of items) {
        if (!(it instanceof PyTuple) || it.items.length !== 2) throw new PthError('NOT_STATE_DICT', 'OrderedDict item that is not a pair');
        const k = it.items[0]!;
        if (typeof k !== 'string') throw new PthError('NOT_STATE_DICT', 'OrderedDict key that is not a string');
        d.map.set(k, it.items[1]!);
      }
      return d;
    },
    'torch._utils._rebuild_tensor_v2': (args) => rebuild(args, '_rebuild_tensor_v2'),
    'torch._utils._rebuild_tensor': (args) => rebuild(args, '_rebuild_tensor'),
    'torch._utils._rebuild_parameter': (args) => {
      if (!(args[0] instanceof TensorRef)) throw new PthError('CORRUPT', '_rebuild_parameter without a tensor');
      return args[0];
    },
  };
}

function storageType(v: PyValue): { dtype: TorchDtype; size: number } {
  if (!(v instanceof PyGlobal) || v.module !== 'torch' || !STORAGES[v.name]) throw new PthError('CORRUPT', 'a persistent id without a storage type');
  return STORAGES[v.name]!;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Copy a tensor out of its storage through offset and strides, every index checked. */
function materialize(t: TensorRef, lim: PthLimits): PthTensor {
  const s = t.storage;
  if (!s.bytes) throw new PthError('CORRUPT', `storage "${s.key}" has no data in the file`);
  let numel = 1;
  for (const d of t.shape) numel *= d;
  if (numel > lim.maxElements) throw new PthError('LIMIT', `a tensor of ${numel} elements (limit ${lim.maxElements})`);
  let maxIndex = t.offset;
  t.shape.forEach((d, i) => {
    if (d > 0) maxIndex += (d - 1) * t.stride[i]!;
  });
  if (numel > 0 && maxIndex >= s.numel) throw new PthError('CORRUPT', `a tensor reads element ${maxIndex} of storage "${s.key}", which holds ${s.numel}`);
  const v = new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
  const isFloat = s.dtype.startsWith('float') || s.dtype === 'bfloat16';
  const out = isFloat ? new Float32Array(numel) : new Float64Array(numel);
  const read = (i: number): number => {
    const o = i * s.elSize;
    switch (s.dtype) {
      case 'float32':
        return v.getFloat32(o, true);
      case 'float64':
        return v.getFloat64(o, true);
      case 'float16':
        return halfToFloat(v.getUint16(o, true));
      case 'bfloat16':
        return new Float32Array(Uint32Array.of(v.getUint16(o, true) << 16).buffer)[0]!;
      case 'int64':
        return Number(v.getBigInt64(o, true));
      case 'int32':
        return v.getInt32(o, true);
      case 'int16':
        return v.getInt16(o, true);
      case 'int8':
        return v.getInt8(o);
      default:
        return v.getUint8(o);
    }
  };
  const contiguous = t.shape.every((_, i) => t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1) || t.shape[i] === 1);
  if (contiguous && s.dtype === 'float32' && (s.bytes.byteOffset + t.offset * 4) % 4 === 0) {
    out.set(new Float32Array(s.bytes.buffer, s.bytes.byteOffset + t.offset * 4, numel));
  } else {
    const idx = new Array<number>(t.shape.length).fill(0);
    for (let n = 0; n < numel; n++) {
      let src = t.offset;
      for (let d = 0; d < idx.length; d++) src += idx[d]! * t.stride[d]!;
      out[n] = read(src);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d]! < t.shape[d]!) break;
        idx[d] = 0;
      }
    }
  }
  return { dtype: s.dtype, shape: t.shape, data: out };
}

/** The state dict's tensors, keys in order; anything but a dict of tensors is refused. */
function toStateDict(root: PyValue, format: StateDict['format'], lim: PthLimits): StateDict {
  if (!(root instanceof PyDict)) throw new PthError('NOT_STATE_DICT', 'the file holds something other than a dict of tensors (save net.state_dict())');
  const tensors = new Map<string, PthTensor>();
  for (const [k, v] of root.map) {
    if (typeof k !== 'string') throw new PthError('NOT_STATE_DICT', 'a state dict key that is not a string');
    if (!(v instanceof TensorRef)) throw new PthError('NOT_STATE_DICT', `"${k}" is not a tensor (save net.state_dict(), not a training checkpoint dict)`);
    tensors.set(k, materialize(v, lim));
  }
  return { format, tensors };
}

function readZipFormat(bytes: Uint8Array, lim: PthLimits): StateDict {
  const entries = readZip(bytes);
  const pkls = entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pkls.length !== 1) throw new PthError('UNSUPPORTED', pkls.length ? 'the zip holds more than one data.pkl' : 'the zip has no <name>/data.pkl (not a torch.save file)');
  const stem = pkls[0]!.name.slice(0, -'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e.data]));
  const order = byName.get(`${stem}byteorder`);
  if (order && new TextDecoder().decode(order).trim() !== 'little') throw new PthError('UNSUPPORTED', 'a big-endian checkpoint');
  const storages = new Map<string, StorageRef>();
  const count = { tensors: 0 };
  const value = unpickle(pkls[0]!.data, 0, {
    globals: stateDictGlobals(lim, count),
    persistentLoad: (pid) => {
      if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') throw new PthError('CORRUPT', 'a persistent id that is not a storage');
      const [, type, key, , numel] = pid.items;
      const t = storageType(type!);
      if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) throw new PthError('CORRUPT', 'a storage key that is not a plain name');
      const n = intArg(numel!, 'storage size');
      const known = storages.get(key);
      if (known) {
        if (known.dtype !== t.dtype || known.numel !== n) throw new PthError('CORRUPT', `storage "${key}" declared twice differently`);
        return known;
      }
      const data = byName.get(`${stem}data/${key}`);
      if (!data) throw new PthError('CORRUPT', `storage "${key}" has no data/${key} entry`);
      if (data.length !== n * t.size) throw new PthError('CORRUPT', `storage "${key}" declares ${n} elements of ${t.size} bytes but holds ${data.length} bytes`);
      const s = new StorageRef(key, t.dtype, t.size, n);
      s.bytes = data;
      storages.set(key, s);
      return s;
    },
  }).value;
  return toStateDict(value, 'zip', lim);
}

function readLegacyFormat(bytes: Uint8Array, lim: PthLimits): StateDict {
  if (bytes.length < LEGACY_MAGIC.length || !LEGACY_MAGIC.every((b, i) => bytes[i] === b)) {
    if (bytes.length > 262 && new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar') throw new PthError('UNSUPPORTED', 'a tar checkpoint (PyTorch < 0.1.10); re-save it with a current PyTorch');
    throw new PthError('UNSUPPORTED', 'neither a zip nor a legacy torch.save file');
  }
  let p = LEGACY_MAGIC.length;
  const plain = { globals: {} };
  const proto = unpickle(bytes, p, plain);
  if (proto.value !== 1001) throw new PthError('UNSUPPORTED', `legacy protocol version ${String(proto.value)}`);
  const sys = unpickle(bytes, proto.end, plain);
  if (sys.value instanceof PyDict && sys.value.map.get('little_endian') === false) throw new PthError('UNSUPPORTED', 'a big-endian checkpoint');
  p = sys.end;
  const storages = new Map<string, StorageRef>();
  const count = { tensors: 0 };
  const main = unpickle(bytes, p, {
    globals: stateDictGlobals(lim, count),
    persistentLoad: (pid) => {
      if (!(pid instanceof PyTuple) || pid.items.length !== 6 || pid.items[0] !== 'storage') throw new PthError('CORRUPT', 'a persistent id that is not a storage');
      const [, type, key, , numel, view] = pid.items;
      if (view !== null) throw new PthError('UNSUPPORTED', 'a storage view (PyTorch < 0.4 file); re-save it with a current PyTorch');
      const t = storageType(type!);
      if (typeof key !== 'string' || key.length > 64) throw new PthError('CORRUPT', 'a storage key that is not a plain name');
      const n = intArg(numel!, 'storage size');
      let s = storages.get(key);
      if (!s) storages.set(key, (s = new StorageRef(key, t.dtype, t.size, n)));
      return s;
    },
  });
  const keys = unpickle(bytes, main.end, plain);
  if (!Array.isArray(keys.value)) throw new PthError('CORRUPT', 'the storage key list is missing');
  p = keys.end;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const k of keys.value) {
    const s = typeof k === 'string' ? storages.get(k) : undefined;
    if (!s) throw new PthError('CORRUPT', `data for storage ${String(k)} that nothing uses`);
    if (p + 8 > bytes.length) throw new PthError('CORRUPT', 'the file ends before its storages (truncated?)');
    const n = v.getBigInt64(p, true);
    if (n !== BigInt(s.numel)) throw new PthError('CORRUPT', `storage "${s.key}" holds ${n} elements, declared ${s.numel}`);
    p += 8;
    const len = s.numel * s.elSize;
    if (p + len > bytes.length) throw new PthError('CORRUPT', `storage "${s.key}" runs past the end of the file (truncated?)`);
    s.bytes = bytes.subarray(p, p + len);
    p += len;
  }
  return toStateDict(main.value, 'legacy', lim);
}

/** Parse .pth bytes into a state dict; throws PthError (BAD_INPUT) naming what it refused. */
export function readPth(bytes: Uint8Array, limits: Partial<PthLimits> = {}): StateDict {
  const lim = { ...DEFAULT_PTH_LIMITS, ...limits };
  if (bytes.length > lim.maxFileBytes) throw new PthError('LIMIT', `the file is ${bytes.length} bytes (limit ${lim.maxFileBytes})`);
  return isZip(bytes) ? readZipFormat(bytes, lim) : readLegacyFormat(bytes, lim);
}

export async function readPthFile(file: string, limits: Partial<PthLimits> = {}): Promise<StateDict> {
  const lim = { ...DEFAULT_PTH_LIMITS, ...limits };
  const st = await fsp.stat(file);
  if (st.size > lim.maxFileBytes) throw new PthError('LIMIT', `the file is ${st.size} bytes (limit ${lim.maxFileBytes})`);
  return readPth(new Uint8Array(await fsp.readFile(file)), lim);
}

/** A tensor to write: float32 weights, or int64 counters (BatchNorm's num_batches_tracked). */
export interface OutTensor {
  dtype: 'float32' | 'int64';
  shape: number[];
  data: ArrayLike<number>;
}

/**
 * torch.save's zip format for a state dict (an OrderedDict of contiguous tensors, one storage
 * each), as torch 1.13 writes it: `<stem>/data.pkl`, `<stem>/data/<i>`, `<stem>/version`.
 */
export function writePth(entries: [string, OutTensor][], stem = 'archive'): Uint8Array {
  const files: { name: string; data: Uint8Array }[] = [];
  const items: [string, PickleOut][] = entries.map(([key, t], i) => {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new Error(`writePth: ${key} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    let bytes: Uint8Array;
    if (t.dtype === 'float32') bytes = new Uint8Array(Float32Array.from(t.data).buffer);
    else bytes = new Uint8Array(BigInt64Array.from(Array.from(t.data, (x) => BigInt(Math.round(x)))).buffer);
    files.push({ name: `${stem}/data/${i}`, data: bytes });
    const storage: PickleOut = { t: 'pid', value: { t: 'tuple', items: ['storage', { t: 'global', name: `torch.${STORAGE_BY_DTYPE[t.dtype]}` }, String(i), 'cpu', numel] } };
    return [
      key,
      {
        t: 'call',
        fn: 'torch._utils._rebuild_tensor_v2',
        args: [storage, 0, { t: 'tuple', items: t.shape }, { t: 'tuple', items: stride }, false, { t: 'call', fn: 'collections.OrderedDict', args: [] }],
      },
    ];
  });
  const pkl = PickleWriter.dump({ t: 'odict', items });
  return writeZip([{ name: `${stem}/data.pkl`, data: pkl }, ...files, { name: `${stem}/version`, data: new TextEncoder().encode('3\n') }]);
}
