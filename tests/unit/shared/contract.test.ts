import { describe, expect, it } from 'vitest';
import { CHANNEL_NAMES, contract } from '../../../src/shared/contract';
import { checkRequest } from '../../../src/shared/validate';
import { decodeFrame, encodeFrame } from '../../../src/shared/wire';
import { buildCalls } from '../../../src/shared/api';
import { handlerTable } from '../../../src/main/engine/handlers';

describe('contract', () => {
  it('names every channel domain.verb and gives each a handler', () => {
    for (const name of CHANNEL_NAMES) expect(name).toMatch(/^[a-z]+\.[A-Za-z]+$/);
    expect(Object.keys(handlerTable).sort()).toEqual([...CHANNEL_NAMES].sort());
    expect(CHANNEL_NAMES).toContain('app.doctor');
    expect(CHANNEL_NAMES).toContain('job.cancel');
  });

  it('rejects an unknown channel with UNKNOWN_CHANNEL', () => {
    const r = checkRequest('app.nope', {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('UNKNOWN_CHANNEL');
    const r2 = checkRequest(42, {});
    expect(r2.ok).toBe(false);
    // Prototype keys are not channels.
    expect(checkRequest('constructor', {}).ok).toBe(false);
    expect(checkRequest('__proto__', {}).ok).toBe(false);
  });

  it('rejects malformed payloads with a VALIDATION error naming the field', () => {
    const r = checkRequest('job.cancel', { jobId: 7 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('VALIDATION');
      expect(r.error.message).toContain('jobId');
    }
    const extra = checkRequest('app.doctor', { sneaky: true });
    expect(extra.ok).toBe(false);
    const bad = checkRequest('job.cancel', { jobId: '../../etc' });
    expect(bad.ok).toBe(false);
    expect(checkRequest('job.cancel', null).ok).toBe(false);
    expect(checkRequest('job.cancel', 'str').ok).toBe(false);
  });

  it('answers VALIDATION, never throws, for payloads that make a schema throw', () => {
    const hostile = new Proxy({}, { get() { throw new Error('trap'); }, ownKeys() { throw new Error('trap'); } });
    for (const name of CHANNEL_NAMES) {
      const r = checkRequest(name, hostile);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('VALIDATION');
    }
  });

  it('accepts valid payloads and treats a missing payload as {}', () => {
    expect(checkRequest('app.doctor', undefined).ok).toBe(true);
    expect(checkRequest('job.cancel', { jobId: 'train-abc_1' }).ok).toBe(true);
  });

  it('declares errors and descriptions for every channel', () => {
    for (const name of CHANNEL_NAMES) {
      const def = contract[name] as { description: string; errors: readonly string[] };
      expect(def.description.length).toBeGreaterThan(5);
      expect(Array.isArray(def.errors)).toBe(true);
    }
  });

  it('builds one function per channel, grouped by domain', async () => {
    const seen: string[] = [];
    const calls = buildCalls(async (ch) => {
      seen.push(ch);
      return { ok: true, data: ch };
    });
    const env = await (calls as unknown as Record<string, Record<string, (r: unknown) => Promise<unknown>>>).app!.doctor!({});
    expect(env).toEqual({ ok: true, data: 'app.doctor' });
    let count = 0;
    for (const d of Object.values(calls as unknown as Record<string, object>)) count += Object.keys(d).length;
    expect(count).toBe(CHANNEL_NAMES.length);
  });
});

describe('wire frames', () => {
  it('round-trips structure and binary data without JSON arrays', () => {
    const png = new Uint8Array([137, 80, 78, 71, 0, 255, 1]);
    const rgba = new Uint8Array(1000).map((_, i) => i % 256);
    const value = { t: 'res', id: 3, envelope: { ok: true, data: { png, nested: [{ rgba }], n: 1.5, s: 'x', inf: Infinity } } };
    const frame = encodeFrame(value);
    // The bytes travel raw: the frame is barely larger than the blobs.
    expect(frame.byteLength).toBeLessThan(png.byteLength + rgba.byteLength + 200);
    const back = decodeFrame(frame) as typeof value;
    expect(back.envelope.data.png).toEqual(png);
    expect(back.envelope.data.nested[0]!.rgba).toEqual(rgba);
    expect(back.envelope.data.n).toBe(1.5);
    expect(back.envelope.data.inf).toBe(Infinity);
  });

  it('keeps a "__proto__" key from the wire as plain data', () => {
    const frame = new TextEncoder().encode('{"a":{"__proto__":{"polluted":true},"b":1}}');
    const buf = new Uint8Array(4 + frame.byteLength);
    new DataView(buf.buffer).setUint32(0, frame.byteLength, true);
    buf.set(frame, 4);
    const v = decodeFrame(buf) as { a: Record<string, unknown> };
    expect(Object.getPrototypeOf(v.a)).toBe(Object.prototype);
    expect((v.a as { polluted?: boolean }).polluted).toBeUndefined();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    const fake = Object.create(Uint8Array.prototype) as object;
    expect(() => encodeFrame({ fake })).not.toThrow();
  });

  it('throws on truncated or lying frames', () => {
    expect(() => decodeFrame(new Uint8Array([1, 2]))).toThrow();
    const f = encodeFrame({ a: new Uint8Array(10) });
    expect(() => decodeFrame(f.subarray(0, f.byteLength - 5))).toThrow();
    const lying = new Uint8Array(8);
    new DataView(lying.buffer).setUint32(0, 1000, true);
    expect(() => decodeFrame(lying)).toThrow();
  });
});
