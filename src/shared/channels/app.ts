import { z } from 'zod';
import { channel, filePath } from '../define';

export type BackendName = 'node' | 'webgpu' | 'wasm' | 'cpu';

export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software or degraded adapter (SwiftShader, WARP): correct but slower than the CPU path. */
  isFallbackAdapter: boolean;
  /** The limits a training run meets first. */
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
  };
}

export interface DoctorReport {
  appVersion: string;
  node: string;
  platform: string;
  arch: string;
  cpus: number;
  backend: BackendName;
  /** Why this backend: "tfjs-node loaded", "tfjs-node not installed: ...", "forced by ATELIER_BACKEND". */
  backendReason: string;
  /** Threads the backend computes with. */
  threads: number;
  /** Kernels this project registered on the backend (wasm gaps it fills). */
  customKernels: string[];
  tfjsVersion: string;
  tfjsNode: { present: boolean; version?: string; error?: string };
  /** The WebGPU adapter Dawn offers here (chosen or not), or why there is none. */
  webgpu: {
    adapter?: GpuAdapterReport;
    error?: string;
    /** With an adapter: what a run's memory is checked against before it starts, in one plain sentence. */
    memoryCheck?: string;
  };
  /** Every backend in order of preference (node > webgpu > wasm > cpu): chosen, or why not. */
  backendsConsidered: { backend: BackendName; chosen: boolean; reason: string }[];
  /** providers: the execution providers this platform's package bundles (cpu, webgpu, dml, coreml). */
  onnxruntime: { present: boolean; version?: string; error?: string; providers?: string[] };
  sharp: { present: boolean; version?: string; libvips?: string; error?: string };
  electron: { binary: boolean; path?: string; reason: string };
  workspace: string;
  /** Where the engine runs: "utility-process" | "child-process" | "in-process". */
  engineMode: string;
}

/** One engine host's process and tensor figures. */
export interface HostStats {
  /** Resident set size of the host process. */
  rssBytes: number;
  heapUsedBytes: number;
  /** Live tfjs tensors and their bytes: flat between jobs, or something leaks. */
  tensors: number;
  tensorBytes: number;
  runningJobs: number;
  uptimeSec: number;
}

/** The primary engine host; `runningJobs` counts both hosts (the training host's jobs included). */
export interface EngineStats extends HostStats {
  /**
   * The training host (training runs in its own process, started on the first training request),
   * when it is up. Read while it is idle, or the last reading (`ageMs` old) while it trains, so
   * this request never waits for a training step.
   */
  trainer?: TrainerHostStats;
}

export interface TrainerHostStats extends HostStats {
  pid: number | null;
  /** How old this reading is (0 when read for this request). */
  ageMs: number;
}

/** Where paths in requests may point (the browser studio confines them; the desktop app does not). */
export interface AccessReport {
  confined: boolean;
  roots: { dir: string; access: 'read' | 'readwrite'; label: string }[];
}

export const appChannels = {
  'app.version': channel<{ version: string; name: string }>()(z.object({}).strict(), 'The app name and version.'),
  'app.doctor': channel<DoctorReport>()(
    z.object({}).strict(),
    'Runtime report: backend, native modules, Electron binary, threads, workspace.',
    ['UNAVAILABLE'],
  ),
  'app.stats': channel<EngineStats>()(z.object({}).strict(), 'Engine memory and load: RSS, heap, live tensors, running jobs; the training host under `trainer` when it runs.'),
  'app.access': channel<AccessReport>()(
    z.object({}).strict(),
    'The folders request paths may name: unconfined in the desktop app and the CLI; in `atelier serve`, the workspace, the shipped models and the folders granted with --allow (answered by serve).',
    [],
    { local: true },
  ),
  'app.reveal': channel<{ revealed: boolean }>()(
    z.object({ path: filePath }).strict(),
    'Show a file in the system file manager (desktop app only).',
    ['UNAVAILABLE'],
    { local: true },
  ),
} as const;
