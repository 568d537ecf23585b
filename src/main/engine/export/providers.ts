/**
 * onnxruntime-node execution providers: the GPU one each platform's package bundles (DirectML on
 * Windows, CoreML on macOS, WebGPU on Linux), chosen per session behind a parity gate. A GPU
 * provider's output can differ from the cpu provider's (ORT's WebGPU provider differed by up to
 * 0.094 on the pix2pix export under SwiftShader), so the first session of a model runs the
 * model's own fixed test input on both and keeps the GPU session only within EP_PARITY_TOLERANCE;
 * otherwise it warns and uses cpu.
 *
 * Which provider: ATELIER_EP or `--ep` (cpu | auto | webgpu | dml | coreml), default cpu; auto
 * takes the platform's GPU provider when it is bundled (on Linux only with a hardware WebGPU
 * adapter: a software one is slower than cpu).
 */
import { StudioError } from '../../../shared/errors';
import { probeAdapter } from '../gpu/webgpu';
import { createSession, loadOrt, type OrtSession, type OrtTensor } from './ort';

export type Ep = 'cpu' | 'webgpu' | 'dml' | 'coreml';
export type EpChoice = Ep | 'auto';
export const EP_CHOICES: readonly EpChoice[] = ['cpu', 'auto', 'webgpu', 'dml', 'coreml'];
/** Max |Δ| between a GPU provider and cpu on the model's test input (outputs in [-1, 1]). */
export const EP_PARITY_TOLERANCE = 1e-3;

let wanted: EpChoice | null = null;

export function parseEp(v: string): EpChoice {
  const e = v.trim().toLowerCase() as EpChoice;
  if (!EP_CHOICES.includes(e)) throw new StudioError('BAD_INPUT', `"${v}" is not an execution provider.`, { hint: `Use one of ${EP_CHOICES.join(', ')}.` });
  return e;
}

/** The provider asked for (`--ep` sets it for the process; else ATELIER_EP; else cpu). */
export function wantedEp(): EpChoice {
  return wanted ?? (process.env.ATELIER_EP ? parseEp(process.env.ATELIER_EP) : 'cpu');
}

export function setWantedEp(ep: EpChoice | null): void {
  wanted = ep;
}

/** Providers this platform's onnxruntime-node package bundles (cuda/tensorrt need downloads: not offline). */
export function bundledEps(): string[] {
  try {
    const o = loadOrt() as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] };
    return (o.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }]).filter((b) => b.bundled).map((b) => b.name);
  } catch {
    return [];
  }
}

export function gpuEpFor(platform: string = process.platform): Ep {
  return platform === 'win32' ? 'dml' : platform === 'darwin' ? 'coreml' : 'webgpu';
}

/** The provider a new session should try. */
export async function resolveEp(want: EpChoice = wantedEp()): Promise<Ep> {
  if (want === 'cpu') return 'cpu';
  const here = bundledEps();
  if (want !== 'auto') {
    if (!here.includes(want)) throw new StudioError('UNAVAILABLE', `The ${want} execution provider is not in this platform's onnxruntime (it has ${here.join(', ') || 'none'}).`, { hint: 'Use --ep auto or cpu.' });
    return want;
  }
  const gpu = gpuEpFor();
  if (!here.includes(gpu)) return 'cpu';
  if (gpu === 'webgpu') {
    const p = await probeAdapter();
    if (!p.ok || p.report.isFallbackAdapter) return 'cpu';
  }
  return gpu;
}

export interface EpReport {
  /** The provider asked for and the one the session runs on. */
  requested: Ep;
  used: Ep;
  /** Max |Δ| against cpu on the test input (absent when cpu was asked for). */
  maxAbsDiff?: number;
  tolerance: number;
  /** Set when the GPU provider failed the gate or could not start: why cpu runs instead. */
  warning?: string;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

/**
 * A session on `ep`, kept only if its `output` on `feeds` is within `tolerance` of the cpu
 * provider's; else (or when the provider cannot start) a cpu session, with the reason.
 */
export async function gatedSession(
  model: Uint8Array | string,
  ep: Ep,
  feeds: Record<string, OrtTensor>,
  /** check: run the comparison even for cpu (tests drive the gate both ways without a GPU). */
  opts: { tolerance?: number; output?: string; check?: boolean } = {},
): Promise<{ session: OrtSession; report: EpReport }> {
  const tolerance = opts.tolerance ?? EP_PARITY_TOLERANCE;
  const cpu = await createSession(model);
  if (ep === 'cpu' && !opts.check) return { session: cpu, report: { requested: 'cpu', used: 'cpu', tolerance } };
  let gpu: OrtSession | null = null;
  try {
    gpu = await createSession(model, ep === 'cpu' ? {} : { ep });
    const out = opts.output ?? 'output';
    const [want, got] = [await cpu.run(feeds), await gpu.run(feeds)];
    const d = maxAbsDiff(want[out]!.data as Float32Array, got[out]!.data as Float32Array);
    if (d <= tolerance) {
      await cpu.release();
      return { session: gpu, report: { requested: ep, used: ep, maxAbsDiff: d, tolerance } };
    }
    await gpu.release();
    const warning = `the ${ep} execution provider differs from cpu by ${d.toExponential(2)} (tolerance ${tolerance}) on the model's test input; using cpu`;
    console.warn(`[atelier] ${warning}`);
    return { session: cpu, report: { requested: ep, used: 'cpu', maxAbsDiff: d, tolerance, warning } };
  } catch (e) {
    await gpu?.release().catch(() => undefined);
    const warning = `the ${ep} execution provider could not run this model (${(e instanceof Error ? e.message : String(e)).split('\n')[0]}); using cpu`;
    console.warn(`[atelier] ${warning}`);
    return { session: cpu, report: { requested: ep, used: 'cpu', tolerance, warning } };
  }
}
