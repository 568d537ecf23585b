/**
 * `atelier serve`: the studio in a browser. Serves the built renderer over HTTP and carries the
 * same contract over a WebSocket to the same engine handlers the desktop app uses.
 * Security: binds 127.0.0.1 unless told otherwise; the Host header must name this server (DNS
 * rebinding gets 421); a random token is required for the page, the WebSocket and uploads (no
 * cookie: browsers send cookies to every port of a host); the Origin must be this server's own;
 * frames and uploads have size limits; no message or handshake can throw past its handler.
 * docs/SECURITY.md maps each rule to its test.
 */
import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { checkRequest } from '../../shared/validate';
import { contentSecurityPolicy } from '../security';
import { MAX_FRAME_BYTES, decodeFrame, encodeFrame } from '../../shared/wire';
import type { EngineClientLike } from '../engine/client/client';
import type { Envelope } from '../../shared/errors';
import { checkRequestPaths, pathPolicy, type PathPolicy } from './paths';

export interface ServeOptions {
  engine: EngineClientLike;
  rendererDir: string;
  /** Where browser uploads go (the workspace's tmp folder). */
  uploadDir: string;
  port?: number;
  host?: string;
  token?: string;
  maxFrameBytes?: number;
  maxUploadBytes?: number;
  /** Where request paths may point (default: only the upload folder). */
  paths?: PathPolicy;
}

export interface ServeHandle {
  url: string;
  port: number;
  host: string;
  token: string;
  /** An address for launching a browser: a one-time code instead of the token (process arguments are public). */
  openUrl(): string;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

/** The desktop window's CSP (security.ts), without the studio:// scheme serve does not have. */
const SERVE_CSP = contentSecurityPolicy({ studioScheme: false });

/** How long a one-time opening code stays valid. */
const CODE_TTL_MS = 2 * 60 * 1000;

export function tokenEquals(a: string | undefined | null, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) {
    crypto.timingSafeEqual(y, y); // keep timing independent of where the mismatch is
    return false;
  }
  return crypto.timingSafeEqual(x, y);
}

/** decodeURIComponent that answers undefined instead of throwing on a malformed escape (`%E0%A4%A`). */
export function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** A request id we echo back: a finite number or a short string; anything else answers with id null. */
function replyId(id: unknown): number | string | null {
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  if (typeof id === 'string' && id.length <= 128) return id;
  return null;
}

