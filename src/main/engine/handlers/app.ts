import { handlers } from '../context';
import { appVersion, doctorReport } from '../doctor';

export const appHandlers = handlers({
  'app.version': () => ({ name: 'Atelier', version: appVersion() }),
  'app.doctor': (_req, ctx) => doctorReport({ workspace: ctx.workspace.root, mode: ctx.mode }),
});
