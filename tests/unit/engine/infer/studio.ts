/**
 * An InProcessEngine on a fresh temporary workspace (shipped models folder inside it), recording
 * its events, with the tiny test bundles a channel test asks for. One setup for the tests that
 * drive the studio's channels as the pages do.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../../../src/main/engine/backend';
import { InProcessEngine } from '../../../../src/main/engine/client/inprocess';
import { evictModels } from '../../../../src/main/engine/infer/registry';
import { tinyCgan, tinyUnet, writeTestBundle } from '../export/models';
import type { ChannelName, RequestOf, ResponseOf } from '../../../../src/shared/contract';
import type { RecordedEvent } from '../../../fixtures/engine-jobs';

export interface Studio {
  root: string;
  engine: InProcessEngine;
  events: RecordedEvent[];
  /** A typed request; an error envelope throws an Error carrying its code and fields. */
  call<C extends ChannelName>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>>;
  close(): Promise<void>;
}

export interface StudioBundles {
  /** 'digits': a class-conditional generator, 16 px grey, 10 classes, in the workspace. */
  digits?: boolean;
  /** 'facades': a pix2pix U-Net, 16 px colour, in the workspace or the shipped models folder. */
  facades?: 'workspace' | 'shipped';
  /** 'colorize': a CycleGAN, grey A (1 channel) <-> colour B (3), in the workspace. */
  colorize?: boolean;
}

export async function openStudio(prefix: string, want: StudioBundles): Promise<Studio> {
  await initBackend();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const shipped = path.join(root, 'shipped');
  process.env.ATELIER_MODELS_DIR = shipped;
  fs.mkdirSync(shipped);
  const engine = new InProcessEngine({ workspaceRoot: path.join(root, 'ws') });
  const events: RecordedEvent[] = [];
  engine.onEvent((event, payload) => events.push({ event, payload }));
  const bundles = path.join(root, 'ws', 'bundles');
  if (want.digits) {
    const g = tinyCgan();
    await writeTestBundle(path.join(bundles, 'digits'), { id: 'digits', model: 'cgan', networks: { G: g }, size: 16, channels: 1, latent: 8, classes: { count: 10, names: '0123456789'.split('') } });
    g.dispose();
  }
  if (want.facades) {
    const u = tinyUnet();
    await writeTestBundle(path.join(want.facades === 'shipped' ? shipped : bundles, 'facades'), { id: 'facades', model: 'pix2pix', networks: { G: u }, size: 16, channels: 3 });
    u.dispose();
  }
  if (want.colorize) {
    const ga = tinyUnet(16, 1, 4, 3);
    const gb = tinyUnet(16, 3, 4, 1);
    await writeTestBundle(path.join(bundles, 'colorize'), { id: 'colorize', model: 'cyclegan', networks: { G_A: ga, G_B: gb }, size: 16, channels: 3, inChannels: 1 });
    ga.dispose();
    gb.dispose();
  }
  return {
    root,
    engine,
    events,
    async call(channel, payload) {
      const r = await engine.request(channel, payload);
      if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
      return r.data as never;
    },
    async close() {
      await evictModels();
      await engine.close();
      delete process.env.ATELIER_MODELS_DIR;
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
