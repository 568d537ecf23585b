/**
 * The contract boundary under hostile payloads, through the Electron registrar and through serve's
 * WebSocket. The payloads are written by hand, per channel and per field (wrong types, values just
 * out of range, NaN and infinities, path tricks, prototype keys, unknown keys), each one a valid
 * base request with one field broken: none is filtered by the validator under test, so a schema
 * that lets one through fails here. Each must be answered VALIDATION, none may reach a handler,
 * no prototype may be polluted, and the engine keeps answering afterwards. The protocol-level
 * attacks (malformed WebSocket frames) are in serve-attacks.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { CHANNEL_NAMES, channelDef, type ChannelName } from '../../../src/shared/contract';
import { checkRequest } from '../../../src/shared/validate';
import { decodeFrame, encodeFrame } from '../../../src/shared/wire';
import type { Envelope } from '../../../src/shared/errors';
import { handleInvoke, defaultTrustedFrame } from '../../../src/main/ipc';
import { startServer, type ServeHandle } from '../../../src/main/serve/server';
import { InProcessEngine } from '../../../src/main/engine/client/inprocess';

// ---------------------------------------------------------------------------------------------
// Hostile values by the kind of field they attack

const LONG = 'x'.repeat(5000);
/** Any path or model reference. */
const PATH = ['', LONG, 'a\u0000b', '/etc/passwd\u0000.png', 42, null, true, ['/etc/passwd'], { path: '/etc/passwd' }, new Uint8Array(0)];
/** Ids matched by /^[A-Za-z0-9_-]+$/ (datasets, runs: folder names). */
const ID = ['', '../etc', '..', 'a/b', 'a\\b', 'a b', 'a\u0000', '%2e%2e', 'x'.repeat(201), 42, null, {}, ['a']];
/** Job ids are keys of an in-memory map, never paths (dots are allowed: '..' is just a name). */
const JOB_ID = ['', '../etc', 'a/b', 'a\\b', 'a b', 'a\u0000', 'x'.repeat(201), 42, null, {}, ['a']];
const BOOL = ['true', 1, 0, null, [], {}];
const ENUM = ['nope', '', ' AtoB', '__proto__', 1, null, ['AtoB'], {}];
// Model kinds are an open set (the engine's registry, extendable by registerModel), so the
// contract checks their form; a well-formed unknown kind is refused by the engine with
// VALIDATION (tests/unit/engine/train/channels.test.ts).
const KIND = ['', ' pix2pix', 'Pix2pix', '../x', 'a'.repeat(65), '__proto__', 1, null, ['pix2pix'], {}];
/** An integer field bounded [min, max]. */
const INT = (min: number, max: number) => [min - 1, max + 1, min + 0.5, NaN, Infinity, -Infinity, String(min), null, true, [min], 2 ** 64];
/** A finite number with no bounds. */
const NUM = [NaN, Infinity, -Infinity, '1', null, true, [1], {}];
const ZREF = [{}, { seed: -1 }, { seed: 1.5 }, { z: [] }, { z: [NaN] }, { z: ['1'] }, { seed: 1, z: [1] }, { seed: 1, extra: 1 }, null, 'seed', [1]];
const SOURCE = [
  {},
  { kind: 'evil' },
  { kind: 'matrix' },
  { kind: 'matrix', path: '' },
  { kind: 'matrix', path: 'a\u0000b' },
  { kind: 'matrix', path: '/x', extra: 1 },
  { kind: 'dataset', datasetId: '../datasets' },
  { kind: 'dataset', datasetId: 'd', limit: 0 },
  { kind: 'inline', rows: [] },
  { kind: 'inline', rows: [[]] },
  { kind: 'inline', rows: [[NaN]] },
  { kind: 'inline', rows: [['1']] },
  { kind: 'latent', model: '' },
  { kind: 'generated', model: 'm', count: 1 },
  { kind: 'features', model: 'm' },
  null,
  'matrix',
];

