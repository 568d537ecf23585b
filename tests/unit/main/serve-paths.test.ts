/**
 * Paths in the browser studio: every path field of every channel (found in the contract, so a new
 * one cannot be missed) is refused outside the workspace and the granted folders, and passes
 * inside them. The engine behind the server records what reaches it: a refused request must not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startServer, type ServeHandle } from '../../../src/main/serve/server';
import { pathPolicy } from '../../../src/main/serve/paths';
import type { EngineClientLike } from '../../../src/main/engine/client/client';
import { CHANNEL_NAMES, channelDef, type ChannelName } from '../../../src/shared/contract';
import { pathFieldsOf } from '../../../src/shared/paths';
import { checkRequest } from '../../../src/shared/validate';
import { decodeFrame, encodeFrame } from '../../../src/shared/wire';
import type { Envelope } from '../../../src/shared/errors';

const tmp = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'atelier-paths-'));
const workspace = path.join(tmp, 'ws');
const shipped = path.join(tmp, 'shipped-models');
const granted = path.join(tmp, 'granted');
const outside = path.join(tmp, 'outside');
const cwd = path.join(tmp, 'cwd');
for (const d of [workspace, path.join(workspace, 'bundles', 'mybundle'), path.join(shipped, 'demo'), granted, outside, path.join(cwd, 'Documents')]) fs.mkdirSync(d, { recursive: true });
fs.writeFileSync(path.join(outside, 'secrets.csv'), '1,2\n');
fs.symlinkSync(outside, path.join(workspace, 'link-out'));

const IN = path.join(workspace, 'data', 'x.png');
const OUT = path.join(outside, 'secrets.csv');
const png = new Uint8Array([137, 80, 78, 71]);

/**
 * For each channel that takes a path, a valid request per path field with `p` in that field (the
 * other fields valid and inside). Keys are `channel field` as pathFieldsOf spells the field.
 */
const CASES: Record<string, (p: string) => unknown> = {
  'app.reveal path': (p) => ({ path: p }),
  'dataset.validate path': (p) => ({ kind: 'paired', path: p }),
  'dataset.validate pairs[].a': (p) => ({ kind: 'paired', pairs: [{ a: IN, b: IN }, { a: p, b: IN }] }),
  'dataset.validate pairs[].b': (p) => ({ kind: 'paired', pairs: [{ a: IN, b: p }] }),
  'dataset.import path': (p) => ({ kind: 'paired', path: p, name: 'n' }),
  'dataset.import pairs[].a': (p) => ({ kind: 'paired', pairs: [{ a: p, b: IN }], name: 'n' }),
  'dataset.import pairs[].b': (p) => ({ kind: 'paired', pairs: [{ a: IN, b: p }], name: 'n' }),
  'bundle.get id': (p) => ({ id: p }),
  'infer.translate model': (p) => ({ model: p, image: png }),
  'infer.translate path': (p) => ({ model: 'mybundle', path: p }),
  'infer.translateJob model': (p) => ({ model: p, image: png }),
  'infer.translateJob path': (p) => ({ model: 'mybundle', path: p }),
  'infer.translateFolder model': (p) => ({ model: p, input: IN, output: path.join(workspace, 'o') }),
  'infer.translateFolder input': (p) => ({ model: 'mybundle', input: p, output: path.join(workspace, 'o') }),
  'infer.translateFolder output': (p) => ({ model: 'mybundle', input: IN, output: p }),
  'infer.generate model': (p) => ({ model: p }),
  'latent.sample model': (p) => ({ model: p }),
  'latent.render model': (p) => ({ model: p, z: { seed: 1 } }),
  'latent.directions model': (p) => ({ model: p }),
  'latent.interpolate model': (p) => ({ model: p }),
  'latent.interpolate fromImage': (p) => ({ model: 'mybundle', fromImage: p, toImage: png }),
  'latent.interpolate toImage': (p) => ({ model: 'mybundle', fromImage: png, toImage: p }),
  'export.onnx model': (p) => ({ model: p }),
  'export.onnx file': (p) => ({ model: 'mybundle', file: p }),
  'analysis.pca source.path': (p) => ({ source: { kind: 'matrix', path: p } }),
  'analysis.pca source.model': (p) => ({ source: { kind: 'latent', model: p } }),
  'analysis.kmeans source.path': (p) => ({ source: { kind: 'matrix', path: p }, k: 2 }),
  'analysis.kmeans source.model': (p) => ({ source: { kind: 'generated', model: p }, k: 2 }),
  'analysis.hierarchical source.path': (p) => ({ source: { kind: 'matrix', path: p } }),
  'analysis.hierarchical source.model': (p) => ({ source: { kind: 'features', model: p, datasetId: 'd' } }),
  'analysis.reconstruct model': (p) => ({ datasetId: 'd', model: p }),
  'eval.run model': (p) => ({ model: p, dataset: 'd' }),
  'eval.run classifier': (p) => ({ model: 'mybundle', dataset: 'd', classifier: p }),
  'import.pytorch files[]': (p) => ({ files: [IN, p] }),
  'import.pytorchRun files[]': (p) => ({ files: [IN, p], datasetId: 'd' }),
  'provenance.read path': (p) => ({ path: p }),
  'gallery.add path': (p) => ({ path: p }),
};

