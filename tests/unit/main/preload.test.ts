/** The preload exposes the contract and nothing else: no raw ipcRenderer, no send/invoke by name. */
import { beforeAll, describe, expect, it, vi } from 'vitest';

const rec = vi.hoisted(() => ({ exposed: {} as Record<string, unknown>, invoked: [] as unknown[][], listeners: {} as Record<string, unknown> }));
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (k: string, v: unknown) => void (rec.exposed[k] = v) },
  ipcRenderer: {
    invoke: (...a: unknown[]) => (rec.invoked.push(a), Promise.resolve({ ok: true, data: 1 })),
    on: (ch: string, fn: unknown) => void (rec.listeners[ch] = fn),
    removeListener: (ch: string) => void delete rec.listeners[ch],
  },
  webUtils: { getPathForFile: (f: { name: string }) => `/dropped/${f.name}` },
}));

beforeAll(async () => {
  await import('../../../src/preload/index');
});

describe('preload', () => {
  it('exposes window.studio only, grouped by contract domain', async () => {
    const { CHANNEL_NAMES } = await import('../../../src/shared/contract');
    expect(Object.keys(rec.exposed)).toEqual(['studio']);
    const api = rec.exposed.studio as Record<string, unknown>;
    const domains = [...new Set(CHANNEL_NAMES.map((c) => c.split('.')[0]))];
    expect(Object.keys(api).sort()).toEqual([...domains, 'on', 'pathsForFiles', 'transport'].sort());
    for (const bad of ['ipcRenderer', 'invoke', 'send', 'sendSync', 'require', 'process']) expect(api[bad]).toBeUndefined();
  });
  it('routes each function to its own channel', async () => {
    const { CHANNEL_NAMES } = await import('../../../src/shared/contract');
    const api = rec.exposed.studio as Record<string, Record<string, (r: object) => Promise<unknown>>>;
    expect(CHANNEL_NAMES.length).toBeGreaterThan(1);
    for (const name of CHANNEL_NAMES) {
      const [domain, verb] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
      // A payload unique to the channel: a mix-up of channel or payload shows as a mismatch.
      const payload = { probe: name };
      rec.invoked.length = 0;
      expect(await api[domain]![verb]!(payload), name).toEqual({ ok: true, data: 1 });
      expect(rec.invoked, name).toEqual([[name, payload]]);
    }
    // Every exposed function is a contract channel (nothing extra under a domain).
    const exposed = Object.entries(api).flatMap(([d, fns]) => (typeof fns === 'object' && d !== 'on' ? Object.keys(fns).map((v) => `${d}.${v}`) : []));
    expect(exposed.sort()).toEqual([...CHANNEL_NAMES].sort());
  });
  it('subscribes only to known events and unsubscribes', () => {
    const api = rec.exposed.studio as { on: (e: string, cb: () => void) => () => void };
    const off = api.on('job.progress', () => {});
    expect(Object.keys(rec.listeners)).toContain('evt:job.progress');
    off();
    expect(Object.keys(rec.listeners)).not.toContain('evt:job.progress');
    expect(() => api.on('ipc.anything', () => {})).toThrow(/Unknown event/);
  });
  it('gives dropped files their paths through webUtils', async () => {
    const api = rec.exposed.studio as { pathsForFiles: (f: { name: string }[]) => Promise<string[]> };
    expect(await api.pathsForFiles([{ name: 'a.png' }])).toEqual(['/dropped/a.png']);
  });
});
