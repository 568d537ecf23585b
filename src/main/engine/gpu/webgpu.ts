/**
 * WebGPU in Node: Dawn's Node-API addon (the `webgpu` npm package, prebuilt per platform) gives
 * tfjs-backend-webgpu a GPU through the driver the user already has (D3D12, Metal, Vulkan).
 *
 * This module finds an adapter and describes it (for the backend choice and `atelier doctor`),
 * registers tfjs's 'webgpu' backend on a device we create, so we hold the only reference and can
 * release it, and releases it: a live Dawn device keeps Node's event loop alive, so the CLI and
 * the hosts call `releaseGpu()` on the way out.
 *
 * It never decides whether WebGPU is used: backend.ts does (a software/fallback adapter is never
 * chosen unless ATELIER_BACKEND=webgpu forces it). Nothing here imports tfjs at load time, so
 * the CLI can import `releaseGpu` without paying for tfjs.
 */
import { createRequire } from 'node:module';
import type { GpuAdapterReport } from '../../../shared/channels/app';

const nodeRequire = createRequire(import.meta.url);

export type { GpuAdapterReport };

/* Minimal shapes of the WebGPU objects we touch (the full @webgpu/types are not a dependency). */
interface AdapterLike {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  features: Set<string>;
  requestDevice(desc?: unknown): Promise<DeviceLike>;
}
export interface DeviceLike {
  destroy(): void;
  lost: Promise<{ reason: string; message: string }>;
  onuncapturederror: ((ev: { error?: { message?: string; constructor?: { name?: string } } }) => void) | null;
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: string }): Promise<AdapterLike | null>;
}

export type ProbeResult = { ok: true; adapter: AdapterLike; report: GpuAdapterReport } | { ok: false; error: string };

let gpu: GpuLike | null = null;
let probed: Promise<ProbeResult> | null = null;
let device: DeviceLike | null = null;

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

/** The `webgpu` package's folder name for this platform (macOS ships one universal binary). */
export function dawnPlatformDir(platform: string = process.platform, arch: string = process.arch): string {
  return platform === 'darwin' ? 'darwin-universal' : `${platform}-${arch}`;
}

async function loadGpu(): Promise<GpuLike> {
  if (gpu) return gpu;
  // The package is ESM, and optional: a specifier held in a variable keeps type-checking and the
  // bundle independent of whether this platform installed it.
  const spec = 'webgpu';
  const mod = (await import(spec)) as unknown as { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  // tfjs-backend-webgpu reads the WebGPU constants (GPUBufferUsage, GPUMapMode, ...) as globals.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  gpu = mod.create([]);
  // tfjs-backend-webgpu checks navigator.gpu before it builds a backend. Node 20 has no navigator;
  // Node 21+ (Electron) has one without gpu.
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  return gpu;
}

function describe(adapter: AdapterLike): GpuAdapterReport {
  const i = adapter.info;
  const l = adapter.limits;
  return {
    vendor: i.vendor || 'unknown',
    architecture: i.architecture || 'unknown',
    device: i.device || '',
    description: i.description || '',
    isFallbackAdapter: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
    limits: {
      maxBufferSize: l.maxBufferSize!,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize!,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize!,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup!,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension!,
    },
  };
}

/** Ask Dawn for the high-performance adapter once per process; never throws. */
export function probeAdapter(): Promise<ProbeResult> {
  probed ??= (async (): Promise<ProbeResult> => {
    try {
      nodeRequire.resolve('webgpu/package.json');
    } catch {
      return { ok: false, error: 'the webgpu package (Dawn) is not installed for this platform' };
    }
    try {
      const g = await loadGpu();
      const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) {
        const hint = process.platform === 'linux' ? ' (Linux: needs libvulkan1 and a Vulkan driver)' : '';
        return { ok: false, error: `no WebGPU adapter${hint}` };
      }
      return { ok: true, adapter, report: describe(adapter) };
    } catch (e) {
      return { ok: false, error: firstLine(e) };
    }
  })();
  return probed;
}

/**
 * Register tfjs's 'webgpu' backend on a device of `adapter` (what tfjs's own factory would ask
 * for, minus its navigator.gpu lookup, which Node does not have). Call before tf.setBackend.
 */
export async function registerWebGpuBackend(tf: typeof import('@tensorflow/tfjs'), adapter: AdapterLike): Promise<void> {
  // Registers the webgpu kernels (and its own backend factory, which we replace with ours so the
  // device is the one we hold and release).
  const { WebGPUBackend } = nodeRequire('@tensorflow/tfjs-backend-webgpu') as { WebGPUBackend: new (device: unknown, info: unknown) => import('@tensorflow/tfjs').KernelBackend };
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', async () => {
    const l = adapter.limits;
    const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
    device = await adapter.requestDevice({
      requiredFeatures,
      requiredLimits: {
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      },
    });
    const d = device;
    fault = null;
    void d.lost.then((info) => {
      // 'destroyed' is our own releaseGpu(); anything else is the driver taking the device away.
      if (info.reason !== 'destroyed' && device === d) fault = `the GPU device was lost (${info.message || info.reason || 'no reason given'})`;
    });
    // Out-of-memory and internal errors arrive here, not as exceptions of the op that caused them.
    d.onuncapturederror = (ev) => {
      const e = ev.error;
      const name = e?.constructor?.name ?? '';
      if (name === 'GPUOutOfMemoryError' || /out of memory/i.test(e?.message ?? '')) fault ??= `the GPU ran out of memory (${(e?.message ?? '').split('\n')[0]})`;
      else if (name === 'GPUInternalError') fault ??= `the GPU reported an internal error (${(e?.message ?? '').split('\n')[0]})`;
    };
    return new WebGPUBackend(device, adapter.info);
  }, 1);
}

let fault: string | null = null;

/**
 * Why the GPU can no longer be trusted in this process (device lost: driver reset or removal;
 * out of memory; internal error), or null while it is fine.
 */
export function gpuFault(): string | null {
  return fault;
}

/** Tests: pretend the driver took the device away (the fail-over path). */
export function simulateDeviceLost(message = 'simulated device loss'): void {
  fault = `the GPU device was lost (${message})`;
}

/** Destroy the device (lets Node exit). Idempotent; tfjs's webgpu backend is unusable after. */
export function releaseGpu(): void {
  fault = null;
  if (device) {
    try {
      device.destroy();
    } catch {
      /* already gone */
    }
  }
  device = null;
}
