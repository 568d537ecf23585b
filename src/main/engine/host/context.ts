/**
 * What every engine handler receives: the workspace, the job broker, the event emitter and the
 * backend report. Handlers are plain async functions of (validated request, ctx).
 */
import type { ChannelName, ParsedRequestOf, ResponseOf } from '../../../shared/contract';
import type { Emit, JobManager } from './jobs';
import type { Workspace } from '../core/workspace';

export interface EngineContext {
  workspace: Workspace;
  jobs: JobManager;
  emit: Emit;
  /** "utility-process" | "child-process" | "in-process" */
  mode: string;
}

export type Handler<C extends ChannelName> = (req: ParsedRequestOf<C>, ctx: EngineContext) => Promise<ResponseOf<C>> | ResponseOf<C>;

/** Every channel of the contract has a handler: the type checker enforces it. */
export type HandlerTable = { [C in ChannelName]: Handler<C> };

/** Helper so each domain file gets full typing for its slice of the table. */
export function handlers<T extends Partial<HandlerTable>>(t: T): T {
  return t;
}
