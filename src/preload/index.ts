/**
 * The preload: builds `window.studio` from the contract, one function per channel over
 * ipcRenderer.invoke (answers are envelopes), `on(event, cb)` returning an unsubscribe, and
 * dropped-file paths through webUtils. Raw ipcRenderer is never exposed.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { buildCalls, type StudioApi } from '../shared/api';
import { EVENT_NAMES, type EventMap, type EventName } from '../shared/events';

const calls = buildCalls((channel, req) => ipcRenderer.invoke(channel, req));

const api: StudioApi = {
  ...calls,
  transport: 'electron',
  on<E extends EventName>(event: E, cb: (payload: EventMap[E]) => void) {
    if (!EVENT_NAMES.includes(event)) throw new Error(`Unknown event ${String(event)}`);
    const listener = (_e: IpcRendererEvent, payload: EventMap[E]) => cb(payload);
    ipcRenderer.on(`evt:${event}`, listener);
    return () => {
      ipcRenderer.removeListener(`evt:${event}`, listener);
    };
  },
  async pathsForFiles(files: File[]) {
    return files.map((f) => webUtils.getPathForFile(f));
  },
};

contextBridge.exposeInMainWorld('studio', api);
