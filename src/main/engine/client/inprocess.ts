/** The engine in this process (CLI, tests): same dispatch, no process boundary. */
import type { EventName } from '../../../shared/events';
import type { EngineClientLike } from './client';
import { createEngine, type Engine } from '../host/host';
import { openWorkspace } from '../core/workspace';

type Listener = (event: EventName, payload: unknown) => void;

export class InProcessEngine implements EngineClientLike {
  readonly engine: Engine;
  private listeners = new Set<Listener>();
  constructor(opts: { workspaceRoot?: string } = {}) {
    this.engine = createEngine({
      mode: 'in-process',
      ...(opts.workspaceRoot ? { workspace: openWorkspace(opts.workspaceRoot) } : {}),
      emit: (event, payload) => {
        for (const l of this.listeners) l(event, payload);
      },
    });
  }
  request(channel: string, payload: unknown) {
    return this.engine.dispatch(channel, payload);
  }
  onEvent(cb: Listener) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  close() {
    return this.engine.shutdown();
  }
}
