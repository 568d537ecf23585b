/** export.onnx (a job) and bundle.list / bundle.get. */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { BundleDetail } from '../../../shared/channels/bundle';
import type { OnnxExportResult } from '../../../shared/channels/export';
import { StudioError } from '../../../shared/errors';
import { QUEUE } from '../host/jobs';
import { handlers } from '../host/context';
import { assertExportTargetsReplaceable, disposeSource, exportOnnx, type OnnxSidecar } from '../export/onnx-export';
import { onnxFileInfo } from '../export/inspect';
import { evictModels, exportsDirFor, listBundles, loadBundleSource, resolveModelRef, summarizeBundle } from '../infer/registry';
import type { Workspace } from '../core/workspace';
import { capabilitiesOf } from '../infer/model';
import type { ModelCapabilities } from '../../../shared/capabilities';
import { safeId } from '../core/workspace';

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

export async function bundleDetail(ws: Workspace, ref: string): Promise<BundleDetail> {
  const r = await resolveModelRef(ws, ref);
  if (r.dir) {
    const summary = await summarizeBundle(r.dir, r.location, r.id, r.location === 'shipped' ? [exportsDirFor(ws, r.id)] : []);
    if (!summary) throw new StudioError('BAD_INPUT', `${r.dir} is not a model bundle (no bundle.json and no exported ONNX file).`);
    let card: string | undefined;
    for (const name of ['model-card.md', 'MODEL_CARD.md', 'card.md', 'README.md']) {
      card = await readText(path.join(r.dir, name));
      if (card) break;
    }
    const manifestText = await readText(path.join(r.dir, 'bundle.json'));
    const cardText = await readText(path.join(r.dir, 'card.json'));
    let cardData: Record<string, unknown> | undefined;
    try {
      cardData = cardText ? (JSON.parse(cardText) as Record<string, unknown>) : undefined;
    } catch {
      cardData = undefined; // a broken card does not hide the bundle
    }
    return {
      summary,
      onnx: summary.onnx ? await onnxFileInfo(summary.onnx) : null,
      ...(card ? { card } : {}),
      ...(manifestText ? { manifest: JSON.parse(manifestText) as Record<string, unknown> } : {}),
      ...(cardData ? { cardData } : {}),
    };
  }
  const info = await onnxFileInfo(r.onnx!);
  const side = (await readText(r.onnx!.slice(0, -5) + '.json')) ?? null;
  const s = side ? (JSON.parse(side) as OnnxSidecar) : null;
  const md = info.metadata;
  const kind = s?.kind ?? md['atelier.kind'];
  const latentSize = s?.latentSize ?? (md['atelier.latentSize'] ? Number(md['atelier.latentSize']) : undefined);
  const stored = s?.capabilities ?? (md['atelier.capabilities'] ? (JSON.parse(md['atelier.capabilities']) as ModelCapabilities) : undefined);
  return {
    summary: {
      id: r.id,
      name: s?.name ?? md['atelier.name'] ?? r.id,
      kind: String(kind ?? 'onnx'),
      capabilities: capabilitiesOf(stored, kind, { inputs: info.inputs, ...(latentSize !== undefined ? { latentSize } : {}), ...(s?.classNames ? { classNames: s.classNames } : {}), encoder: !!s?.encoderFile }),
      imageSize: s?.imageSize ?? Number(md['atelier.imageSize'] ?? 0),
      channels: s?.channels ?? Number(md['atelier.channels'] ?? 3),
      ...(s?.latentSize ?? md['atelier.latentSize'] ? { latentSize: Number(s?.latentSize ?? md['atelier.latentSize']) } : {}),
      ...(s?.classNames ? { classNames: s.classNames } : {}),
      location: 'path',
      dir: path.dirname(r.onnx!),
      onnx: r.onnx,
      hasTfjs: false,
      ...(info.parity ? { parity: { maxAbsDiff: info.parity.maxAbsDiff, pass: info.parity.pass } } : {}),
    },
    onnx: info,
  };
}

/** Default export target: inside a workspace bundle; shipped/read-only ones go to <workspace>/exports/<id>/. */
export function defaultExportFile(ws: Workspace, r: { dir: string | null; location: string; id: string }, direction: 'AtoB' | 'BtoA' = 'AtoB'): string {
  const name = `${safeId(r.id)}${direction === 'BtoA' ? '.BtoA' : ''}.onnx`;
  if (r.dir && r.location !== 'shipped') return path.join(r.dir, name);
  return path.join(exportsDirFor(ws, r.id), name);
}

export const bundleHandlers = handlers({
  'bundle.list': (_req, ctx) => listBundles(ctx.workspace),
  'bundle.get': (req, ctx) => bundleDetail(ctx.workspace, req.id),
});

export const exportHandlers = handlers({
  'export.onnx': async (req, ctx) => {
    const r = await resolveModelRef(ctx.workspace, req.model);
    if (!r.dir) throw new StudioError('BAD_INPUT', `"${req.model}" is already an ONNX file; export needs a bundle with tfjs networks.`);
    const file = path.resolve(req.file ?? defaultExportFile(ctx.workspace, r, req.direction));
    if (!file.toLowerCase().endsWith('.onnx')) throw new StudioError('BAD_INPUT', `The export file must end in .onnx (got ${path.basename(file)}).`);
    await assertExportTargetsReplaceable(file); // answered now, not after the parity check
    const job = ctx.jobs.start('export.onnx', `Export ${r.id} to ONNX`, async (j): Promise<OnnxExportResult> => {
      const src = await loadBundleSource(r.dir!, { direction: req.direction });
      if (req.dropout) src.dropout = req.dropout;
      try {
        await j.checkpoint();
        const res = await exportOnnx(src, file, { onStep: (step, total, message) => j.progress({ step, total, message }) });
        await evictModels((k) => k.includes(r.id) || k.includes(r.dir!));
        return res;
      } finally {
        disposeSource(src);
      }
    }, { queue: QUEUE });
    return { jobId: job.id };
  },
});
