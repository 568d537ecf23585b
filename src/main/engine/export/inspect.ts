/** Read an exported ONNX file back for people: names, opset, shapes (dim_param), metadata, parity. */
import fsp from 'node:fs/promises';
import type { OnnxFileInfo } from '../../../shared/channels/bundle';
import { StudioError } from '../../../shared/errors';
import { exportPaths, ioOf, type OnnxSidecar } from './onnx-export';
import { decodeModel } from './onnx-proto';

export async function onnxFileInfo(file: string): Promise<OnnxFileInfo> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fsp.readFile(file));
  } catch {
    throw new StudioError('NOT_FOUND', `Cannot read ${file}.`);
  }
  let m: ReturnType<typeof decodeModel>;
  try {
    m = decodeModel(bytes);
  } catch (e) {
    throw new StudioError('BAD_INPUT', `${file} is not a readable ONNX file: ${(e as Error).message}.`);
  }
  const opTypes: Record<string, number> = {};
  for (const n of m.graph.nodes) opTypes[n.opType] = (opTypes[n.opType] ?? 0) + 1;
  let parity: OnnxFileInfo['parity'];
  try {
    const side = JSON.parse(await fsp.readFile(exportPaths(file).sidecar, 'utf8')) as OnnxSidecar;
    if (side.parity) parity = { maxAbsDiff: side.parity.maxAbsDiff, pass: side.parity.pass, threshold: side.parity.threshold, ...(side.parity.note ? { note: side.parity.note } : {}) };
  } catch {
    // no sidecar: a file exported elsewhere
  }
  return {
    file,
    bytes: bytes.length,
    irVersion: m.irVersion,
    opset: m.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0,
    producer: `${m.producerName} ${m.producerVersion}`.trim(),
    inputs: ioOf(m.graph.inputs),
    outputs: ioOf(m.graph.outputs),
    metadata: m.metadata,
    nodes: m.graph.nodes.length,
    opTypes,
    ...(parity ? { parity } : {}),
  };
}
