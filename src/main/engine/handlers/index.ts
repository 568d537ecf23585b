/** The engine's handler table: one entry per contract channel (the type checker enforces it). */
import type { HandlerTable } from '../context';
import { appHandlers } from './app';
import { jobHandlers } from './job';
import { datasetHandlers } from './dataset';

export const handlerTable: HandlerTable = {
  ...appHandlers,
  ...jobHandlers,
  ...datasetHandlers,
};
