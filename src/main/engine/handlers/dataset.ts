import fsp from 'node:fs/promises';
import path from 'node:path';
import { StudioError } from '../../../shared/errors';
import { handlers } from '../host/context';
import { ensureDemoDatasets } from '../data/demo';
import { importDataset } from '../data/import';
import { datasetDir, deleteDataset, listDatasets, MANIFEST, readManifest, summaryOf } from '../data/store';
import { datasetPage } from '../data/thumbs';
import { validateSource } from '../data/validate';
import { safeId } from '../core/workspace';

export const datasetHandlers = handlers({
  'dataset.validate': async (req) => (await validateSource(req)).report,
  'dataset.import': async (req, ctx) => {
    // Fail fast on what needs no file reading; the job re-checks everything.
    const id = safeId(req.name);
    if (!req.replace && (await fsp.access(path.join(datasetDir(ctx.workspace, id), MANIFEST)).then(() => true, () => false))) {
      throw new StudioError('CONFLICT', `A dataset named "${id}" exists already.`, { hint: 'Choose another name, or replace it.' });
    }
    if (req.path) {
      await fsp.stat(path.resolve(req.path)).catch(() => {
        throw new StudioError('NOT_FOUND', `Cannot open ${path.resolve(req.path!)}: it does not exist.`, { hint: 'Check the path.' });
      });
    } else if (!req.pairs && req.kind !== 'fashion-mnist') {
      throw new StudioError('BAD_INPUT', 'No source: give a path (or pairs for a paired dataset).');
    }
    const job = ctx.jobs.start('dataset.import', `Import ${req.name}`, (j) => importDataset(ctx.workspace, req, j));
    return { jobId: job.id };
  },
  'dataset.list': (_req, ctx) => listDatasets(ctx.workspace),
  'dataset.get': async (req, ctx) => {
    const dir = datasetDir(ctx.workspace, req.id);
    const m = await readManifest(dir);
    const page = await datasetPage(dir, m, req);
    return { summary: await summaryOf(dir, m), items: page.items, total: page.total, offset: req.offset };
  },
  'dataset.delete': async (req, ctx) => ({ deleted: await deleteDataset(ctx.workspace, req.id) }),
  'dataset.demo': (req, ctx) => {
    const job = ctx.jobs.start('dataset.demo', 'Demo datasets', (j) => ensureDemoDatasets(ctx, { force: req.force, photos: req.photos, job: j }));
    return { jobId: job.id };
  },
});
