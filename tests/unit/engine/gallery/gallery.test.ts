/** The Gallery through the engine's dispatch: saves, folder outputs, paging, filters, thumbs, delete. */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelName, RequestOf, ResponseOf } from '../../../../src/shared/contract';
import type { TranslateFolderResult } from '../../../../src/shared/channels/infer';
import { waitJob, type RecordedEvent } from '../../../fixtures/engine-jobs';
import { openStudio, type Studio } from '../infer/studio';

let studio: Studio;
let root: string;
let events: RecordedEvent[];
const call = <C extends ChannelName>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>> => studio.call(channel, payload);

beforeAll(async () => {
  studio = await openStudio('atelier-gallery-', { digits: true, facades: 'workspace' });
  ({ root } = studio);
  events = studio.events as typeof events;
});

afterAll(() => studio.close());

describe('gallery', () => {
  it('keeps saved outputs and folder translations with their provenance, newest first, filtered and paged', async () => {
    const gen = await call('infer.generate', { model: 'digits', seed: 1, count: 3, label: 2 });
    for (const [i, im] of gen.images.entries()) await call('gallery.add', { image: im.png, name: `digit-${i}.png` });
    // A folder translation's outputs join where they were written.
    const inDir = path.join(root, 'photos');
    fs.mkdirSync(inDir);
    for (const n of ['a', 'b']) await sharp({ create: { width: 20, height: 12, channels: 3, background: n === 'a' ? 'red' : 'blue' } }).png().toFile(path.join(inDir, `${n}.png`));
    const { jobId } = await call('infer.translateFolder', { model: 'facades', input: inDir, output: path.join(root, 'out') });
    const res = await waitJob<TranslateFolderResult>(events, jobId, 1500);
    expect(res.written).toHaveLength(2);

    const all = await call('gallery.list', {});
    expect(all.total).toBe(5);
    expect(all.items.map((i) => i.origin)).toEqual(['folder', 'folder', 'saved', 'saved', 'saved']);
    expect(all.items[2]).toMatchObject({ name: 'digit-2.png', op: 'generate', model: { id: 'digits', kind: 'cgan' }, width: 16, height: 16 });
    expect(all).toMatchObject({ models: ['digits', 'facades'], kinds: ['cgan', 'pix2pix'], ops: ['generate', 'translate'] });

    const byModel = await call('gallery.list', { model: 'facades' });
    expect(byModel.items.map((i) => i.file).sort()).toEqual(res.written.sort());
    expect((await call('gallery.list', { kind: 'cgan', op: 'generate' })).total).toBe(3);
    expect((await call('gallery.list', { op: 'latent' })).total).toBe(0);
    // Paging: the second page of two continues where the first ended.
    const p1 = await call('gallery.list', { limit: 2 });
    const p2 = await call('gallery.list', { limit: 2, offset: 2 });
    expect([...p1.items, ...p2.items].map((i) => i.id)).toEqual(all.items.slice(0, 4).map((i) => i.id));
  });

  it('two folder translations queue: the second waits, then runs after the first', async () => {
    const inDir = path.join(root, 'photos');
    const from = events.length;
    const a = await call('infer.translateFolder', { model: 'facades', input: inDir, output: path.join(root, 'q1') });
    const b = await call('infer.translateFolder', { model: 'facades', input: inDir, output: path.join(root, 'q2') });
    const started = (id: string) => events.slice(from).find((e) => e.event === 'job.started' && (e.payload as { id: string }).id === id)!.payload as { state: string; position?: number };
    expect(started(b.jobId)).toMatchObject({ state: 'queued', position: 1 });
    await waitJob(events, b.jobId, 1500);
    const ends = events.slice(from).filter((e) => e.event === 'job.done').map((e) => (e.payload as { jobId: string }).jobId);
    expect(ends).toEqual([a.jobId, b.jobId]);
    await call('gallery.list', {}).then((g) => expect(g.total).toBe(9));
  });

  it('thumbs are small, pixel-exact when upscaled; get gives the full PNG and its provenance', async () => {
    const [item] = (await call('gallery.list', { op: 'generate', limit: 1 })).items;
    const t = await call('gallery.thumb', { id: item!.id, size: 64 });
    expect([t.width, t.height]).toEqual([64, 64]);
    const full = await call('gallery.get', { id: item!.id });
    expect(full.provenance).toMatchObject({ op: 'generate', seed: 3, label: 2, model: { id: 'digits' } });
    // Nearest-neighbour: the thumb has no value the source lacks (a smoothing kernel would blend new ones).
    const src = new Set((await sharp(full.png).raw().toBuffer()).values());
    const { data: th, info } = await sharp(t.png).raw().toBuffer({ resolveWithObject: true });
    const firstChannel = th.filter((_, i) => i % info.channels === 0);
    expect([...new Set(firstChannel.values())].filter((v) => !src.has(v))).toEqual([]);
  });

  it('refuses a PNG without provenance, and a hostile chunk with the reader\'s message', async () => {
    const plain = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } }).png().toBuffer();
    await expect(call('gallery.add', { image: new Uint8Array(plain) })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/no Atelier provenance/) });
    const good = (await call('infer.generate', { model: 'digits', seed: 9 })).images[0]!.png;
    const bad = Buffer.from(good);
    bad[60] = bad[60]! ^ 1; // inside the chunk: its CRC fails
    await expect(call('gallery.add', { image: new Uint8Array(bad) })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/CRC/) });
  });

  it('delete removes a saved copy\'s file, and only forgets a folder translation\'s file', async () => {
    const list = await call('gallery.list', {});
    const saved = list.items.find((i) => i.origin === 'saved')!;
    const folder = list.items.find((i) => i.origin === 'folder')!;
    expect(await call('gallery.delete', { id: saved.id })).toEqual({ deleted: true, fileRemoved: true });
    expect(fs.existsSync(saved.file)).toBe(false);
    expect(await call('gallery.delete', { id: folder.id })).toEqual({ deleted: true, fileRemoved: false });
    expect(fs.existsSync(folder.file)).toBe(true);
    expect((await call('gallery.list', {})).total).toBe(list.total - 2);
    await expect(call('gallery.get', { id: saved.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
