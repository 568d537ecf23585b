/**
 * The StudioApi the renderer sees as `window.studio`, the same object whichever transport built
 * it (Electron preload over ipcRenderer.invoke, or the serve WebSocket client): one function per
 * contract channel, grouped by domain (`studio.dataset.import(req)`), each answering an Envelope.
 */
import type { Envelope } from './errors';
import type { ChannelName, RequestOf, ResponseOf } from './contract';
import { CHANNEL_NAMES } from './contract';
import type { EventMap, EventName } from './events';

type DomainOf<C extends string> = C extends `${infer D}.${string}` ? D : never;
type VerbOf<C extends string, D extends string> = C extends `${D}.${infer V}` ? V : never;
export type Domain = DomainOf<ChannelName>;

export type ChannelFn<C extends ChannelName> = (req: RequestOf<C>) => Promise<Envelope<ResponseOf<C>>>;

export type StudioCalls = {
  [D in Domain]: { [V in VerbOf<ChannelName, D>]: `${D}.${V}` extends ChannelName ? ChannelFn<`${D}.${V}`> : never };
};

export interface StudioExtras {
  /** Subscribe to an engine event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, cb: (payload: EventMap[E]) => void): () => void;
  /**
   * Paths for dropped files. Electron: webUtils.getPathForFile (no copy). Browser transport: the
   * files are uploaded into the workspace's temp folder and those paths come back.
   * `relativePaths` keeps folder structure for dropped folders (same order as files).
   */
  pathsForFiles(files: File[], relativePaths?: string[]): Promise<string[]>;
  /** "electron" or "browser": for the few places the UI words things differently. */
  readonly transport: 'electron' | 'browser';
}

export type StudioApi = StudioCalls & StudioExtras;

/** Build the per-channel functions from the contract list, over any invoke function. */
export function buildCalls(invoke: (channel: ChannelName, req: unknown) => Promise<Envelope<unknown>>): StudioCalls {
  const out: Record<string, Record<string, (req: unknown) => Promise<Envelope<unknown>>>> = {};
  for (const name of CHANNEL_NAMES) {
    const dot = name.indexOf('.');
    const domain = name.slice(0, dot);
    const verb = name.slice(dot + 1);
    (out[domain] ??= {})[verb] = (req: unknown) => invoke(name, req ?? {});
  }
  return out as unknown as StudioCalls;
}
