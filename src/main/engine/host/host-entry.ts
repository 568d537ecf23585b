/**
 * Entry of the engine host process. Under Electron it is a utilityProcess (messages through
 * process.parentPort); under `serve` a Node child process (process.send, advanced serialization).
 */
import { runHost } from './host';
import type { FromHost, Port, ToHost } from './protocol';

interface ParentPort {
  postMessage(msg: unknown): void;
  on(ev: 'message', cb: (e: { data: unknown }) => void): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

let port: Port<ToHost, FromHost>;
let mode: string;
if (parentPort) {
  mode = 'utility-process';
  port = {
    send: (m) => parentPort.postMessage(m),
    onMessage: (cb) => parentPort.on('message', (e) => cb(e.data as ToHost)),
  };
} else if (process.send) {
  mode = 'child-process';
  port = {
    send: (m) => {
      if (process.connected) process.send!(m);
    },
    onMessage: (cb) => process.on('message', (m) => cb(m as ToHost)),
  };
  // The parent went away: nothing left to serve.
  process.on('disconnect', () => process.exit(0));
} else {
  console.error('atelier engine host: start me from the app or `atelier serve`, not directly.');
  process.exit(2);
}

runHost(port, { mode, onExit: () => setTimeout(() => process.exit(0), 10) });