/** One channel: a valid base request and, per field, values that must each make it invalid. */
interface Spec {
  base: Record<string, unknown>;
  fields: Record<string, unknown[]>;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const png = new Uint8Array([137, 80, 78, 71]);
const pagination = { logFrom: INT(0, MAX_SAFE), logLimit: INT(1, 100_000), sampleStep: INT(0, MAX_SAFE) };
const seed31 = INT(0, 2 ** 31 - 1);
const seed32 = INT(0, 2 ** 32 - 1);
const translateFields = {
  model: PATH,
  image: ['', 'iVBORw0KGgo=', [137, 80], { 0: 137 }, new Uint8Array(0), null],
  path: PATH,
  inputName: ['', 'x'.repeat(256), 42, null],
  keepSize: BOOL,
  fit: ENUM,
  scale: ['huge', 7, 16385, 8.5, NaN, null],
  tile: INT(16, 8192),
  overlap: INT(0, 4096),
  runtime: ENUM,
  direction: ENUM,
};
const analysisBase = { source: { kind: 'inline', rows: [[1, 2], [3, 4]] } };

const SPECS: Record<ChannelName, Spec> = {
  'app.version': { base: {}, fields: {} },
  'app.doctor': { base: {}, fields: {} },
  'app.stats': { base: {}, fields: {} },
  'app.access': { base: {}, fields: {} },
  'app.reveal': { base: { path: '/tmp/x.png' }, fields: { path: PATH } },
  'job.list': { base: {}, fields: {} },
  'job.cancel': { base: { jobId: 'j1' }, fields: { jobId: JOB_ID } },
  'job.move': { base: { jobId: 'j1', to: 'up' }, fields: { jobId: JOB_ID, to: ENUM } },
  'dataset.validate': {
    base: { kind: 'paired', path: '/tmp/d' },
    fields: { kind: ENUM, path: PATH, pairs: [[], [{ a: '/x' }], [{ a: '/x', b: '' }], [{ a: '/x', b: '/y', c: 1 }], 'a,b', null], layout: ENUM, size: INT(8, 2048), network: ENUM, batchSize: INT(1, 1024) },
  },
  'dataset.import': {
    base: { kind: 'paired', path: '/tmp/d', name: 'n' },
    fields: {
      kind: ENUM,
      path: PATH,
      pairs: [[], [{ b: '/y' }], null],
      layout: ENUM,
      size: INT(8, 2048),
      network: ENUM,
      batchSize: INT(1, 1024),
      name: ['', 'x'.repeat(81), 42, null],
      fit: ENUM,
      background: ['white', '#fff', '#gggggg', '#ffffff00', 0xffffff, null],
      channels: [0, 2, 4, '3', 'rgb', null],
      testFraction: [-0.1, 0.51, NaN, Infinity, '0.1', null],
      seed: seed31,
      acceptPartial: BOOL,
      replace: BOOL,
    },
  },
  'dataset.list': { base: {}, fields: {} },
  'dataset.get': { base: { id: 'd' }, fields: { id: ID, split: ENUM, offset: INT(0, MAX_SAFE), limit: INT(0, 200), thumbSize: INT(8, 512) } },
  'dataset.delete': { base: { id: 'd' }, fields: { id: ID } },
  'dataset.demo': { base: {}, fields: { force: BOOL, photos: BOOL } },
  'bundle.list': { base: {}, fields: {} },
  'bundle.get': { base: { id: 'b' }, fields: { id: PATH } },
  'infer.translate': { base: { model: 'm', image: png }, fields: translateFields },
  'infer.translateJob': { base: { model: 'm', image: png }, fields: translateFields },
  'infer.translateFolder': {
    base: { model: 'm', input: '/tmp/in', output: '/tmp/out' },
    fields: { ...Object.fromEntries(Object.entries(translateFields).filter(([k]) => k !== 'image' && k !== 'path' && k !== 'inputName')), input: PATH, output: PATH, suffix: ['/', '..\\x', 'a b', 'x'.repeat(41), 42, null] },
  },
  'infer.generate': { base: { model: 'm' }, fields: { model: PATH, seed: seed32, count: INT(1, 64), label: INT(0, MAX_SAFE), runtime: ENUM } },
  'latent.sample': { base: { latentSize: 8 }, fields: { model: PATH, latentSize: INT(1, 4096), seed: seed32, count: INT(1, 256) } },
  'latent.render': {
    base: { model: 'm', z: { seed: 1 } },
    fields: {
      model: PATH,
      z: ZREF,
      minus: ZREF,
      plus: ZREF,
      dims: [[{ index: -1, value: 0 }], [{ index: 0, value: NaN }], [{ index: 0 }], Array.from({ length: 4097 }, (_, i) => ({ index: i, value: 0 })), null],
      moves: [[{ direction: [], amount: 1 }], [{ direction: [1], amount: Infinity }], [{ direction: [1], amount: 1, sigma: 0 }], [{ direction: [1], amount: 1, sigma: -1 }], null],
      label: INT(0, MAX_SAFE),
      blend: [{ a: 0, b: 1 }, { a: -1, b: 1, t: 0.5 }, { a: 0, b: 1, t: 1.5 }, { a: 0, b: 1, t: NaN }, null],
      labelWeights: [[NaN], ['1'], Array.from({ length: 1001 }, () => 0), null],
      pca: [{}, { amounts: [NaN] }, { amounts: Array(33).fill(0) }, { amounts: [1], count: 0 }, { amounts: [1], space: 'pixels' }, { amounts: [1], extra: 1 }, [1], null],
    },
  },
  'latent.directions': { base: { model: 'm' }, fields: { model: PATH, count: INT(1, 32), samples: INT(8, 4096), seed: seed32, space: ENUM, label: INT(0, MAX_SAFE) } },
  'latent.interpolate': {
    base: { model: 'm' },
    fields: {
      model: PATH,
      from: ZREF,
      to: ZREF,
      fromImage: ['', 'a\u0000b', LONG, new Uint8Array(0), 42, null, [1]],
      toImage: ['', 'a\u0000b', LONG, new Uint8Array(0), 42, null, [1]],
      steps: INT(2, 128),
      mode: ENUM,
      label: INT(0, MAX_SAFE),
      blend: [{ a: 0 }, { a: -1, b: 0 }, { a: 0, b: 1, t: 0.5 }, null],
      sheet: BOOL,
    },
  },
  'gallery.list': { base: {}, fields: { offset: INT(0, MAX_SAFE), limit: INT(1, 500), model: ['', LONG, 42, null], kind: ['', LONG, 42, null], op: ENUM } },
  'gallery.thumb': { base: { id: 'g1' }, fields: { id: ID, size: INT(16, 512) } },
  'gallery.get': { base: { id: 'g1' }, fields: { id: ID } },
  'gallery.add': { base: { image: png }, fields: { image: ['', 'iVBORw0KGgo=', [137, 80], new Uint8Array(0), null], path: PATH, name: ['', 'x'.repeat(256), 42, null] } },
  'gallery.delete': { base: { id: 'g1' }, fields: { id: ID } },
  'provenance.read': { base: { image: png }, fields: { image: ['', 'iVBORw0KGgo=', [137, 80], new Uint8Array(0), null], path: PATH } },
  'export.onnx': { base: { model: 'm' }, fields: { model: PATH, file: PATH, dropout: ENUM, direction: ENUM } },
  'import.pytorch': {
    base: { files: ['/tmp/latest_net_G.pth'] },
    fields: { files: [[], ['/tmp/a.pth', ...Array(6).fill('/tmp/b.pth')], ['a\u0000b'], [''], [42], '/tmp/a.pth', null], netG: ENUM, norm: ENUM, ngf: INT(1, 1024), name: ['', 'x'.repeat(81), 42, null], size: INT(8, 4096), mode: ENUM },
  },
  'import.pytorchRun': {
    base: { files: ['/tmp/latest_net_G.pth'], datasetId: 'd' },
    fields: { files: [[], ['/tmp/a.pth', ...Array(6).fill('/tmp/b.pth')], ['a\u0000b'], [''], [42], '/tmp/a.pth', null], datasetId: ['', 'x'.repeat(201), 42, null], steps: INT(1, 10_000_000), name: ['', 'x'.repeat(101), 42, null], options: ['fast', 42, null, [1]] },
  },
  'train.options': { base: {}, fields: { model: KIND } },
  'train.start': {
    base: { model: 'pix2pix', datasetId: 'd' },
    fields: {
      model: KIND,
      datasetId: ['', 'x'.repeat(201), 42, null],
      options: ['fast', 42, null, [1]],
      steps: INT(1, 10_000_000),
      epochs: INT(1, 100_000),
      sampleEvery: INT(1, MAX_SAFE),
      checkpointEvery: INT(1, MAX_SAFE),
      keepCheckpoints: INT(1, 100),
      direction: ENUM,
      name: ['', 'x'.repeat(101), 42, null],
      bundle: BOOL,
      pin: ['kmeans', 42, null, { mode: 'indices' }, { mode: 'indices', indices: [] }, { mode: 'kmeans', count: 1 }, { mode: 'kmeans', count: 17 }, { mode: 'indices', indices: [-1] }, { mode: 'other' }],
    },
  },
  'train.estimate': {
    base: { model: 'pix2pix', datasetId: 'd' },
    fields: { model: KIND, datasetId: ['', 'x'.repeat(201), 42, null], options: ['fast', 42, null, [1]], direction: ENUM },
  },
  'train.resume': { base: { runId: 'r' }, fields: { runId: ID, totalSteps: INT(1, 10_000_000) } },
  'train.pause': { base: { jobId: 'j', paused: true }, fields: { jobId: JOB_ID, paused: BOOL } },
  'run.list': { base: {}, fields: {} },
  'run.get': { base: { runId: 'r' }, fields: { runId: ID, ...pagination } },
  'run.delete': { base: { runId: 'r' }, fields: { runId: ID } },
  'run.timeline': { base: { runId: 'r' }, fields: { runId: ID } },
  'run.promote': { base: { runId: 'r' }, fields: { runId: ID, step: INT(0, MAX_SAFE), bundleId: ['', 'x'.repeat(101), 42, null, {}] } }, // a free-text name: the engine makes it a folder name (safeId)
  'analysis.pca': {
    base: analysisBase,
    fields: { source: SOURCE, nComponents: INT(1, 200), returnComponents: INT(0, 50), projectionDims: [1, 4, '2', null], method: ENUM, seed: seed31 },
  },
  'analysis.kmeans': {
    base: { ...analysisBase, k: 2 },
    fields: {
      source: SOURCE,
      k: INT(1, 1000),
      metric: ENUM,
      nInit: INT(1, 50),
      localTrials: INT(1, 100),
      maxIter: INT(1, 10_000),
      tol: [-1, ...NUM],
      seed: seed31,
      init: [[[NaN]], [['1']], [[1, Infinity]], 'k-means++', null],
    },
  },
  'analysis.hierarchical': { base: analysisBase, fields: { source: SOURCE, linkage: ENUM, metric: ENUM, k: INT(1, 10_000), cutHeight: [-1, ...NUM] } },
  'analysis.reconstruct': {
    base: { datasetId: 'd', model: 'm' },
    fields: { datasetId: ID, model: PATH, k: INT(1, 4096), limit: INT(2, 10_000), split: ENUM, role: ENUM, fitOn: ENUM, fitLimit: INT(2, 20_000), examples: INT(0, 32), seed: seed31 },
  },
  'eval.run': {
    base: { model: 'm', dataset: 'd' },
    fields: { model: PATH, dataset: ID, split: ENUM, limit: INT(2, 100_000), samples: INT(2, 10_000), seed: seed31, classifier: PATH },
  },
  'run.scoreboard': { base: { runId: 'r' }, fields: { runId: ID, limit: INT(2, 10_000) } },
  'run.scores': { base: { runId: 'r' }, fields: { runId: ID, limit: INT(2, 10_000) } },
};

/**
 * Hostile whole requests, for every channel (its base decides which extra keys are unknown).
 * Objects with exotic prototypes are left out: neither Electron's structured clone nor the wire
 * format can produce one, and validate.ts already turns a schema that throws on them into VALIDATION.
 */
function generic(base: Record<string, unknown>): unknown[] {
  const polluted = JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(base).slice(1, -1) || '"x":1'}}`) as unknown;
  return [null, [], [base], 42, 'req', true, new Uint8Array(8), { ...base, unknownField: 1 }, { ...base, constructor: { prototype: { polluted: true } } }, polluted];
}

function hostile(channel: ChannelName): { label: string; payload: unknown }[] {
  const spec = SPECS[channel];
  const out = generic(spec.base).map((payload, i) => ({ label: `generic #${i}`, payload }));
  for (const [field, values] of Object.entries(spec.fields)) {
    for (const [i, v] of values.entries()) out.push({ label: `${field} #${i}`, payload: { ...spec.base, [field]: v } });
  }
  return out;
}