export async function startServer(opts: ServeOptions): Promise<ServeHandle> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? crypto.randomBytes(24).toString('base64url');
  const maxFrame = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
  const maxUpload = opts.maxUploadBytes ?? 1024 * 1024 * 1024;
  const rendererDir = path.resolve(opts.rendererDir);
  fs.mkdirSync(opts.uploadDir, { recursive: true });
  const policy = opts.paths ?? pathPolicy({ roots: [{ dir: opts.uploadDir, access: 'readwrite', label: 'uploads' }], modelDirs: [] });
  let boundPort = 0;

  const urlHost = host.includes(':') ? `[${host}]` : host;
  // The names this server answers to. Anything else in Host is DNS rebinding or a misrouted
  // request (421); an Origin outside this list is another site (403).
  const ownHosts = () => new Set([`${urlHost}:${boundPort}`, `127.0.0.1:${boundPort}`, `localhost:${boundPort}`, `[::1]:${boundPort}`]);
  const allowedOrigins = () => new Set([...ownHosts()].map((h) => `http://${h}`));
  const hostOk = (req: http.IncomingMessage) => typeof req.headers.host === 'string' && ownHosts().has(req.headers.host.toLowerCase());
  const originOk = (req: http.IncomingMessage) => {
    const o = req.headers.origin;
    // Same-origin GETs may omit Origin; anything that states another origin is refused.
    return o === undefined || allowedOrigins().has(o);
  };
  // No cookie: browsers send a cookie to every port of 127.0.0.1, so it would reach any other
  // local server. The token travels only where we put it (query, header) and nowhere else.
  const authed = (req: http.IncomingMessage, url: URL) =>
    tokenEquals(url.searchParams.get('token'), token) || tokenEquals(req.headers['x-atelier-token'] as string | undefined, token);

  // One-time codes for `--open`: the browser is launched on ?code=..., never on the token, so the
  // token does not appear in any process's arguments. A code works once, within CODE_TTL_MS.
  const codes = new Map<string, number>();
  const newCode = () => {
    const code = crypto.randomBytes(18).toString('base64url');
    codes.set(code, Date.now() + CODE_TTL_MS);
    return code;
  };
  const takeCode = (code: string | null): boolean => {
    if (!code) return false;
    const now = Date.now();
    for (const [c, until] of codes) if (until < now) codes.delete(c);
    for (const c of codes.keys()) {
      if (tokenEquals(code, c)) {
        codes.delete(c);
        return true;
      }
    }
    return false;
  };

  const send = (res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    void handleHttp(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, `Internal error: ${(e as Error).message}`);
      else res.destroy();
    });
  });

  async function handleHttp(req: http.IncomingMessage, res: http.ServerResponse) {
    if (!hostOk(req)) return send(res, 421, 'Misdirected request: this server answers only to its own address (127.0.0.1 or localhost with its port).');
    const url = new URL(req.url ?? '/', `http://${host}`);
    if (!originOk(req)) return send(res, 403, 'Forbidden: this origin may not talk to Atelier.');
    if (req.method === 'POST' && url.pathname === '/upload') {
      if (!authed(req, url)) return send(res, 401, 'Atelier: missing or wrong token.');
      return handleUpload(req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed');
    let rel = safeDecode(url.pathname);
    if (rel === undefined || rel.includes('\0')) return send(res, 400, 'Bad path');
    if (rel === '/' || rel === '') rel = '/index.html';
    // The page itself needs the token (or a one-time code from `--open`); the build's assets are
    // the same for everyone and carry no data, so script and style tags load them without it.
    if (rel === '/index.html') {
      if (url.searchParams.has('code')) {
        if (!takeCode(url.searchParams.get('code'))) return send(res, 401, 'Atelier: this opening code was already used or has expired. Open the address that `atelier serve` printed.');
        res.writeHead(303, { location: `/?token=${encodeURIComponent(token)}`, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
        return void res.end();
      }
      if (!authed(req, url)) return send(res, 401, 'Atelier: missing or wrong token. Open the address that `atelier serve` printed (it carries the token).');
    }
    const file = path.resolve(rendererDir, '.' + rel);
    if (!file.startsWith(rendererDir + path.sep)) return send(res, 403, 'Forbidden path');
    let body: Buffer;
    try {
      body = await fsp.readFile(file);
    } catch {
      if (rel === '/index.html') return send(res, 503, 'The studio is not built yet: run `npm run build` (or `npm run serve`, which builds first).');
      return send(res, 404, 'Not found');
    }
    const headers: Record<string, string> = {
      'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': SERVE_CSP,
      'referrer-policy': 'no-referrer',
    };
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function handleUpload(req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
    // Uploads go only under <workspace>/tmp/uploads/<batch>/<relative path>, never elsewhere.
    const batch = (url.searchParams.get('batch') ?? '').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40) || crypto.randomBytes(6).toString('hex');
    const name = url.searchParams.get('name') ?? '';
    // Control characters and reserved punctuation never reach the file system.
    // eslint-disable-next-line no-control-regex
    const parts = name.split(/[\\/]+/).filter((p) => p && p !== '.' && p !== '..').map((p) => p.replace(/[\x00-\x1f<>:"|?*]/g, '_').slice(0, 200));
    if (!parts.length) return send(res, 400, JSON.stringify({ ok: false, error: { code: 'VALIDATION', message: 'upload needs a file name' } }), 'application/json');
    const base = path.join(opts.uploadDir, 'uploads', batch);
    const dest = path.join(base, ...parts);
    if (!dest.startsWith(base + path.sep)) return send(res, 400, JSON.stringify({ ok: false, error: { code: 'VALIDATION', message: 'bad file name' } }), 'application/json');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxUpload) {
      req.resume();
      return send(res, 413, JSON.stringify({ ok: false, error: { code: 'BAD_INPUT', message: `File too large (over ${Math.round(maxUpload / 1048576)} MB).` } }), 'application/json');
    }
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const out = fs.createWriteStream(dest);
    let size = 0;
    let tooBig = false;
    await new Promise<void>((resolve, reject) => {
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxUpload && !tooBig) {
          tooBig = true;
          req.unpipe(out);
          out.destroy();
          resolve();
        }
      });
      req.pipe(out);
      out.on('finish', resolve);
      out.on('error', reject);
      req.on('error', reject);
    });
    if (tooBig) {
      await fsp.rm(dest, { force: true });
      return send(res, 413, JSON.stringify({ ok: false, error: { code: 'BAD_INPUT', message: 'File too large.' } }), 'application/json');
    }
    send(res, 200, JSON.stringify({ ok: true, data: { path: dest, batchDir: base, size } }), 'application/json');
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrame });
  const sockets = new Set<WebSocket>();

  // Nothing on the upgrade path may throw: an exception here is outside any promise and would
  // end the process (and every running job) before authentication even ran.
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const reject = (status: number, text: string) => {
      if (!socket.writable) return void socket.destroy();
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    try {
      if (!hostOk(req)) return reject(421, 'Misdirected Request');
      const url = new URL(req.url ?? '/', `http://${host}`);
      if (url.pathname !== '/ws') return reject(404, 'Not Found');
      // Browsers always send Origin on WebSocket handshakes: require it and require ours.
      if (!req.headers.origin || !allowedOrigins().has(req.headers.origin)) return reject(403, 'Forbidden');
      if (!authed(req, url)) return reject(401, 'Unauthorized');
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } catch {
      reject(400, 'Bad Request');
    }
  });

  const unsubscribe = opts.engine.onEvent((event, payload) => {
    if (!sockets.size) return;
    const frame = encodeFrame({ t: 'evt', event, payload });
    for (const s of sockets) {
      if (s.readyState !== s.OPEN) continue;
      try {
        s.send(frame);
      } catch {
        s.terminate();
      }
    }
  });

  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    // Protocol errors (invalid UTF-8, over-size payload, bad opcode, reserved bits, bad close code,
    // unmasked client frames) arrive here; ws has already closed the socket with the right code
    // (1007, 1009, 1002...). Without this listener each of them would exit the process.
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: RawData, isBinary: boolean) => {
      onFrame(ws, data, isBinary).catch((e: unknown) => {
        // A bug past validation answers as INTERNAL on this socket; the server keeps serving.
        reply(ws, null, { ok: false, error: { code: 'INTERNAL', message: `The server failed on this message: ${(e as Error)?.message ?? String(e)}` } });
      });
    });
  });

  function reply(ws: WebSocket, id: number | string | null, envelope: Envelope<unknown>) {
    if (ws.readyState !== ws.OPEN) return;
    try {
      ws.send(encodeFrame({ t: 'res', id, envelope }));
    } catch {
      ws.terminate();
    }
  }

  /** Total: any frame, of any shape, gets exactly one answer and never throws past here. */
  async function onFrame(ws: WebSocket, data: RawData, isBinary: boolean) {
    let msg: unknown;
    try {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      msg = isBinary ? decodeFrame(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)) : JSON.parse(buf.toString('utf8'));
    } catch {
      return reply(ws, null, { ok: false, error: { code: 'VALIDATION', message: 'Malformed frame: not a contract message.' } });
    }
    // Top-level null, arrays and primitives are valid JSON but not messages.
    const m = msg !== null && typeof msg === 'object' && !Array.isArray(msg) ? (msg as { t?: unknown; id?: unknown; channel?: unknown; payload?: unknown }) : null;
    const id = m ? replyId(m.id) : null;
    if (!m || m.t !== 'req' || id === null) {
      return reply(ws, id, { ok: false, error: { code: 'VALIDATION', message: 'Malformed message: expected {t:"req", id, channel, payload}.' } });
    }
    // Same gate as the Electron registrar, before anything reaches the engine.
    const checked = checkRequest(m.channel, m.payload);
    if (!checked.ok) return reply(ws, id, { ok: false, error: checked.error });
    if (checked.channel === 'app.access') {
      return reply(ws, id, { ok: true, data: { confined: true, roots: policy.roots.map((r) => ({ dir: r.dir, access: r.access, label: r.label })) } });
    }
    // The browser's paths stay inside the workspace and the granted folders (docs/SECURITY.md).
    const refused = await checkRequestPaths(policy, checked.channel, m.payload ?? {});
    if (refused) return reply(ws, id, { ok: false, error: refused });
    let envelope: Envelope<unknown>;
    try {
      envelope = await opts.engine.request(checked.channel, m.payload ?? {});
    } catch (e) {
      envelope = { ok: false, error: { code: 'INTERNAL', message: `The engine failed on ${checked.channel}: ${(e as Error)?.message ?? String(e)}` } };
    }
    reply(ws, id, envelope);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  boundPort = (server.address() as { port: number }).port;
  return {
    url: `http://${urlHost}:${boundPort}/?token=${token}`,
    port: boundPort,
    host,
    token,
    openUrl: () => `http://${urlHost}:${boundPort}/?code=${newCode()}`,
    async close() {
      unsubscribe();
      for (const s of sockets) s.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
