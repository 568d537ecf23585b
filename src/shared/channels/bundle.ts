/**
 * Model bundles: what the user trained (<workspace>/bundles/) and the shipped demo models
 * (models/). A model reference in every channel is a bundle id, a bundle folder path, or an
 * exported .onnx file path.
 */
import { z } from 'zod';
import { channel } from '../define';
import { pathRegistry } from '../paths';
import type { ModelCapabilities } from '../capabilities';

const modelRefString = () =>
  z
    .string()
    .min(1)
    .max(4096)
    .refine((s) => !s.includes('\0'), 'a path may not contain a NUL character');

/** A bundle id, a bundle folder or an exported .onnx file. */
export const modelRef = modelRefString().register(pathRegistry, { access: 'read', model: true });

/** A model reference whose folder is also written into (export's default output goes beside the bundle). */
export const modelRefWritten = modelRefString().register(pathRegistry, { access: 'write', model: true });

export type BundleLocation = 'workspace' | 'shipped' | 'path';

export interface BundleSummary {
  id: string;
  name: string;
  /** The model registry's kind (a label: what the bundle can do is in `capabilities`). */
  kind: string;
  /** What it can do (from bundle.json; derived from the kind for older bundles and exports). */
  capabilities: ModelCapabilities;
  imageSize: number;
  channels: number;
  latentSize?: number;
  classNames?: string[];
  location: BundleLocation;
  dir: string;
  /** The exported ONNX file, when there is one. */
  onnx: string | null;
  /** tfjs networks present (export and the tfjs runtime need them). */
  hasTfjs: boolean;
  /** Parity of the last export. */
  parity?: { maxAbsDiff: number; pass: boolean };
  /** The dataset it was trained on (the Translate page offers its test images). */
  datasetId?: string;
}

export interface OnnxFileInfo {
  file: string;
  bytes: number;
  irVersion: number;
  opset: number;
  producer: string;
  inputs: { name: string; dtype: 'float32' | 'int64'; shape: (number | string)[] }[];
  outputs: { name: string; dtype: 'float32' | 'int64'; shape: (number | string)[] }[];
  metadata: Record<string, string>;
  nodes: number;
  opTypes: Record<string, number>;
  parity?: { maxAbsDiff: number; pass: boolean; threshold: number; note?: string };
}

export interface BundleDetail {
  summary: BundleSummary;
  onnx: OnnxFileInfo | null;
  /** The model card (README.md / model-card.md of the bundle), markdown. */
  card?: string;
  /** bundle.json as written by training (options, training summary, metrics). */
  manifest?: Record<string, unknown>;
  /** card.json (format atelier-model-card): data, options, metrics, how it was trained. */
  cardData?: Record<string, unknown>;
}

export const bundleChannels = {
  'bundle.list': channel<BundleSummary[]>()(z.object({}).strict(), 'Model bundles of the workspace and the shipped models/ folder.'),
  'bundle.get': channel<BundleDetail>()(
    z.object({ id: modelRef }).strict(),
    'One bundle: summary, its ONNX file read back (names, opset, shapes, metadata, parity), model card.',
    ['NOT_FOUND', 'BAD_INPUT'],
  ),
} as const;