/** Which field each case writes into, and whether that field is written (write access). */
const fieldsByCase = new Map<string, { channel: ChannelName; access: 'read' | 'write'; model: boolean }>();
for (const channel of CHANNEL_NAMES) {
  for (const f of pathFieldsOf(channelDef(channel).request)) fieldsByCase.set(`${channel} ${f.where}`, { channel, access: f.access, model: !!f.model });
}

const seen: string[] = [];
const engine = {
  request: async (channel: string) => (seen.push(channel), { ok: true, data: null }),
  onEvent: () => () => undefined,
  close: async () => undefined,
} as unknown as EngineClientLike;

let handle: ServeHandle;
let sock: WebSocket;
let nextId = 1;

beforeAll(async () => {
  handle = await startServer({
    engine,
    rendererDir: tmp,
    uploadDir: path.join(workspace, 'tmp'),
    paths: pathPolicy({
      roots: [
        { dir: workspace, access: 'readwrite', label: 'workspace' },
        { dir: shipped, access: 'read', label: 'shipped models' },
        { dir: granted, access: 'readwrite', label: 'granted' },
      ],
      modelDirs: [path.join(workspace, 'bundles'), shipped],
      cwd,
    }),
  });
  sock = await new Promise<WebSocket>((resolve, reject) => {
    const s = new WebSocket(`ws://127.0.0.1:${handle.port}/ws?token=${handle.token}`, { headers: { origin: `http://127.0.0.1:${handle.port}` } });
    s.once('open', () => resolve(s));
    s.once('error', reject);
  });
});
afterAll(async () => {
  sock.close();
  await handle.close();
});

function call(channel: string, payload: unknown): Promise<Envelope<unknown>> {
  const id = nextId++;
  return new Promise((resolve) => {
    const onMsg = (d: Buffer) => {
      const m = decodeFrame(new Uint8Array(d)) as { t: string; id: number; envelope: Envelope<unknown> };
      if (m.t === 'res' && m.id === id) {
        sock.off('message', onMsg);
        resolve(m.envelope);
      }
    };
    sock.on('message', onMsg);
    sock.send(encodeFrame({ t: 'req', id, channel, payload }));
  });
}

/** Did this request reach the engine? */
async function reaches(channel: string, payload: unknown): Promise<{ reached: boolean; env: Envelope<unknown> }> {
  const before = seen.length;
  const env = await call(channel, payload);
  return { reached: seen.length > before, env };
}

describe('serve confines request paths to the workspace and granted folders', () => {
  it('has a case for every path field of every channel (the contract is the list)', () => {
    expect(Object.keys(CASES).sort()).toEqual([...fieldsByCase.keys()].sort());
    for (const [key, make] of Object.entries(CASES)) {
      const { channel } = fieldsByCase.get(key)!;
      expect(checkRequest(channel, make(IN)).ok, `${key} builds a valid request`).toBe(true);
    }
  });

  for (const key of Object.keys(CASES)) {
    it(`${key}: refused outside, passed inside the workspace and a granted folder`, async () => {
      const { channel, access } = fieldsByCase.get(key)!;
      const make = CASES[key]!;
      const out = await reaches(channel, make(OUT));
      expect(out.reached).toBe(false);
      expect(out.env).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      if (!out.env.ok) expect(out.env.error.message).toContain('outside the folders');
      // `..` and a link inside the workspace that points out are the same place as OUT.
      expect((await reaches(channel, make(path.join(workspace, '..', 'outside', 'secrets.csv')))).reached).toBe(false);
      expect((await reaches(channel, make(path.join(workspace, 'link-out', 'secrets.csv')))).reached).toBe(false);
      expect((await reaches(channel, make(IN))).reached).toBe(true);
      expect((await reaches(channel, make(path.join(granted, 'g.png')))).reached).toBe(true);
      // The shipped models are read-only: reading passes, writing is refused.
      const intoShipped = await reaches(channel, make(path.join(shipped, 'demo')));
      expect(intoShipped.reached).toBe(access === 'read');
      if (access === 'write' && !intoShipped.env.ok) expect(intoShipped.env.error.message).toContain('may read but not write');
    });
  }

  it('lets bundle ids through and treats an unknown bare name as a path (relative to the working directory)', async () => {
    expect((await reaches('bundle.get', { id: 'mybundle' })).reached).toBe(true);
    expect((await reaches('bundle.get', { id: 'demo' })).reached).toBe(true);
    expect((await reaches('export.onnx', { model: 'demo' })).reached).toBe(true); // the engine exports shipped ids into the workspace
    // Not a bundle: the engine would fall back to <cwd>/Documents, which is outside every root.
    const env = (await reaches('bundle.get', { id: 'Documents' })).env;
    expect(env).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await reaches('infer.translate', { model: 'mybundle', path: 'relative.png' })).reached).toBe(false);
  });

  it('answers app.access with the roots, for the status bar', async () => {
    const env = await call('app.access', {});
    expect(env).toMatchObject({ ok: true, data: { confined: true } });
    if (env.ok) expect((env.data as { roots: { dir: string; label: string }[] }).roots.map((r) => r.label)).toEqual(['workspace', 'shipped models', 'granted']);
  });
});