/** Top-level fields of a channel's request schema. */
function topFields(channel: ChannelName): string[] {
  const def = (channelDef(channel).request as unknown as { _zod: { def: { type: string; shape?: Record<string, unknown> } } })._zod.def;
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

const show = (v: unknown) => {
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 160);
  } catch {
    return String(v);
  }
};

describe('hostile payloads at the contract boundary', () => {
  let ws: string;
  let engine: InProcessEngine;
  let handle: ServeHandle;
  let handled = 0;
  beforeAll(async () => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-fuzz-'));
    engine = new InProcessEngine({ workspaceRoot: ws });
    const counting = {
      request: (c: string, p: unknown) => {
        handled++;
        return engine.request(c, p);
      },
      onEvent: engine.onEvent.bind(engine),
      close: () => engine.close(),
    };
    const renderer = fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-fuzz-r-'));
    handle = await startServer({ engine: counting, rendererDir: renderer, uploadDir: path.join(ws, 'tmp') });
  });
  afterAll(async () => {
    await handle.close();
    await engine.close();
  });

  it('has a spec for every channel, covering every field, on a valid base request', () => {
    expect(Object.keys(SPECS).sort()).toEqual([...CHANNEL_NAMES].sort());
    for (const channel of CHANNEL_NAMES) {
      const spec = SPECS[channel];
      // A base the schema refuses would make every "hostile" variant vacuous.
      expect(checkRequest(channel, spec.base).ok, `${channel} base ${show(spec.base)}`).toBe(true);
      expect(Object.keys(spec.fields).sort(), `${channel} fields`).toEqual(topFields(channel).sort());
      for (const values of Object.values(spec.fields)) expect(values.length).toBeGreaterThan(0);
    }
  });

  it('answers every hostile payload through the registrar with VALIDATION, and none reaches the engine', async () => {
    let forwarded = 0;
    const deps = {
      ipcMain: { handle() {}, removeHandler() {} },
      forward: async () => (forwarded++, { ok: true as const, data: null }),
      isTrustedFrame: defaultTrustedFrame(),
    };
    const event = { senderFrame: { url: 'studio://app/index.html', parent: null }, sender: { id: 1 } };
    const accepted: string[] = [];
    let total = 0;
    for (const channel of CHANNEL_NAMES) {
      for (const { label, payload } of hostile(channel)) {
        const env = await handleInvoke(deps, channel, event, payload);
        if (env.ok || env.error.code !== 'VALIDATION') accepted.push(`${channel} ${label}: ${show(payload)}`);
        total++;
      }
    }
    expect(accepted).toEqual([]);
    expect(forwarded).toBe(0);
    expect(total).toBeGreaterThan(CHANNEL_NAMES.length * 10);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers the same payloads over serve with VALIDATION; the engine sees none and keeps answering', async () => {
    const sock = await new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(`ws://127.0.0.1:${handle.port}/ws?token=${handle.token}`, { headers: { origin: `http://127.0.0.1:${handle.port}` } });
      s.once('open', () => resolve(s));
      s.once('error', reject);
    });
    const waiting = new Map<number, (e: Envelope<unknown>) => void>();
    sock.on('message', (d: Buffer) => {
      const m = decodeFrame(new Uint8Array(d)) as { t: string; id: number | null; envelope: Envelope<unknown> };
      if (m.t !== 'res' || m.id === null) return;
      waiting.get(m.id)?.(m.envelope);
      waiting.delete(m.id);
    });
    let id = 0;
    const call = (channel: string, payload: unknown) =>
      new Promise<Envelope<unknown>>((res) => {
        const n = ++id;
        waiting.set(n, res);
        sock.send(encodeFrame({ t: 'req', id: n, channel, payload }));
      });
    handled = 0;
    const accepted: string[] = [];
    for (const channel of CHANNEL_NAMES) {
      const cases = hostile(channel);
      // The binary framing carries undefined only as a missing key: judge what is actually sent.
      const results = await Promise.all(cases.map((c) => call(channel, c.payload)));
      results.forEach((env, i) => {
        if (env.ok || env.error.code !== 'VALIDATION') accepted.push(`${channel} ${cases[i]!.label}: ${show(cases[i]!.payload)}`);
      });
    }
    // Channels that do not exist, named to look like they might.
    for (const name of ['fs.readFile', 'app', '.version', 'app.version.x', '__proto__', 'constructor.prototype', 'APP.VERSION', 'app.version\u0000']) {
      expect((await call(name, {})).ok, name).toBe(false);
    }
    expect(accepted).toEqual([]);
    expect(handled).toBe(0);
    expect((await call('app.version', {})).ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    sock.close();
  });
});
