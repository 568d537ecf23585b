/**
 * Attacks on `atelier serve` replayed at the protocol level, over raw TCP to 127.0.0.1 (loopback
 * only, every loop bounded). Each attack must get a refusal (an HTTP status, a WebSocket close
 * code or an error envelope) and, after each one, the server must still answer a fresh client:
 * before these fixes several of them ended the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { startServer, type ServeHandle } from '../../../src/main/serve/server';
import { InProcessEngine } from '../../../src/main/engine/client/inprocess';
import { decodeFrame, encodeFrame } from '../../../src/shared/wire';
import type { Envelope } from '../../../src/shared/errors';

const MAX_FRAME = 64 * 1024;

let handle: ServeHandle;
let engine: InProcessEngine;

beforeAll(async () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-attack-'));
  const rendererDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-attack-r-'));
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Atelier</title>');
  engine = new InProcessEngine({ workspaceRoot: workspace });
  handle = await startServer({ engine, rendererDir, uploadDir: path.join(workspace, 'tmp'), maxFrameBytes: MAX_FRAME });
});
afterAll(async () => {
  await handle.close();
  await engine.close();
});

const origin = () => `http://127.0.0.1:${handle.port}`;

/** One WebSocket frame by hand: any opcode, reserved bits, mask or not, any declared length. */
function frame(opts: { opcode: number; payload?: Buffer; fin?: boolean; rsv?: number; mask?: boolean; declaredLength?: bigint }): Buffer {
  const payload = opts.payload ?? Buffer.alloc(0);
  const mask = opts.mask ?? true;
  const b0 = ((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opts.opcode;
  const len = opts.declaredLength ?? BigInt(payload.length);
  let head: Buffer;
  if (len < 126n) head = Buffer.from([b0, (mask ? 0x80 : 0) | Number(len)]);
  else if (len < 65536n) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = (mask ? 0x80 : 0) | 126;
    head.writeUInt16BE(Number(len), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = (mask ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(len, 2);
  }
  if (!mask) return Buffer.concat([head, payload]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([head, key, body]);
}

interface Raw {
  sock: net.Socket;
  /** Everything received after the handshake, as parsed server frames. */
  frames: () => { opcode: number; payload: Buffer }[];
  closed: Promise<void>;
}

/** A raw client: HTTP upgrade with the given headers; resolves with the status line and the socket. */
function rawUpgrade(opts: { path?: string; headers?: Record<string, string>; requestLine?: string }): Promise<{ status: number; raw: Raw }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(handle.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let status = 0;
    let rest = Buffer.alloc(0);
    let settled = false;
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined); // the server may reset the connection: that is a refusal too
    const raw: Raw = {
      sock,
      closed,
      frames: () => {
        const out: { opcode: number; payload: Buffer }[] = [];
        let off = 0;
        while (off + 2 <= rest.length) {
          const opcode = rest[off]! & 0x0f;
          let len = rest[off + 1]! & 0x7f;
          let p = off + 2;
          if (len === 126) {
            len = rest.readUInt16BE(p);
            p += 2;
          } else if (len === 127) {
            len = Number(rest.readBigUInt64BE(p));
            p += 8;
          }
          if (p + len > rest.length) break;
          out.push({ opcode, payload: rest.subarray(p, p + len) });
          off = p + len;
        }
        return out;
      },
    };
    sock.on('data', (d: Buffer) => {
      if (settled) {
        rest = Buffer.concat([rest, d]);
        return;
      }
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.toString('latin1'))?.[1] ?? 0);
      rest = buf.subarray(end + 4);
      settled = true;
      resolve({ status, raw });
    });
    closed.then(() => {
      if (!settled) {
        settled = true;
        resolve({ status, raw });
      }
    }, reject);
    const headers: Record<string, string> = {
      host: `127.0.0.1:${handle.port}`,
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': crypto.randomBytes(16).toString('base64'),
      'sec-websocket-version': '13',
      origin: origin(),
      ...opts.headers,
    };
    const line = opts.requestLine ?? `GET ${opts.path ?? `/ws?token=${encodeURIComponent(handle.token)}`} HTTP/1.1`;
    sock.write(`${line}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
  });
}

/** An authenticated raw socket, upgraded. */
async function openRaw(): Promise<Raw> {
  const { status, raw } = await rawUpgrade({});
  expect(status).toBe(101);
  return raw;
}

/** The close code the server sent, after it closed the connection. */
async function closeCode(raw: Raw): Promise<number | null> {
  await raw.closed;
  const close = raw.frames().find((f) => f.opcode === 0x8);
  return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
}

/** Server replies (binary frames) decoded as contract messages. */
function replies(raw: Raw): { t: string; id: unknown; envelope: Envelope<unknown> }[] {
  return raw
    .frames()
    .filter((f) => f.opcode === 0x2)
    .map((f) => decodeFrame(new Uint8Array(f.payload)) as { t: string; id: unknown; envelope: Envelope<unknown> });
}

async function waitReplies(raw: Raw, n: number): Promise<ReturnType<typeof replies>> {
  for (let i = 0; i < 200 && replies(raw).length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return replies(raw);
}

/** The liveness probe after each attack: a fresh, well-behaved client gets app.version. */
async function stillAnswers(): Promise<void> {
  const raw = await openRaw();
  raw.sock.write(frame({ opcode: 0x2, payload: Buffer.from(encodeFrame({ t: 'req', id: 'probe', channel: 'app.version', payload: {} })) }));
  const got = await waitReplies(raw, 1);
  expect(got[0]).toMatchObject({ t: 'res', id: 'probe', envelope: { ok: true } });
  raw.sock.destroy();
}

describe('serve under attack (raw TCP to 127.0.0.1)', () => {
  it('refuses an upgrade carrying a malformed cookie escape and keeps serving', async () => {
    const { status } = await rawUpgrade({ path: '/ws', headers: { cookie: 'atelier_token=%E0%A4%A' } });
    expect(status).toBe(401);
    await stillAnswers();
  });

  it('refuses an upgrade with a request target that is not a URL and keeps serving', async () => {
    const { status } = await rawUpgrade({ requestLine: 'GET http://[ HTTP/1.1' });
    expect([400, 404]).toContain(status);
    await stillAnswers();
  });

  it('refuses upgrades without the token, with a foreign Origin, or on another path, and keeps serving', async () => {
    expect((await rawUpgrade({ path: '/ws' })).status).toBe(401);
    expect((await rawUpgrade({ headers: { origin: 'http://127.0.0.1:1' } })).status).toBe(403);
    expect((await rawUpgrade({ path: `/other?token=${handle.token}` })).status).toBe(404);
    await stillAnswers();
  });

  it('answers top-level null, arrays, primitives and odd ids with VALIDATION errors, never a crash', async () => {
    const raw = await openRaw();
    const texts = ['null', '[]', '[1,2]', '42', '"req"', 'true', '{"t":"req","id":{},"channel":"app.version"}', `{"t":"req","id":"${'x'.repeat(200)}","channel":"app.version"}`, '{"t":"req","id":[1],"channel":"app.version"}', '{"t":"req","id":null}', '{"t":"res","id":1}', '{"__proto__":{"t":"req"},"id":1}'];
    for (const t of texts) raw.sock.write(frame({ opcode: 0x1, payload: Buffer.from(t) }));
    // The binary framing can carry what JSON cannot: a NaN id and a null top level.
    raw.sock.write(frame({ opcode: 0x2, payload: Buffer.from(encodeFrame({ t: 'req', id: NaN, channel: 'app.version', payload: {} })) }));
    raw.sock.write(frame({ opcode: 0x2, payload: Buffer.from(encodeFrame(null)) }));
    raw.sock.write(frame({ opcode: 0x2, payload: Buffer.from(encodeFrame([{ t: 'req', id: 1 }])) }));
    const n = texts.length + 3;
    const got = await waitReplies(raw, n);
    expect(got).toHaveLength(n);
    for (const r of got) expect(r.envelope).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    // Only a well-formed id is echoed (the two messages with id 1 are wrong in another way).
    expect(got.map((r) => r.id).sort()).toEqual([...Array<null>(n - 2).fill(null), 1, 1].sort());
    raw.sock.destroy();
    await stillAnswers();
  });

  // Each malformed frame must close only its own socket, with the code RFC 6455 gives it.
  const protocolAttacks: { name: string; bytes: () => Buffer; code: number }[] = [
    { name: 'invalid UTF-8 in a text frame', bytes: () => frame({ opcode: 0x1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) }), code: 1007 },
    { name: 'a payload over the frame limit', bytes: () => frame({ opcode: 0x2, payload: Buffer.alloc(MAX_FRAME + 1) }), code: 1009 },
    { name: 'a declared 2^63-byte length', bytes: () => frame({ opcode: 0x2, declaredLength: 2n ** 63n }), code: 1009 },
    { name: 'a reserved opcode (0x3)', bytes: () => frame({ opcode: 0x3, payload: Buffer.from('x') }), code: 1002 },
    { name: 'a reserved control opcode (0xB)', bytes: () => frame({ opcode: 0xb }), code: 1002 },
    { name: 'reserved bit RSV1 without an extension', bytes: () => frame({ opcode: 0x1, rsv: 4, payload: Buffer.from('{}') }), code: 1002 },
    { name: 'reserved bits RSV2|RSV3', bytes: () => frame({ opcode: 0x1, rsv: 3, payload: Buffer.from('{}') }), code: 1002 },
    { name: 'a close frame with code 999', bytes: () => frame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe7]) }), code: 1002 },
    { name: 'a close frame with the reserved code 1005', bytes: () => frame({ opcode: 0x8, payload: Buffer.from([0x03, 0xed]) }), code: 1002 },
    { name: 'a close frame with a one-byte body', bytes: () => frame({ opcode: 0x8, payload: Buffer.from([0x03]) }), code: 1002 },
    { name: 'a close reason that is not UTF-8', bytes: () => frame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8, 0xff, 0xfe]) }), code: 1007 },
    { name: 'an unmasked client frame', bytes: () => frame({ opcode: 0x1, mask: false, payload: Buffer.from('null') }), code: 1002 },
    { name: 'a fragmented ping', bytes: () => frame({ opcode: 0x9, fin: false, payload: Buffer.from('x') }), code: 1002 },
    { name: 'a ping over 125 bytes', bytes: () => frame({ opcode: 0x9, payload: Buffer.alloc(126) }), code: 1002 },
    { name: 'a continuation frame with nothing to continue', bytes: () => frame({ opcode: 0x0, payload: Buffer.from('x') }), code: 1002 },
    { name: 'a new text frame inside a fragmented message', bytes: () => Buffer.concat([frame({ opcode: 0x1, fin: false, payload: Buffer.from('{') }), frame({ opcode: 0x1, payload: Buffer.from('}') })]), code: 1002 },
  ];
  for (const a of protocolAttacks) {
    it(`closes the socket with ${a.code} on ${a.name} and keeps serving`, async () => {
      const raw = await openRaw();
      raw.sock.write(a.bytes());
      expect(await closeCode(raw)).toBe(a.code);
      await stillAnswers();
    });
  }

  it('survives a client that vanishes mid-frame and mid-handshake', async () => {
    const raw = await openRaw();
    raw.sock.write(frame({ opcode: 0x2, payload: Buffer.alloc(1000) }).subarray(0, 500));
    raw.sock.destroy();
    const half = net.connect(handle.port, '127.0.0.1');
    half.on('error', () => undefined);
    await new Promise<void>((r) => half.once('connect', () => r()));
    half.write(`GET /ws?token=${handle.token} HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\n`);
    half.destroy();
    await stillAnswers();
  });
});
